#include "detector/pipeline/replay.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "detector/outputs/event_json.h"
#include "detector/outputs/event_stream.h"
#include "detector/outputs/evidence_chain.h"
#include "detector/outputs/flow_verdict_json.h"
#include "test/support/capture_input.h"
#include "test/support/dns_message.h"
#include "test/support/schema_lines.h"
#include "test/support/synthetic_capture.h"
#include "test/support/temp_dir.h"
#include "test/support/tls_client_hello.h"

namespace tw::detector {
namespace {

namespace fs = std::filesystem;
constexpr double kT0 = 1'700'000'000;

class ReplayTest : public tw::testing::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // Three downloads of 1 Mbit/s for 60 s; port 2002 is squeezed to 200 kbit/s at 30 s by a
    // shaper whose queue adds 300 ms to its round trip.
    path_ = (dir_ / "three.pcap").string();
    testing::WriteThreeDownloads(path_, kT0);
  }

  ReplayOptions Options() {
    ReplayOptions o;
    o.files = {path_};
    o.local = "10.0.0.0/24";
    return o;
  }

  // Replays `path` on `threads` threads into *r (checked for schema) and returns its block
  // events.
  std::vector<Event> Blocks(const std::string& path, int threads, ReplayResult* r) {
    ReplayOptions o = Options();
    o.files = {path};
    o.threads = threads;
    EXPECT_EQ(RunReplay(o, r), ReplayStatus::kOk) << r->error;
    std::vector<Event> blocks;
    for (const Event& e : r->events) {
      testing::KeepLines(EventToJson(e));
      if (e.kind == EventKind::kBlock) blocks.push_back(e);
    }
    return blocks;
  }

  std::string path_;
};

TEST_F(ReplayTest, FindsTheSqueezedFlow) {
  ReplayResult r;
  ASSERT_EQ(RunReplay(Options(), &r), ReplayStatus::kOk) << r.error;
  ASSERT_EQ(r.events.size(), 1u);  // still throttled when the capture ends: no end event
  const Event& e = r.events[0];
  EXPECT_EQ(e.flow.local_port(), 2002);
  EXPECT_NEAR(e.ts, kT0 + 30, 1.0);
  EXPECT_TRUE(e.targeted);
  EXPECT_EQ(r.binner.flows_created, 3u);
  EXPECT_EQ(r.decode[0], r.packets);
}

// Everything a replay reports that must not depend on --threads.
std::vector<std::string> Results(const ReplayResult& r) {
  std::vector<std::string> out;
  for (const Event& e : r.events) out.push_back(EventToJson(e, {}));
  for (const FlowVerdict& v : r.verdicts) out.push_back(FlowVerdictToJson(v));
  for (const std::string& line : out) testing::KeepLines(line);
  for (const capture::Opening& o : r.openings) {
    out.push_back("opening " + std::to_string(o.flow.id) + " " +
                  std::string(capture::OpeningOutcomeName(o.outcome)) + " " +
                  std::to_string(o.attempts) + " " + std::to_string(o.decided_ns));
  }
  const capture::BinnerStats& b = r.binner;
  for (uint64_t n : {r.packets, b.packets, b.not_local, b.local_to_local, b.flows_created,
                     b.flows_evicted, b.time_backwards, b.gaps_skipped, r.engine.bins,
                     r.engine.flows_ended, r.engine.flows_with_data}) {
    out.push_back(std::to_string(n));
  }
  return out;
}

// Two names on one server (192.0.2.3); news.example's ClientHellos are answered by a RST with
// another TTL than the server's SYN-ACKs from 20 s to 40 s, weather.example keeps working: one
// block of news.example, with its name, from the first reset connection to the first good one,
// whatever the number of threads (the openings and names cross threads).
TEST_F(ReplayTest, AnInjectedResetIsABlockOfTheNameItHit) {
  const std::string path = (dir_ / "rst.pcap").string();
  {
    testing::SyntheticCapture cap(path);
    uint16_t port = 30000;
    const auto connect = [&](double t, const std::string& name, bool reset) {
      ++port;
      cap.TcpPayload(t, true, port, 443, 0, {}, 0x02, 64, 3);           // SYN
      cap.TcpPayload(t + 0.020, false, port, 443, 0, {}, 0x12, 52, 3);  // SYN-ACK
      cap.TcpPayload(t + 0.021, true, port, 443, 1, {}, 0x10, 64, 3);   // ACK
      cap.TcpPayload(t + 0.022, true, port, 443, 1, testing::ClientHello(name), 0x18, 64, 3);
      if (reset) {
        cap.TcpPayload(t + 0.023, false, port, 443, 1, {}, 0x14, 61, 3);  // RST, 3 hops nearer
      } else {
        cap.TcpPayload(t + 0.045, false, port, 443, 1, std::vector<uint8_t>(100, 0x16), 0x18, 52,
                       3);
      }
    };
    for (int i = 0; i < 60; ++i) {
      connect(kT0 + i, "news.example", i >= 20 && i < 40);
      connect(kT0 + i + 0.5, "weather.example", false);
    }
  }
  for (int threads : {1, 3}) {
    ReplayResult r;
    const std::vector<Event> blocks = Blocks(path, threads, &r);
    ASSERT_EQ(blocks.size(), 2u) << threads << " threads";
    EXPECT_EQ(blocks[0].state, EventState::kStart);
    EXPECT_EQ(blocks[0].server_name, "news.example");
    EXPECT_NEAR(blocks[0].ts, kT0 + 20, 1e-3);
    EXPECT_EQ(blocks[0].block.method, BlockMethod::kTcpRst);
    EXPECT_EQ(blocks[0].block.reset_ttl_delta, 9);
    EXPECT_TRUE(blocks[0].block.same_address_ok);
    EXPECT_EQ(blocks[1].state, EventState::kEnd);
    EXPECT_NEAR(blocks[1].ts, kT0 + 40.045, 1e-3);  // the good connection's first data
    EXPECT_EQ(blocks[1].block.failures, 20);
  }
}

// A resolver at 192.0.2.53 answers news.example and weather.example every 2 s; from 20 s to
// 40 s an injector nearer the office (TTL 61 against the resolver's 52) answers news.example
// first with another address: one dns_injection block of news.example, from the first raced
// query to the first lone answer, whatever the number of threads (queries, answers and their
// outcomes cross threads).
TEST_F(ReplayTest, RacingDnsAnswersAreAnInjectionOfTheNameTheyForge) {
  const std::string path = (dir_ / "dns.pcap").string();
  {
    testing::SyntheticCapture cap(path);
    uint16_t port = 30000, id = 100;
    const auto lookup = [&](double t, const std::string& name, bool forged) {
      ++port, ++id;
      cap.Udp(t, true, port, 53, testing::DnsMessage(id, false, 0, name, testing::kDnsA), 64, 53);
      if (forged) {
        cap.Udp(t + 0.002, false, port, 53,
                testing::DnsMessage(id, true, 0, name, testing::kDnsA, {"10.10.34.34"}), 61, 53);
      }
      cap.Udp(t + 0.030, false, port, 53,
              testing::DnsMessage(id, true, 0, name, testing::kDnsA, {"198.51.100.3"}), 52, 53);
    };
    for (int i = 0; i < 30; ++i) {
      const double t = kT0 + 2.0 * i;
      lookup(t, "news.example", t >= kT0 + 20 && t < kT0 + 40);
      lookup(t + 1, "weather.example", false);
    }
  }
  for (int threads : {1, 3}) {
    ReplayResult r;
    const std::vector<Event> blocks = Blocks(path, threads, &r);
    EXPECT_EQ(r.dns_outcomes[size_t(capture::DnsOutcomeKind::kRacing)], 10u);
    EXPECT_EQ(r.dns_outcomes[size_t(capture::DnsOutcomeKind::kAnswered)], 50u);
    ASSERT_EQ(blocks.size(), 2u) << threads << " threads";
    EXPECT_EQ(blocks[0].server_name, "news.example");
    EXPECT_NEAR(blocks[0].ts, kT0 + 20, 1e-3);
    EXPECT_EQ(blocks[0].block.method, BlockMethod::kDnsInjection);
    EXPECT_EQ(blocks[0].block.transport, BlockTransport::kDns);
    EXPECT_EQ(blocks[0].block.answer_ttl_delta, 9);
    EXPECT_EQ(blocks[0].block.forged_address, *capture::Address::Parse("10.10.34.34"));
    EXPECT_EQ(blocks[1].state, EventState::kEnd);
    EXPECT_NEAR(blocks[1].ts, kT0 + 40.030, 1e-3);  // the first lone answer
    EXPECT_EQ(blocks[1].block.failures, 10);
  }
}

// news.example and weather.example on one server (192.0.2.3:80, TTL 52) over plain HTTP; from
// 20 s to 40 s a box nearer the office (TTL 61) answers news.example's requests with a 302: one
// http_blockpage block of news.example (named by its Host), whatever the number of threads
// (the responses' status lines cross threads).
TEST_F(ReplayTest, AResponseFromAnotherSenderIsABlockPageOfTheHostItAnswered) {
  const std::string path = (dir_ / "page.pcap").string();
  {
    testing::SyntheticCapture cap(path);
    uint16_t port = 30000;
    const auto get = [&](double t, const std::string& host, bool censored) {
      ++port;
      const std::string req = "GET / HTTP/1.1\r\nHost: " + host + "\r\n\r\n";
      const std::string page = censored ? "HTTP/1.1 302 Found\r\nLocation: http://10.10.34.34/"
                                          "\r\nConnection: close\r\n\r\n"
                                        : "HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n";
      cap.TcpPayload(t, true, port, 80, 0, {}, 0x02, 64, 3);           // SYN
      cap.TcpPayload(t + 0.020, false, port, 80, 0, {}, 0x12, 52, 3);  // SYN-ACK
      cap.TcpPayload(t + 0.021, true, port, 80, 1, {}, 0x10, 64, 3);   // ACK
      cap.TcpPayload(t + 0.022, true, port, 80, 1, {req.begin(), req.end()}, 0x18, 64, 3);
      cap.TcpPayload(t + (censored ? 0.023 : 0.045), false, port, 80, 1, {page.begin(), page.end()},
                     censored ? 0x19 : 0x18, censored ? 61 : 52, 3);
    };
    for (int i = 0; i < 60; ++i) {
      get(kT0 + i, "news.example", i >= 20 && i < 40);
      get(kT0 + i + 0.5, "weather.example", false);
    }
  }
  for (int threads : {1, 3}) {
    ReplayResult r;
    const std::vector<Event> blocks = Blocks(path, threads, &r);
    ASSERT_EQ(blocks.size(), 2u) << threads << " threads";
    EXPECT_EQ(blocks[0].server_name, "news.example");
    EXPECT_NEAR(blocks[0].ts, kT0 + 20, 1e-3);
    EXPECT_EQ(blocks[0].block.method, BlockMethod::kHttpBlockpage);
    EXPECT_EQ(blocks[0].block.http_status, 302);
    EXPECT_EQ(blocks[0].block.page_ttl_delta, 9);
    EXPECT_EQ(blocks[1].state, EventState::kEnd);
    EXPECT_NEAR(blocks[1].ts, kT0 + 40.045, 1e-3);  // the site's own answer
  }
}

TEST_F(ReplayTest, AnyNumberOfThreadsGivesTheSameResults) {
  for (const std::string& file : {path_, std::string(TW_SOURCE_DIR "/data/demo.pcap")}) {
    ReplayOptions o = Options();
    o.files = {file};
    o.local.clear();
    ReplayResult one;
    ASSERT_EQ(RunReplay(o, &one), ReplayStatus::kOk) << one.error;
    EXPECT_FALSE(one.events.empty()) << file;
    EXPECT_FALSE(one.verdicts.empty()) << file;
    // The synthetic downloads are seen without their SYNs; the demo's connections open in it.
    if (file != path_) {
      EXPECT_FALSE(one.openings.empty()) << file;
    }
    for (int threads : {2, 3, 4}) {
      o.threads = threads;
      ReplayResult r;
      ASSERT_EQ(RunReplay(o, &r), ReplayStatus::kOk) << r.error;
      EXPECT_EQ(Results(r), Results(one)) << file << " with " << threads << " threads";
    }
  }
}

// Replays with the event stream attached as the replay command attaches it: a header with the
// inputs' digests, then each event as it is emitted, every line sealed. Returns the replay's
// status; *stream is what was written, *head the chain's head.
ReplayStatus ReplayWithStream(ReplayOptions o, ReplayResult* r, std::string* stream,
                              std::string* head) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* out = open_memstream(&buf, &size);
  InputHasher hasher(o.files);
  JsonLinesWriter writer(out, o.addresses);
  writer.SetHeader([&hasher](std::string_view previous_head) {
    return ReplayHeader(hasher.Get(), "test", previous_head);
  });
  o.observers.events = &writer;
  const ReplayStatus rc = RunReplay(o, r);
  if (r->started) writer.Finish();
  std::fclose(out);
  stream->assign(buf, size);
  free(buf);
  testing::KeepLines(*stream);
  *head = writer.head();
  return rc;
}

// The event stream (header, events, chain) depends on the inputs alone: anyone with the same
// captures recomputes the same head.
TEST_F(ReplayTest, TheEventStreamAndItsHeadAreReproducible) {
  std::vector<std::string> streams, heads;
  for (int threads : {1, 3}) {
    ReplayOptions o = Options();
    o.threads = threads;
    ReplayResult r;
    std::string stream, head;
    ASSERT_EQ(ReplayWithStream(o, &r, &stream, &head), ReplayStatus::kOk) << r.error;
    streams.push_back(stream);
    heads.push_back(head);
    ChainVerifier v;
    v.BeginFile();
    std::istringstream in(streams.back());
    for (std::string line; std::getline(in, line);) EXPECT_TRUE(v.Add(line)) << v.error();
    EXPECT_EQ(v.verified(), 1 + r.events.size());
    EXPECT_EQ(v.head(), head);
  }
  EXPECT_EQ(streams[0], streams[1]);
  EXPECT_EQ(heads[0], heads[1]);
}

TEST_F(ReplayTest, InfersTheLocalSideWhenNotGiven) {
  ReplayOptions o = Options();
  o.local.clear();
  ReplayResult r;
  ASSERT_EQ(RunReplay(o, &r), ReplayStatus::kOk) << r.error;
  EXPECT_TRUE(r.local_inferred);
  EXPECT_EQ(r.local, "10.0.0.0/24");  // the private side facing a public address
  EXPECT_EQ(r.events.size(), 1u);
}

TEST_F(ReplayTest, BpfFilterSelectsTraffic) {
  ReplayOptions o = Options();
  o.bpf_filter = "tcp port 2001";
  ReplayResult r;
  ASSERT_EQ(RunReplay(o, &r), ReplayStatus::kOk) << r.error;
  EXPECT_EQ(r.binner.flows_created, 1u);
  EXPECT_TRUE(r.events.empty());
}

TEST_F(ReplayTest, TruncatedFileKeepsEverythingFoundBeforeTheDamage) {
  fs::resize_file(path_, fs::file_size(path_) - 30);
  for (int threads : {1, 2}) {
    SCOPED_TRACE(threads);
    ReplayOptions o = Options();
    o.threads = threads;
    ReplayResult r;
    std::string text, stream_head;
    EXPECT_EQ(ReplayWithStream(o, &r, &text, &stream_head), ReplayStatus::kBrokenInput);
    EXPECT_NE(r.error.find("three.pcap"), std::string::npos);
    EXPECT_NE(r.error.find("byte "), std::string::npos);
    ASSERT_EQ(r.events.size(), 1u);
    // The header with the digest of the input as it was read, then the event; both sealed
    // (evidence_chain.h).
    const size_t nl = text.find('\n');
    ASSERT_NE(nl, std::string::npos) << text;
    const std::string header = text.substr(0, nl);
    const std::string sha = HashInput(path_).sha256;
    EXPECT_NE(header.find("{\"file\":\"three.pcap\",\"bytes\":" +
                          std::to_string(fs::file_size(path_)) + ",\"sha256\":\"" + sha + "\"}"),
              std::string::npos)
        << header;
    std::string head;
    EXPECT_EQ(text.substr(nl + 1),
              SealLine(ChainOf(header), EventToJson(r.events[0]), &head) + "\n");
    EXPECT_EQ(stream_head, head);
  }
}

// "-" reads standard input once, pipe or redirected file: the packets read to infer the local
// side are held and analysed, not read a second time. The same events and verdicts as from
// the file, in pcap and pcapng, for one thread and more.
TEST_F(ReplayTest, StandardInputGivesWhatTheFileGives) {
  const std::vector<uint8_t> pcap = testing::ReadBytes(path_);
  const std::vector<uint8_t> pcapng = testing::PcapToPcapng(pcap);
  ASSERT_FALSE(pcapng.empty());
  const std::string ng_path = (dir_ / "three.pcapng").string();
  testing::WriteBytes(ng_path, pcapng);
  ReplayOptions o = Options();
  o.local.clear();  // inferred from the first packets
  ReplayResult file;
  ASSERT_EQ(RunReplay(o, &file), ReplayStatus::kOk) << file.error;
  ASSERT_EQ(file.events.size(), 1u);
  ASSERT_FALSE(file.verdicts.empty());
  for (const std::string& path : {path_, ng_path}) {
    for (int threads : {1, 2}) {
      for (bool pipe : {true, false}) {
        SCOPED_TRACE(path + (pipe ? " piped" : " redirected") + ", threads " +
                     std::to_string(threads));
        testing::StdinPipe in =
            pipe ? testing::StdinPipe(testing::ReadBytes(path)) : testing::StdinPipe(path);
        ASSERT_TRUE(in.ok());
        o.files = {"-"};
        o.threads = threads;
        ReplayResult r;
        ASSERT_EQ(RunReplay(o, &r), ReplayStatus::kOk) << r.error;
        EXPECT_TRUE(r.local_inferred);
        EXPECT_EQ(r.local, file.local);
        EXPECT_EQ(Results(r), Results(file));
      }
    }
  }
}

TEST_F(ReplayTest, SilencesOfTenSecondsOrMoreAreCountedAndTheLongestKept) {
  // Packets at 0 and 5 s, then 12 s of nothing, 1 s, then 30 s of nothing.
  const std::string path = (dir_ / "silent.pcap").string();
  {
    testing::SyntheticCapture c(path);
    for (double t : {0.0, 5.0, 17.0, 18.0, 48.0}) c.Tcp(kT0 + t, true, 40000, 443, 1, 0, 0x10);
  }
  ReplayOptions o = Options();
  o.files = {path};
  ReplayResult r;
  ASSERT_EQ(RunReplay(o, &r), ReplayStatus::kOk) << r.error;
  EXPECT_EQ(r.silences, 2u);
  EXPECT_EQ(r.longest_silence_ns, 30'000'000'000);
  EXPECT_EQ(r.longest_silence_from_ns, int64_t(kT0 + 18) * 1'000'000'000);

  ReplayResult three;  // a minute of downloads: no silence
  ASSERT_EQ(RunReplay(Options(), &three), ReplayStatus::kOk) << three.error;
  EXPECT_EQ(three.silences, 0u);
}

TEST_F(ReplayTest, BadFilterIsAUsageErrorAndAMissingFileARuntimeError) {
  ReplayOptions o = Options();
  o.bpf_filter = "tcp port";
  ReplayResult r;
  EXPECT_EQ(RunReplay(o, &r), ReplayStatus::kBadOptions);
  EXPECT_EQ(r.error.rfind("bad filter 'tcp port'", 0), 0u) << r.error;
  EXPECT_EQ(r.packets, 0u);
  o = Options();
  o.files.push_back((dir_ / "missing.pcap").string());
  EXPECT_EQ(RunReplay(o, &r), ReplayStatus::kFailed);
  EXPECT_NE(r.error.find("missing.pcap: no such capture file"), std::string::npos) << r.error;
}

TEST_F(ReplayTest, BadLocalIsAUsageError) {
  ReplayOptions o = Options();
  o.local = "10.0.0.0/99";
  ReplayResult r;
  EXPECT_EQ(RunReplay(o, &r), ReplayStatus::kBadOptions);
  EXPECT_FALSE(r.error.empty());
}

}  // namespace
}  // namespace tw::detector
