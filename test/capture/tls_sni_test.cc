#include "capture/tls_sni.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test/support/tls_client_hello.h"

namespace tw::capture {
namespace {

using tw::testing::ClientHello;

TEST(TlsSniTest, FindsTheServerName) {
  const auto ch = ClientHello("live-video.example");
  std::string_view name;
  ASSERT_TRUE(ParseTlsSni(ch.data(), ch.size(), &name));
  EXPECT_EQ(name, "live-video.example");
}

TEST(TlsSniTest, EveryTruncationIsSafeAndTheFullNameNeedsItsBytes) {
  const auto ch = ClientHello("stream.example.org");
  for (size_t n = 0; n < ch.size(); ++n) {
    std::vector<uint8_t> cut(ch.begin(), ch.begin() + long(n));  // exact size: ASan sees overreads
    std::string_view name;
    const bool ok = ParseTlsSni(cut.data(), cut.size(), &name);
    EXPECT_FALSE(ok) << "length " << n;  // the name is the last thing in the record
  }
}

TEST(TlsSniTest, RejectsOtherRecordsAndHandsOverNamesAsSent) {
  std::string_view name;
  auto ch = ClientHello("a.example");
  ch[0] = 23;  // application data
  EXPECT_FALSE(ParseTlsSni(ch.data(), ch.size(), &name));
  ch = ClientHello("a.example");
  ch[5] = 2;  // ServerHello
  EXPECT_FALSE(ParseTlsSni(ch.data(), ch.size(), &name));
  // The parser reports the bytes as sent; ServerNames decides whether they are a host name.
  ch = ClientHello("bad\"name");
  ASSERT_TRUE(ParseTlsSni(ch.data(), ch.size(), &name));
  EXPECT_EQ(name, "bad\"name");
  const uint8_t http[] = "GET / HTTP/1.1\r\n";
  EXPECT_FALSE(ParseTlsSni(http, sizeof(http), &name));
}

}  // namespace
}  // namespace tw::capture
