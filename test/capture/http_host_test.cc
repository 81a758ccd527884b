#include "capture/http_host.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tw::capture {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

bool Host(const std::string& request, std::string* host) {
  const std::vector<uint8_t> b = Bytes(request);  // exact size: ASan sees overreads
  std::string_view h;
  if (!ParseHttpHost(b.data(), b.size(), &h)) return false;
  *host = std::string(h);
  return true;
}

TEST(HttpHostTest, FindsTheHostWithoutItsPortInAnyCase) {
  std::string h;
  ASSERT_TRUE(Host("GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: news.example\r\n\r\n", &h));
  EXPECT_EQ(h, "news.example");
  ASSERT_TRUE(Host("HEAD /a HTTP/1.0\r\nhOsT:  Weather.Example:8080 \r\n\r\n", &h));
  EXPECT_EQ(h, "Weather.Example");  // as sent: ServerNames makes it canonical
  ASSERT_TRUE(Host("POST /form HTTP/1.1\r\nHost:a.example\r\nContent-Length: 0\r\n\r\n", &h));
  EXPECT_EQ(h, "a.example");
}

TEST(HttpHostTest, OnlyAPlainRequestsHeadersNameTheHost) {
  std::string h;
  EXPECT_FALSE(Host("HTTP/1.1 200 OK\r\nHost: reply.example\r\n\r\n", &h));  // a response
  EXPECT_FALSE(Host("GET / HTTP/2\r\nHost: a.example\r\n\r\n", &h));         // not HTTP/1.x
  EXPECT_FALSE(Host("PUT / HTTP/1.1\r\nHost: a.example\r\n\r\n", &h));       // not followed
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\nX-Host: a.example\r\n\r\n", &h));
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\n\r\nHost: body.example\r\n", &h));  // after the headers
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", &h));
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\nHost: \r\n\r\n", &h));
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\nHost: :80\r\n\r\n", &h));
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\nHost: a\rb.example\r\n\r\n", &h));  // found by fuzzing
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\nHost: a b.example\r\n\r\n", &h));
  EXPECT_FALSE(Host("GET / HTTP/1.1\r\nHost: caf\xc3\xa9.example\r\n\r\n", &h));
}

TEST(HttpHostTest, EveryTruncationIsSafeAndACutHostLineIsNotTaken) {
  const std::string req = "GET /index.html HTTP/1.1\r\nAccept: */*\r\nHost: news.example\r\n\r\n";
  const size_t line_end = req.find("news.example") + std::string("news.example\r\n").size();
  for (size_t n = 0; n <= req.size(); ++n) {
    std::string h;
    const bool ok = Host(req.substr(0, n), &h);
    EXPECT_EQ(ok, n >= line_end) << "length " << n;
    if (ok) EXPECT_EQ(h, "news.example");
  }
}

TEST(HttpHostTest, MayBeHttpRequestLooksAtTheMethodOnly) {
  const auto may = [](const std::string& s) {
    const std::vector<uint8_t> b = Bytes(s);
    return MayBeHttpRequest(b.data(), b.size());
  };
  EXPECT_TRUE(may("GET /"));
  EXPECT_TRUE(may("HEAD /"));
  EXPECT_TRUE(may("POST /"));
  EXPECT_FALSE(may("HTTP/1.1 200"));
  EXPECT_FALSE(may("GET"));
  EXPECT_FALSE(MayBeHttpRequest(nullptr, 0));
}

}  // namespace
}  // namespace tw::capture
