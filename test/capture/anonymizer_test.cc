#include "capture/anonymizer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "capture/address_formatter.h"
#include "test/support/mode_files.h"

namespace tw::capture {
namespace {

// The sample key of the Crypto-PAn reference distribution.
constexpr std::array<uint8_t, 32> kSampleKey = {21,  34, 23,  141, 51, 164, 207, 128, 19,  10,  91,
                                                22,  73, 144, 125, 16, 216, 152, 143, 131, 121, 121,
                                                101, 39, 98,  87,  76, 45,  42,  132, 34,  2};

Address A(const char* s) { return *Address::Parse(s); }

TEST(AnonymizerTest, AesMatchesFips197Vector) {
  // FIPS-197 appendix C.1.
  const uint8_t key[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const uint8_t in[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                          0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  const uint8_t want[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                            0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
  uint8_t out[16];
  Aes128EncryptForTest(key, in, out);
  EXPECT_EQ(0, std::memcmp(out, want, 16));
}

TEST(AnonymizerTest, MatchesTheReferenceSampleTrace) {
  // Pairs from sample_trace_raw / sample_trace_sanitized of the reference distribution.
  const std::pair<const char*, const char*> kPairs[] = {
      {"128.11.68.132", "135.242.180.132"},   {"129.118.74.4", "134.136.186.123"},
      {"130.132.252.244", "133.68.164.234"},  {"141.223.7.43", "141.167.8.160"},
      {"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
      {"156.29.3.236", "147.225.12.42"},      {"165.247.96.84", "162.9.99.234"},
      {"166.107.77.190", "160.132.178.185"},  {"192.102.249.13", "252.138.62.131"},
      {"192.215.32.125", "252.43.47.189"},    {"192.233.80.103", "252.25.108.8"},
      {"192.41.57.43", "252.222.221.184"},    {"193.150.244.223", "253.169.52.216"},
      {"195.205.63.100", "255.186.223.5"},    {"198.200.171.101", "249.199.68.213"},
      {"204.29.20.4", "243.33.20.123"},       {"205.188.147.153", "242.96.16.101"},
      {"207.155.9.214", "241.220.250.22"},    {"209.85.249.6", "226.170.70.6"},
      {"216.32.132.250", "235.192.139.38"},   {"24.0.250.221", "100.15.198.226"},
      {"38.15.67.68", "64.3.66.187"},         {"4.3.88.225", "124.60.155.63"},
      {"63.14.55.111", "95.9.215.7"},         {"64.14.118.196", "0.255.183.58"},
      {"10.185.25.118", "117.161.29.118"},
  };
  const Anonymizer anon(kSampleKey);
  for (const auto& [raw, sanitized] : kPairs) {
    EXPECT_EQ(anon.Anonymize(A(raw)).ToString(), sanitized) << raw;
  }
}

TEST(AnonymizerTest, Ipv6MatchesOtherImplementations) {
  // The 128-bit extension as other Crypto-PAn implementations compute it with the sample key.
  const Anonymizer anon(kSampleKey);
  EXPECT_EQ(anon.Anonymize(A("::1")).ToString(), "78ff:f001:9fc0:20df:8380:b1f1:704:ed");
  EXPECT_EQ(anon.Anonymize(A("::2")).ToString(), "78ff:f001:9fc0:20df:8380:b1f1:704:ef");
  EXPECT_EQ(anon.Anonymize(A("2001:db8::1")).ToString(), "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e");
  EXPECT_EQ(anon.Anonymize(A("2001:db8::2")).ToString(), "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c");
}

int CommonPrefix(const Address& a, const Address& b, int from_bit) {
  for (int i = from_bit; i < 128; ++i) {
    const int bit_a = (a.bytes[size_t(i / 8)] >> (7 - i % 8)) & 1;
    const int bit_b = (b.bytes[size_t(i / 8)] >> (7 - i % 8)) & 1;
    if (bit_a != bit_b) return i - from_bit;
  }
  return 128 - from_bit;
}

TEST(AnonymizerTest, PreservesExactlyTheCommonPrefixOfRandomPairs) {
  std::mt19937_64 rng(7);
  std::array<uint8_t, 32> key{};
  for (auto& b : key) b = uint8_t(rng());
  const Anonymizer anon(key);
  for (int trial = 0; trial < 400; ++trial) {
    const bool v4 = trial % 2 == 0;
    Address a, b;
    for (auto& x : a.bytes) x = uint8_t(rng());
    if (v4) a = Address::FromV4(a.bytes.data());
    // b shares a random-length prefix with a, then differs.
    const int bits = v4 ? 32 : 128;
    const int shared = int(rng() % uint64_t(bits));
    b = a;
    const int flip = (v4 ? 96 : 0) + shared;
    b.bytes[size_t(flip / 8)] ^= uint8_t(0x80 >> (flip % 8));
    for (int i = flip + 1; i < 128; ++i) {
      if (rng() & 1) b.bytes[size_t(i / 8)] ^= uint8_t(0x80 >> (i % 8));
    }
    const Address ma = anon.Anonymize(a), mb = anon.Anonymize(b);
    ASSERT_EQ(ma.IsV4(), v4);
    ASSERT_EQ(CommonPrefix(ma, mb, v4 ? 96 : 0), shared) << a.ToString() << " " << b.ToString();
    ASSERT_NE(ma, mb);
  }
}

TEST(AnonymizerTest, StableForAKeyAndDifferentAcrossKeys) {
  std::array<uint8_t, 32> other = kSampleKey;
  other[0] ^= 1;
  const Anonymizer a1(kSampleKey), a2(kSampleKey), b(other);
  for (const char* s : {"10.0.0.2", "192.0.2.1", "fd00::2", "2001:db8::7"}) {
    EXPECT_EQ(a1.Anonymize(A(s)), a2.Anonymize(A(s))) << s;
    EXPECT_NE(a1.Anonymize(A(s)), b.Anonymize(A(s))) << s;
    EXPECT_NE(a1.Anonymize(A(s)), A(s)) << s;
  }
}

TEST(AnonymizerTest, CidrKeepsItsLengthAndContainsItsAnonymizedHosts) {
  const Anonymizer anon(kSampleKey);
  const Cidr net = *Cidr::Parse("10.1.2.0/24");
  const Cidr m = anon.Anonymize(net);
  EXPECT_EQ(m.prefix_len, net.prefix_len);
  EXPECT_TRUE(m.Contains(anon.Anonymize(A("10.1.2.77"))));
  EXPECT_FALSE(m.Contains(anon.Anonymize(A("10.1.3.77"))));
  EXPECT_TRUE(anon.Anonymize(*Cidr::Parse("fd00:1::/64")).Contains(anon.Anonymize(A("fd00:1::9"))));
}

using KeyFileTest = tw::testing::ModeFilesTest;

TEST_F(KeyFileTest, LoadsAPrivate32ByteKey) {
  const std::string key(reinterpret_cast<const char*>(kSampleKey.data()), kSampleKey.size());
  std::string error;
  auto anon = Anonymizer::FromKeyFile(Write(key, 0600), &error);
  ASSERT_NE(anon, nullptr) << error;
  EXPECT_EQ(anon->Anonymize(A("128.11.68.132")).ToString(), "135.242.180.132");
  EXPECT_NE(Anonymizer::FromKeyFile(Write(key, 0400), &error), nullptr) << error;
}

TEST_F(KeyFileTest, RefusesAWorldOrGroupReadableKey) {
  std::string error;
  const std::string path = Write(std::string(32, 'k'), 0644);
  EXPECT_EQ(Anonymizer::FromKeyFile(path, &error), nullptr);
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_NE(error.find("0644"), std::string::npos) << error;
  EXPECT_NE(error.find("chmod 600"), std::string::npos) << error;
  EXPECT_EQ(Anonymizer::FromKeyFile(Write(std::string(32, 'k'), 0640), &error), nullptr);
}

TEST_F(KeyFileTest, RefusesAKeyOfTheWrongSize) {
  std::string error;
  for (size_t n : {0, 16, 31, 33, 64}) {
    EXPECT_EQ(Anonymizer::FromKeyFile(Write(std::string(n, 'k'), 0600), &error), nullptr) << n;
    EXPECT_NE(error.find("need exactly 32"), std::string::npos) << error;
  }
}

TEST_F(KeyFileTest, RefusesAMissingFileOrADirectory) {
  std::string error;
  EXPECT_EQ(Anonymizer::FromKeyFile("/nonexistent/key", &error), nullptr);
  EXPECT_NE(error.find("/nonexistent/key"), std::string::npos);
  EXPECT_EQ(Anonymizer::FromKeyFile(::testing::TempDir(), &error), nullptr);
}

TEST(AddressFormatterTest, PlainByDefaultAnonymizedWithAKey) {
  const AddressFormatter plain;
  EXPECT_FALSE(plain.anonymized());
  EXPECT_EQ(plain.Format(A("128.11.68.132")), "128.11.68.132");
  const AddressFormatter anon(std::make_shared<Anonymizer>(kSampleKey));
  EXPECT_TRUE(anon.anonymized());
  EXPECT_EQ(anon.Format(A("128.11.68.132")), "135.242.180.132");
  EXPECT_EQ(anon.Format(*Cidr::Parse("128.11.68.0/24")), "135.242.180.0/24");
}

}  // namespace
}  // namespace tw::capture
