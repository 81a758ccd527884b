#include "detector/daemon/metrics_server.h"

#include <gtest/gtest.h>

namespace tw::detector {
namespace {

// RFC 7617 2's example, and the three lengths base64 pads differently.
TEST(MetricsServerTest, BasicAuthorizationIsTheBase64OfUserColonPassword) {
  EXPECT_EQ(BasicAuthorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(BasicAuthorization("ab", "c"), "Basic YWI6Yw==");
  EXPECT_EQ(BasicAuthorization("ab", "cd"), "Basic YWI6Y2Q=");
  EXPECT_EQ(BasicAuthorization("ab", "cde"), "Basic YWI6Y2Rl");
  EXPECT_EQ(BasicAuthorization("", ""), "Basic Og==");
}

}  // namespace
}  // namespace tw::detector
