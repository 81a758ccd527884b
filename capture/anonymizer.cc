#include "capture/anonymizer.h"

#include <algorithm>
#include <cstring>  // explicit_bzero

#include "util/secret_file.h"

namespace tw::capture {

namespace {

constexpr uint8_t kSbox[256] = {
    0x63, 0x7c, 0x77, 0x7b, 0xf2, 0x6b, 0x6f, 0xc5, 0x30, 0x01, 0x67, 0x2b, 0xfe, 0xd7, 0xab, 0x76,
    0xca, 0x82, 0xc9, 0x7d, 0xfa, 0x59, 0x47, 0xf0, 0xad, 0xd4, 0xa2, 0xaf, 0x9c, 0xa4, 0x72, 0xc0,
    0xb7, 0xfd, 0x93, 0x26, 0x36, 0x3f, 0xf7, 0xcc, 0x34, 0xa5, 0xe5, 0xf1, 0x71, 0xd8, 0x31, 0x15,
    0x04, 0xc7, 0x23, 0xc3, 0x18, 0x96, 0x05, 0x9a, 0x07, 0x12, 0x80, 0xe2, 0xeb, 0x27, 0xb2, 0x75,
    0x09, 0x83, 0x2c, 0x1a, 0x1b, 0x6e, 0x5a, 0xa0, 0x52, 0x3b, 0xd6, 0xb3, 0x29, 0xe3, 0x2f, 0x84,
    0x53, 0xd1, 0x00, 0xed, 0x20, 0xfc, 0xb1, 0x5b, 0x6a, 0xcb, 0xbe, 0x39, 0x4a, 0x4c, 0x58, 0xcf,
    0xd0, 0xef, 0xaa, 0xfb, 0x43, 0x4d, 0x33, 0x85, 0x45, 0xf9, 0x02, 0x7f, 0x50, 0x3c, 0x9f, 0xa8,
    0x51, 0xa3, 0x40, 0x8f, 0x92, 0x9d, 0x38, 0xf5, 0xbc, 0xb6, 0xda, 0x21, 0x10, 0xff, 0xf3, 0xd2,
    0xcd, 0x0c, 0x13, 0xec, 0x5f, 0x97, 0x44, 0x17, 0xc4, 0xa7, 0x7e, 0x3d, 0x64, 0x5d, 0x19, 0x73,
    0x60, 0x81, 0x4f, 0xdc, 0x22, 0x2a, 0x90, 0x88, 0x46, 0xee, 0xb8, 0x14, 0xde, 0x5e, 0x0b, 0xdb,
    0xe0, 0x32, 0x3a, 0x0a, 0x49, 0x06, 0x24, 0x5c, 0xc2, 0xd3, 0xac, 0x62, 0x91, 0x95, 0xe4, 0x79,
    0xe7, 0xc8, 0x37, 0x6d, 0x8d, 0xd5, 0x4e, 0xa9, 0x6c, 0x56, 0xf4, 0xea, 0x65, 0x7a, 0xae, 0x08,
    0xba, 0x78, 0x25, 0x2e, 0x1c, 0xa6, 0xb4, 0xc6, 0xe8, 0xdd, 0x74, 0x1f, 0x4b, 0xbd, 0x8b, 0x8a,
    0x70, 0x3e, 0xb5, 0x66, 0x48, 0x03, 0xf6, 0x0e, 0x61, 0x35, 0x57, 0xb9, 0x86, 0xc1, 0x1d, 0x9e,
    0xe1, 0xf8, 0x98, 0x11, 0x69, 0xd9, 0x8e, 0x94, 0x9b, 0x1e, 0x87, 0xe9, 0xce, 0x55, 0x28, 0xdf,
    0x8c, 0xa1, 0x89, 0x0d, 0xbf, 0xe6, 0x42, 0x68, 0x41, 0x99, 0x2d, 0x0f, 0xb0, 0x54, 0xbb, 0x16};

uint8_t XTime(uint8_t x) { return uint8_t((x << 1) ^ ((x & 0x80) ? 0x1b : 0)); }

// FIPS-197 key expansion for a 128-bit key: 11 round keys of 16 bytes.
void ExpandKey(const uint8_t key[16], uint8_t rk[176]) {
  std::memcpy(rk, key, 16);
  uint8_t rcon = 1;
  for (int i = 16; i < 176; i += 4) {
    uint8_t t[4] = {rk[i - 4], rk[i - 3], rk[i - 2], rk[i - 1]};
    if (i % 16 == 0) {
      const uint8_t first = t[0];
      t[0] = uint8_t(kSbox[t[1]] ^ rcon);
      t[1] = kSbox[t[2]];
      t[2] = kSbox[t[3]];
      t[3] = kSbox[first];
      rcon = XTime(rcon);
    }
    for (int j = 0; j < 4; ++j) rk[i + j] = uint8_t(rk[i - 16 + j] ^ t[j]);
  }
}

void Encrypt(const uint8_t rk[176], const uint8_t in[16], uint8_t out[16]) {
  uint8_t s[16];
  for (int i = 0; i < 16; ++i) s[i] = uint8_t(in[i] ^ rk[i]);
  for (int round = 1; round <= 10; ++round) {
    // SubBytes and ShiftRows (state is column-major: byte r + 4c is row r, column c).
    uint8_t t[16];
    for (int c = 0; c < 4; ++c) {
      for (int r = 0; r < 4; ++r) t[r + 4 * c] = kSbox[s[r + 4 * ((c + r) % 4)]];
    }
    if (round < 10) {
      for (int c = 0; c < 4; ++c) {
        const uint8_t a0 = t[4 * c], a1 = t[4 * c + 1], a2 = t[4 * c + 2], a3 = t[4 * c + 3];
        const uint8_t all = uint8_t(a0 ^ a1 ^ a2 ^ a3);
        s[4 * c] = uint8_t(a0 ^ all ^ XTime(uint8_t(a0 ^ a1)));
        s[4 * c + 1] = uint8_t(a1 ^ all ^ XTime(uint8_t(a1 ^ a2)));
        s[4 * c + 2] = uint8_t(a2 ^ all ^ XTime(uint8_t(a2 ^ a3)));
        s[4 * c + 3] = uint8_t(a3 ^ all ^ XTime(uint8_t(a3 ^ a0)));
      }
    } else {
      std::memcpy(s, t, 16);
    }
    for (int i = 0; i < 16; ++i) s[i] = uint8_t(s[i] ^ rk[16 * round + i]);
  }
  std::memcpy(out, s, 16);
}

}  // namespace

void Aes128EncryptForTest(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]) {
  uint8_t rk[176];
  ExpandKey(key, rk);
  Encrypt(rk, in, out);
}

Anonymizer::Anonymizer(std::span<const uint8_t, kKeySize> key) {
  ExpandKey(key.data(), round_keys_.data());
  // As the reference implementation: the pad is the second half of the key, encrypted.
  Encrypt(round_keys_.data(), key.data() + 16, pad_.data());
}

void Anonymizer::EncryptBlock(const uint8_t in[16], uint8_t out[16]) const {
  Encrypt(round_keys_.data(), in, out);
}

void Anonymizer::AnonymizeBits(const uint8_t* addr, int bits, uint8_t* out) const {
  // Bit `pos` of the one-time pad is the first bit of AES(the first pos bits of the address,
  // then the pad's bits from pos on). Prefixes that agree give the same pad bits.
  uint8_t otp[16] = {};
  uint8_t in[16], enc[16];
  for (int pos = 0; pos < bits; ++pos) {
    std::memcpy(in, pad_.data(), 16);
    const int whole = pos / 8, part = pos % 8;
    std::memcpy(in, addr, size_t(whole));
    if (part != 0) {
      const uint8_t mask = uint8_t(0xff << (8 - part));
      in[whole] = uint8_t((addr[whole] & mask) | (pad_[size_t(whole)] & ~mask));
    }
    EncryptBlock(in, enc);
    otp[whole] = uint8_t(otp[whole] | ((enc[0] >> 7) << (7 - part)));
  }
  for (int i = 0; i < bits / 8; ++i) out[i] = uint8_t(addr[i] ^ otp[i]);
}

Address Anonymizer::Anonymize(const Address& a) const {
  Address r = a;
  if (a.IsV4()) {
    AnonymizeBits(a.bytes.data() + 12, 32, r.bytes.data() + 12);
  } else {
    AnonymizeBits(a.bytes.data(), 128, r.bytes.data());
  }
  return r;
}

Cidr Anonymizer::Anonymize(const Cidr& c) const {
  Cidr r = c;
  r.network = Anonymize(c.network);
  // Clear the host bits: only the prefix is meaningful (and preserved).
  for (int i = 0; i < 16; ++i) {
    const int keep = std::clamp(c.prefix_len - 8 * i, 0, 8);
    r.network.bytes[size_t(i)] &= uint8_t(0xff << (8 - keep));
  }
  return r;
}

std::unique_ptr<Anonymizer> Anonymizer::FromKeyFile(const std::string& path, std::string* error) {
  // The shared check for every secret: a private regular file (util/secret_file.h).
  std::string key;
  if (!util::ReadSecretFile(path, "key file", 4096, &key, error)) return nullptr;
  std::unique_ptr<Anonymizer> anonymizer;
  if (key.size() == kKeySize) {
    anonymizer = std::make_unique<Anonymizer>(
        std::span<const uint8_t, kKeySize>(reinterpret_cast<const uint8_t*>(key.data()), kKeySize));
  } else if (error != nullptr) {
    *error = "key file " + path + ": " + std::to_string(key.size()) +
             " bytes, need exactly 32; create one with (umask 077; head -c 32 /dev/urandom > " +
             path + ")";
  }
  explicit_bzero(key.data(), key.size());
  return anonymizer;
}

}  // namespace tw::capture
