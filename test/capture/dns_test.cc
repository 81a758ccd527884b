#include "capture/dns.h"

#include <gtest/gtest.h>

#include <vector>

namespace tw::capture {
namespace {

// Response to "Video.Example.com A": a CNAME to cdn.example.net, then an A record for it, with
// compression pointers back into the question.
std::vector<uint8_t> Response() {
  std::vector<uint8_t> m = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0};
  const uint8_t q[] = {5,   'V', 'i', 'd', 'e', 'o', 7, 'E', 'x', 'a', 'm', 'p',
                       'l', 'e', 3,   'c', 'o', 'm', 0, 0,   1,   0,   1};
  m.insert(m.end(), q, q + sizeof(q));
  // CNAME: owner = pointer to 12, rdata = "cdn" + pointer to "example" (offset 18)... a new name
  const uint8_t cname[] = {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, 'c', 'd', 'n', 0xc0, 18};
  m.insert(m.end(), cname, cname + sizeof(cname));
  const uint8_t a[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 51, 100, 7};
  m.insert(m.end(), a, a + sizeof(a));
  return m;
}

TEST(DnsTest, ReportsAddressAnswersUnderTheQuestionName) {
  const auto m = Response();
  std::vector<DnsAnswer> got;
  EXPECT_TRUE(ParseDnsResponse(m.data(), m.size(), [&](const DnsAnswer& a) { got.push_back(a); }));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "video.example.com");
  EXPECT_EQ(got[0].address.ToString(), "198.51.100.7");
}

TEST(DnsTest, TruncatedAndLoopingMessagesAreSafe) {
  const auto m = Response();
  for (size_t n = 0; n < m.size(); ++n) {
    std::vector<uint8_t> cut(m.begin(), m.begin() + long(n));
    int answers = 0;
    ParseDnsResponse(cut.data(), cut.size(), [&](const DnsAnswer&) { ++answers; });
    EXPECT_EQ(answers, 0) << n;  // the A record is the last thing in the message
  }
  // A name that points at itself.
  std::vector<uint8_t> loop = {0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  EXPECT_FALSE(ParseDnsResponse(loop.data(), loop.size(), [](const DnsAnswer&) {}));
  size_t pos = 12;
  std::string name;
  EXPECT_FALSE(ReadDnsName(loop.data(), loop.size(), &pos, &name));
}

TEST(DnsTest, QueriesAndErrorsAreNotAnswers) {
  auto m = Response();
  m[2] = 0x01;  // a query
  EXPECT_FALSE(ParseDnsResponse(m.data(), m.size(), [](const DnsAnswer&) {}));
  m = Response();
  m[3] = 0x83;  // NXDOMAIN
  EXPECT_FALSE(ParseDnsResponse(m.data(), m.size(), [](const DnsAnswer&) {}));
}

}  // namespace
}  // namespace tw::capture
