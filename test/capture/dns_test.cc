#include "capture/dns.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
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

TEST(DnsTest, MessagesOfAnyKindReportTheirHeaderAndQuestion) {
  auto m = Response();
  m[3] = 0x83;  // NXDOMAIN, though it still holds the A record
  DnsHeader h;
  std::vector<std::string> got;
  EXPECT_TRUE(
      ParseDnsMessage(m.data(), m.size(), &h, [&](const Address& a, std::string_view owner) {
        got.push_back(a.ToString() + " " + std::string(owner));
      }));
  EXPECT_EQ(h.id, 0x1234);
  EXPECT_TRUE(h.response());
  EXPECT_EQ(h.opcode(), 0);
  EXPECT_EQ(h.rcode(), 3);
  EXPECT_EQ(h.questions, 1);
  EXPECT_EQ(h.answers, 2);
  EXPECT_TRUE(h.question_read);
  EXPECT_EQ(h.qname, "video.example.com");
  EXPECT_EQ(h.qtype, 1);
  EXPECT_EQ(h.qclass, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "198.51.100.7 video.example.com");  // the record's owner, not the CNAME

  // The query: no answers read, whatever max_answers.
  m = Response();
  m[2] = 0x01;
  m[3] = 0x00;
  m[7] = 0;
  m.resize(12 + 23);
  EXPECT_TRUE(ParseDnsMessage(m.data(), m.size(), &h, [](const Address&, std::string_view) {}));
  EXPECT_FALSE(h.response());
  EXPECT_TRUE(h.question_read);
  EXPECT_EQ(h.qname, "video.example.com");
  // max_answers 0: the header and question only.
  m = Response();
  int answers = 0;
  EXPECT_TRUE(ParseDnsMessage(
      m.data(), m.size(), &h, [&](const Address&, std::string_view) { ++answers; }, 0));
  EXPECT_EQ(answers, 0);
}

TEST(DnsTest, AMessageCutShortKeepsWhatWasRead) {
  const auto m = Response();
  for (size_t n = 0; n < m.size(); ++n) {
    std::vector<uint8_t> cut(m.begin(), m.begin() + long(n));
    DnsHeader h;
    int answers = 0;
    EXPECT_FALSE(ParseDnsMessage(cut.data(), cut.size(), &h, [&](const Address&, std::string_view) {
      ++answers;
    })) << n;
    EXPECT_EQ(answers, 0) << n;
    EXPECT_EQ(h.id, n >= 12 ? 0x1234 : 0) << n;
    EXPECT_EQ(h.question_read, n >= 12 + 23) << n;  // the question is 23 bytes
  }
}

}  // namespace
}  // namespace tw::capture
