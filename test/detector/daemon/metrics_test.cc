#include "detector/daemon/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "capture/anonymizer.h"
#include "test/support/block_event.h"
#include "test/support/mode_files.h"
#include "test/support/temp_dir.h"

namespace tw::detector {
namespace {

// One HTTP/1.0 GET of /metrics on 127.0.0.1:port; returns the whole response.
std::string Get(int port, const std::string& extra_headers = "") {
  const int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(uint16_t(port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    close(s);
    return "";
  }
  const std::string req = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n" + extra_headers + "\r\n";
  if (write(s, req.data(), req.size()) != ssize_t(req.size())) {
    close(s);
    return "";
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(s, buf, sizeof(buf))) > 0) out.append(buf, size_t(n));
  close(s);
  return out;
}

Event Throttle(uint64_t id, EventState state) {
  Event e;
  e.id = id;
  e.kind = EventKind::kThrottle;
  e.state = state;
  e.scope = EventScope::kFlow;
  e.direction = capture::kDown;
  return e;
}

// A block of the service `name` on 203.0.113.5:443, as the block detector writes it.
Event Block(uint64_t id, EventState state, BlockMethod method, const std::string& name) {
  Event e = testing::BlockEvent(id, state, 0, name);
  e.block.method = method;
  return e;
}

CaptureSnapshot Snapshot() {
  CaptureSnapshot s;
  s.bytes[capture::kDown] = 123456;
  s.bytes[capture::kUp] = 7890;
  s.packets[capture::kDown] = 100;
  s.have_capture_counters = true;
  s.capture_received = 200;
  s.capture_dropped = 3;
  s.port_labels = {{"https", {10, 20}}, {"other", {1, 2}}};
  s.handshake_rtt.Observe(0.02);
  s.handshake_rtt.Observe(0.3);
  s.last_bin_end_s = 1.7e9;
  return s;
}

TEST(MetricsTest, NamesInBaseUnitsAndStateFromEvents) {
  Metrics m({"192.0.2.1:443"}, "eth0");
  m.Publish(Snapshot());
  m.OnEventWritten(Throttle(1, EventState::kStart), "tcp/5202");
  m.OnProbe(0, true, 0.015);
  m.OnProbe(0, false, 2);
  std::string text = m.Render();
  auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("throttlewatch_receive_bytes_total 123456")) << text;
  EXPECT_TRUE(has("throttlewatch_transmit_bytes_total 7890"));
  EXPECT_TRUE(has("throttlewatch_capture_drops_total 3"));
  EXPECT_TRUE(has("throttlewatch_service_receive_bytes_total{service=\"https\"} 20"));
  EXPECT_TRUE(
      has("throttlewatch_throttled{direction=\"down\",scope=\"flow\",service=\"tcp/5202\"} 1"));
  EXPECT_TRUE(has("throttlewatch_throttled{direction=\"down\",scope=\"link\",service=\"all\"} 0"));
  EXPECT_TRUE(has("throttlewatch_events_total{kind=\"throttle\",state=\"start\"} 1"));
  EXPECT_TRUE(has("throttlewatch_handshake_rtt_seconds_bucket{le=\"0.025\"} 1"));
  EXPECT_TRUE(has("throttlewatch_handshake_rtt_seconds_count 2"));
  EXPECT_TRUE(has("throttlewatch_probe_failures_total{target=\"192.0.2.1:443\"} 1"));
  EXPECT_TRUE(has("throttlewatch_probe_success{target=\"192.0.2.1:443\"} 0"));
  EXPECT_NE(text.find("throttlewatch_build_info{interface=\"eth0\",version="), std::string::npos);
  // Never a per-flow label.
  EXPECT_EQ(text.find("local_port"), std::string::npos);
  EXPECT_EQ(text.find("remote="), std::string::npos);

  m.OnEventWritten(Throttle(1, EventState::kEnd), "tcp/5202");
  Event outage;
  outage.id = 2;
  outage.kind = EventKind::kOutage;
  m.OnEventWritten(outage, "all");
  text = m.Render();
  EXPECT_TRUE(
      has("throttlewatch_throttled{direction=\"down\",scope=\"flow\",service=\"tcp/5202\"} 0"));
  EXPECT_TRUE(has("throttlewatch_outage 1"));
  EXPECT_TRUE(has("throttlewatch_outages_total 1"));
}

// Blocked services by method: every method's series from the first scrape, a start counts, its
// end (by id) takes it back, and nothing names the site or its address. Blocks are no throttles.
TEST(MetricsTest, BlockedServicesByMethodOnly) {
  Metrics m({}, "eth0");
  std::string text = m.Render();
  auto has = [&](const std::string& line) { return text.find(line + "\n") != std::string::npos; };
  for (const char* method : {"tcp_rst", "sni_blackhole", "ip_blackhole", "quic_blackhole"}) {
    EXPECT_TRUE(has(std::string("throttlewatch_blocked{method=\"") + method + "\"} 0")) << text;
  }
  EXPECT_NE(text.find("# TYPE throttlewatch_blocked gauge"), std::string::npos);
  EXPECT_TRUE(has("throttlewatch_events_total{kind=\"block\",state=\"start\"} 0"));
  EXPECT_TRUE(has("throttlewatch_events_total{kind=\"block\",state=\"end\"} 0"));
  // The lines of the throttle gauges.
  auto throttled = [&text] {
    std::string lines;
    for (size_t at = text.find("\nthrottlewatch_throttled"); at != std::string::npos;
         at = text.find("\nthrottlewatch_throttled", at + 1)) {
      lines += text.substr(at, text.find('\n', at + 1) - at);
    }
    return lines;
  };
  const std::string throttled_before = throttled();
  ASSERT_FALSE(throttled_before.empty()) << text;

  m.OnEventWritten(Block(1, EventState::kStart, BlockMethod::kTcpRst, "news.example"), "all");
  m.OnEventWritten(Block(2, EventState::kStart, BlockMethod::kTcpRst, "other.example"), "all");
  m.OnEventWritten(Block(3, EventState::kStart, BlockMethod::kSniBlackhole, ""), "all");
  text = m.Render();
  EXPECT_TRUE(has("throttlewatch_blocked{method=\"tcp_rst\"} 2")) << text;
  EXPECT_TRUE(has("throttlewatch_blocked{method=\"sni_blackhole\"} 1"));
  EXPECT_TRUE(has("throttlewatch_blocked{method=\"ip_blackhole\"} 0"));
  EXPECT_TRUE(has("throttlewatch_events_total{kind=\"block\",state=\"start\"} 3"));
  EXPECT_EQ(text.find("news.example"), std::string::npos);
  EXPECT_EQ(text.find("203.0.113"), std::string::npos);
  EXPECT_EQ(text.find(":443"), std::string::npos);
  // The throttle gauges are as they were: no series for the blocked service, nothing open.
  EXPECT_EQ(throttled(), throttled_before);
  EXPECT_EQ(text.find("scope=\"service\""), std::string::npos);

  // An end is matched by id (its counts are the whole block's); an end of a block this run did
  // not start (a restart's) and a second end change nothing.
  Event end = Block(1, EventState::kEnd, BlockMethod::kTcpRst, "news.example");
  end.block.failures = 7;
  m.OnEventWritten(end, "all");
  m.OnEventWritten(end, "all");
  m.OnEventWritten(Block(99, EventState::kEnd, BlockMethod::kSniBlackhole, ""), "all");
  text = m.Render();
  EXPECT_TRUE(has("throttlewatch_blocked{method=\"tcp_rst\"} 1")) << text;
  EXPECT_TRUE(has("throttlewatch_blocked{method=\"sni_blackhole\"} 1"));
  EXPECT_TRUE(has("throttlewatch_events_total{kind=\"block\",state=\"end\"} 3"));
  m.OnEventWritten(Block(2, EventState::kEnd, BlockMethod::kTcpRst, "other.example"), "all");
  m.OnEventWritten(Block(3, EventState::kEnd, BlockMethod::kSniBlackhole, ""), "all");
  text = m.Render();
  EXPECT_TRUE(has("throttlewatch_blocked{method=\"tcp_rst\"} 0")) << text;
  EXPECT_TRUE(has("throttlewatch_blocked{method=\"sni_blackhole\"} 0"));
  EXPECT_TRUE(has("throttlewatch_outage 0"));
}

class MetricsServeTest : public tw::testing::TempDirTest {};

TEST_F(MetricsServeTest, ServesOnLoopbackAndPassesPromtool) {
  Metrics m({"127.0.0.1:1"}, "lo");
  std::string error;
  ASSERT_TRUE(m.Serve("127.0.0.1:0", "", "", &error)) << error;
  ASSERT_GT(m.port(), 0);
  m.Publish(Snapshot());
  m.OnEventWritten(Throttle(1, EventState::kStart), "https");
  m.OnEventWritten(Block(2, EventState::kStart, BlockMethod::kQuicBlackhole, "news.example"),
                   "all");
  const std::string resp = Get(m.port());
  ASSERT_NE(resp.find("200 OK"), std::string::npos) << resp;
  const size_t body_at = resp.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  const std::string body = resp.substr(body_at + 4);
  EXPECT_NE(body.find("throttlewatch_receive_bytes_total 123456"), std::string::npos);
  EXPECT_NE(body.find("throttlewatch_blocked{method=\"quic_blackhole\"} 1"), std::string::npos);

  if (std::system("command -v promtool >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (deploy/install-deps.sh --test installs prometheus)";
  }
  const std::string path = Path("scrape.txt");
  std::ofstream(path) << body;
  const std::string cmd = "promtool check metrics < " + path + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), p) != nullptr) out += buf;
  const int rc = pclose(p);
  EXPECT_EQ(rc, 0) << out;
  // promtool's lint findings are printed even when it exits 0 for some of them: none of ours.
  EXPECT_EQ(out.find("throttlewatch_"), std::string::npos) << out;
}

// Like every exporter's: the process_* metrics, and on the endpoint nothing that is not a number
// (prometheus-cpp's Exposer added a latency summary of its own whose quantiles were NaN until a
// scrape had been timed, and again after a minute without one).
TEST(MetricsTest, EndpointHasTheProcessMetricsAndNoNaN) {
  Metrics m({}, "lo");
  std::string error;
  ASSERT_TRUE(m.Serve("127.0.0.1:0", "", "", &error)) << error;
  for (int scrape = 0; scrape < 2; ++scrape) {
    const std::string resp = Get(m.port());
    ASSERT_NE(resp.find("200 OK"), std::string::npos) << resp;
    const std::string body = resp.substr(resp.find("\r\n\r\n") + 4);
    for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                             "process_virtual_memory_bytes ", "process_open_fds ",
                             "process_max_fds ", "process_start_time_seconds "}) {
      const size_t at = body.find(std::string("\n") + name);
      ASSERT_NE(at, std::string::npos) << name << " missing in\n" << body;
      // CPU time may still be 0 (in clock ticks); a process has memory, files and a start.
      const double v = std::stod(body.substr(at + 1 + std::strlen(name)));
      EXPECT_TRUE(std::strcmp(name, "process_cpu_seconds_total ") == 0 ? v >= 0 : v > 0) << name;
    }
    EXPECT_EQ(body.find("NaN"), std::string::npos) << body;
    EXPECT_EQ(body.find("exposer_"), std::string::npos) << body;
  }
}

TEST(MetricsTest, BasicAuth) {
  Metrics m({}, "lo");
  std::string error;
  ASSERT_TRUE(m.Serve("127.0.0.1:0", "prom", "s3cret", &error)) << error;
  EXPECT_NE(Get(m.port()).find("401"), std::string::npos);
  // "prom:s3cret" in base64.
  const std::string ok = Get(m.port(), "Authorization: Basic cHJvbTpzM2NyZXQ=\r\n");
  EXPECT_NE(ok.find("200 OK"), std::string::npos) << ok;
  EXPECT_NE(ok.find("throttlewatch_build_info"), std::string::npos);
}

TEST(MetricsTest, BusyPortIsAnError) {
  Metrics a({}, "lo"), b({}, "lo");
  std::string error;
  ASSERT_TRUE(a.Serve("127.0.0.1:0", "", "", &error)) << error;
  EXPECT_FALSE(b.Serve("127.0.0.1:" + std::to_string(a.port()), "", "", &error));
  EXPECT_NE(error.find("cannot serve metrics"), std::string::npos) << error;
}

// A file with `content` and `mode` in the test's temporary directory; removed at the end.
using AuthFileTest = tw::testing::ModeFilesTest;

TEST_F(AuthFileTest, ReadsUserAndPasswordFromAPrivateFile) {
  std::string user, password, error;
  ASSERT_TRUE(ReadMetricsAuthFile(Write("prom:s3:cret\nignored\n", 0600), &user, &password, &error))
      << error;
  EXPECT_EQ(user, "prom");
  EXPECT_EQ(password, "s3:cret");  // everything after the first colon, up to the line's end
  ASSERT_TRUE(ReadMetricsAuthFile(Write("u:p", 0400), &user, &password, &error)) << error;
  EXPECT_EQ(user, "u");
  EXPECT_EQ(password, "p");
}

TEST_F(AuthFileTest, RefusesAFileGroupOrOthersCanReadOrWriteLikeTheAnonymizeKey) {
  for (const mode_t mode : {0640, 0604, 0620, 0602, 0644, 0660, 0666}) {
    const std::string path = Write("prom:s3cret\n", mode);
    std::string user, password, error;
    EXPECT_FALSE(ReadMetricsAuthFile(path, &user, &password, &error)) << std::oct << mode;
    EXPECT_TRUE(user.empty() && password.empty());
    char octal[16];
    std::snprintf(octal, sizeof(octal), "%04o", unsigned(mode));
    EXPECT_NE(error.find("metrics auth file " + path + ": "), std::string::npos) << error;
    EXPECT_NE(error.find(octal), std::string::npos) << error;
    EXPECT_NE(error.find("chmod 600 " + path), std::string::npos) << error;
    // The very check of the --anonymize key: the same words, only the file's name differs.
    std::string key_error;
    EXPECT_EQ(capture::Anonymizer::FromKeyFile(path, &key_error), nullptr);
    EXPECT_EQ(error.substr(std::string("metrics auth file").size()),
              key_error.substr(std::string("key file").size()));
  }
}

TEST_F(AuthFileTest, RefusesAMissingOrMalformedFile) {
  std::string user, password, error;
  EXPECT_FALSE(ReadMetricsAuthFile("/nonexistent/metrics.auth", &user, &password, &error));
  EXPECT_NE(error.find("/nonexistent/metrics.auth"), std::string::npos) << error;
  for (const char* bad : {"", "\n", "no-colon\n", ":password\n", "user\n:password\n"}) {
    const std::string path = Write(bad, 0600);
    EXPECT_FALSE(ReadMetricsAuthFile(path, &user, &password, &error)) << bad;
    EXPECT_NE(error.find("USER:PASSWORD"), std::string::npos) << error;
  }
  EXPECT_FALSE(ReadMetricsAuthFile(Write(std::string(5000, 'x'), 0600), &user, &password, &error));
  EXPECT_NE(error.find("more than"), std::string::npos) << error;
}

}  // namespace
}  // namespace tw::detector
