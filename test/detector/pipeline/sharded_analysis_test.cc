#include "detector/pipeline/sharded_analysis.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "capture/ip_proto.h"
#include "capture/server_names.h"
#include "detector/outputs/flow_verdict_json.h"
#include "test/support/schema_lines.h"
#include "test/support/tls_client_hello.h"

namespace tw::detector {
namespace {

using capture::Address;
using capture::DecodedPacket;

constexpr int64_t kSec = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kSec;

// One packet of the synthetic input, with the bytes of those that teach a name.
struct Input {
  int64_t ts_ns = 0;
  uint32_t wire_len = 0;
  DecodedPacket d;
  std::vector<uint8_t> payload;  // DNS answers and ClientHellos only (offset 0)
};

std::vector<uint8_t> DnsAnswer(const std::string& label, const uint8_t v4[4]) {
  std::vector<uint8_t> m = {0, 1, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
  m.push_back(uint8_t(label.size()));
  m.insert(m.end(), label.begin(), label.end());
  const std::string tld = "example";
  m.push_back(uint8_t(tld.size()));
  m.insert(m.end(), tld.begin(), tld.end());
  m.insert(m.end(), {0, 0, 1, 0, 1, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4});
  m.insert(m.end(), v4, v4 + 4);
  return m;
}

// A mixed input over two stretches of time with a capture gap between them (longer than
// max_empty_bins): TCP downloads with handshakes, ACKs, timestamps, retransmissions and
// FIN/RST; UDP and ICMP; IPv4 and IPv6; DNS answers and ClientHellos; packets between two
// remote or two local hosts; packets out of time order.
std::vector<Input> MakeInput(uint32_t seed) {
  std::mt19937 rng(seed);  // 32-bit results
  std::vector<Input> out;
  const auto uni = [&](double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  };
  const auto add = [&](double t, uint32_t wire, const DecodedPacket& d) {
    Input in;
    in.ts_ns = kT0 + int64_t(t * 1e9);
    in.wire_len = wire;
    in.d = d;
    out.push_back(in);
    return &out.back();
  };
  for (int phase = 0; phase < 2; ++phase) {
    const double base = phase == 0 ? 0 : 4000;  // the gap: 4000 s > 3600 bins
    for (int f = 0; f < 150; ++f) {
      const bool v6 = f % 5 == 0;
      Address local, remote;
      uint8_t v4[4] = {192, 0, 2, uint8_t(1 + f % 40)};  // hosts shared by several flows
      if (v6) {
        local = *Address::Parse("fd00::" + std::to_string(2 + f % 7));
        remote = *Address::Parse("2001:db8::" + std::to_string(1 + f % 30));
      } else {
        local = *Address::Parse("10.0.0." + std::to_string(2 + f % 7));
        remote = Address::FromV4(v4);
      }
      const int kind = f % 10;  // 0-6 TCP, 7-8 UDP, 9 ICMP
      double t = base + uni(0, 40);
      DecodedPacket p;
      p.ip_version = v6 ? 6 : 4;
      const uint16_t lport = uint16_t(40000 + f), rport = kind < 7 ? 443 : 4500;
      const auto dir = [&](bool up, DecodedPacket q) {
        q.src = up ? local : remote;
        q.dst = up ? remote : local;
        q.src_port = up ? lport : rport;
        q.dst_port = up ? rport : lport;
        return q;
      };
      if (kind == 9) {
        p.ip_proto = v6 ? 58 : 1;
        for (int i = 0; i < 20; ++i, t += uni(0.05, 1.5)) {
          DecodedPacket q = dir(true, p);
          q.src_port = 8;  // echo request; the answers come as ICMP errors now and then
          add(t, 98, q);
          DecodedPacket r = dir(false, p);
          r.src_port = i % 4 == 0 ? 3 : 0;
          r.dst_port = 0;
          add(t + 0.02, 98, r);
        }
        continue;
      }
      if (kind >= 7) {
        p.ip_proto = capture::kIpProtoUdp;
        const int n = 5 + int(rng() % 200);
        for (int i = 0; i < n; ++i, t += uni(0.001, 0.3)) {
          DecodedPacket q = dir(i % 3 != 0, p);
          q.payload_len = 200 + uint32_t(rng() % 1000);
          add(t, q.payload_len + 42, q);
        }
        // A DNS answer naming this flow's remote host, from a resolver.
        DecodedPacket dq = dir(false, p);
        dq.src = v6 ? *Address::Parse("2001:db8::53") : *Address::Parse("198.51.100.53");
        dq.src_port = 53;
        const std::vector<uint8_t> msg = DnsAnswer("svc" + std::to_string(f), v4);
        dq.payload_len = uint32_t(msg.size());
        add(t, 42 + dq.payload_len, dq)->payload = msg;
        continue;
      }
      p.ip_proto = capture::kIpProtoTcp;
      uint32_t cseq = uint32_t(rng()), sseq = uint32_t(rng());
      const double rtt = uni(0.01, 0.2);
      DecodedPacket syn = dir(true, p);
      syn.tcp_flags = capture::kTcpSyn;
      syn.tcp_seq = cseq++;
      syn.tcp_wscale = 7;
      syn.tcp_window = 64240;
      if (f % 13 != 0) add(t, 74, syn);  // some handshakes were missed
      DecodedPacket synack = dir(false, p);
      synack.tcp_flags = capture::kTcpSyn | capture::kTcpAck;
      synack.tcp_seq = sseq++;
      synack.tcp_ack = cseq;
      synack.tcp_wscale = 8;
      synack.tcp_window = 65535;
      add(t + rtt, 74, synack);
      t += rtt * 1.01;
      DecodedPacket hello = dir(true, p);
      hello.tcp_flags = capture::kTcpAck | capture::kTcpPsh;
      hello.tcp_seq = cseq;
      hello.tcp_ack = sseq;
      hello.tcp_window = 500;
      const std::vector<uint8_t> ch =
          tw::testing::ClientHello("site" + std::to_string(f % 17) + ".example");
      hello.payload_len = uint32_t(ch.size());
      cseq += hello.payload_len;
      add(t, 66 + hello.payload_len, hello)->payload = ch;
      const int segments = 20 + int(rng() % 1500);
      const double gap = uni(0.0002, 0.02);
      uint32_t tsv = 1000;
      for (int i = 0; i < segments; ++i) {
        t += gap * uni(0.5, 1.5);
        DecodedPacket data = dir(false, p);
        data.tcp_flags = capture::kTcpAck;
        data.tcp_seq = rng() % 100 == 0 ? sseq - 1448 : sseq;  // a retransmission now and then
        if (data.tcp_seq == sseq) sseq += 1448;
        data.tcp_ack = cseq;
        data.tcp_window = 500;
        data.payload_len = 1448;
        data.tcp_has_ts = true;
        data.tcp_ts_val = tsv + uint32_t(i);
        data.tcp_ts_ecr = tsv;
        add(t, 1514, data);
        if (i % 2 == 1) {
          DecodedPacket ack = dir(true, p);
          ack.tcp_flags = capture::kTcpAck;
          ack.tcp_seq = cseq;
          ack.tcp_ack = sseq;
          ack.tcp_window = uint16_t(i % 97 == 0 ? 0 : 500);
          ack.tcp_has_ts = true;
          ack.tcp_ts_val = tsv;
          ack.tcp_ts_ecr = data.tcp_ts_val;
          add(t + 0.0005, 66, ack);
        }
      }
      if (f % 3 != 0) {  // the rest go idle, or end at the end of the input
        DecodedPacket fin = dir(f % 2 == 0, p);
        fin.tcp_flags =
            uint8_t(f % 6 == 1 ? capture::kTcpRst : capture::kTcpFin | capture::kTcpAck);
        add(t + 0.01, 66, fin);
      }
    }
    // Traffic that is not the link's: remote to remote, local to local.
    for (int i = 0; i < 50; ++i) {
      DecodedPacket q;
      q.ip_version = 4;
      q.ip_proto = capture::kIpProtoUdp;
      const bool remote_pair = i % 2 == 0;
      q.src = *Address::Parse(remote_pair ? "203.0.113.1" : "10.0.0.50");
      q.dst = *Address::Parse(remote_pair ? "203.0.113.2" : "10.0.0.51");
      q.src_port = q.dst_port = 9;
      q.payload_len = 100;
      add(base + uni(0, 40), 142, q);
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Input& a, const Input& b) { return a.ts_ns < b.ts_ns; });
  // Some packets arrive late: out of time order by more than a bin.
  for (size_t i = 1000; i + 400 < out.size(); i += 997) std::swap(out[i], out[i + 400]);
  return out;
}

std::string Fmt(const char* fmt, double v) {
  char b[64];
  std::snprintf(b, sizeof(b), fmt, v);
  return b;
}

std::string Dir(const capture::DirectionBin& b) {
  return std::to_string(b.wire_bytes) + "/" + std::to_string(b.payload_bytes) + "/" +
         std::to_string(b.retrans_bytes) + "/" + std::to_string(b.packets) + "/" +
         std::to_string(b.data_packets) + "/" + std::to_string(b.zero_window) + "/" +
         std::to_string(b.in_flight_max) + "/" + std::to_string(b.rwnd_min);
}

std::string Info(const capture::FlowInfo& i) {
  return std::to_string(i.id) + " " + i.key.a.ToString() + ":" + std::to_string(i.key.port_a) +
         "-" + i.key.b.ToString() + ":" + std::to_string(i.key.port_b) + "/" +
         std::to_string(i.key.proto) + " " + std::to_string(i.local_is_a) +
         std::to_string(i.local_initiated) + " " + std::to_string(i.first_ns);
}

// Writes down everything a sink is handed, flows within a bin in order of id (the order the
// detectors do not depend on), with the name `names` gives each flow at that moment.
class Transcript final : public capture::BinSink {
 public:
  Transcript(const capture::ServerNames* names, FlowVerdictTracker* verdicts)
      : names_(names), verdicts_(verdicts) {}
  void OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
             const capture::LinkBin& link) override {
    std::string s = "bin " + std::to_string(start_ns) + " " + std::to_string(width_ns) + " link " +
                    Dir(link.dir[0]) + " " + Dir(link.dir[1]) + " " +
                    std::to_string(link.icmp_errors[0]) + "," +
                    std::to_string(link.icmp_errors[1]) + " " + std::to_string(link.first_ns[0]) +
                    "," + std::to_string(link.first_ns[1]) + " " + std::to_string(link.last_ns[0]) +
                    "," + std::to_string(link.last_ns[1]) + " " + std::to_string(link.active_flows);
    lines.push_back(s);
    std::vector<const capture::FlowBin*> sorted;
    for (const capture::FlowBin& fb : flows) sorted.push_back(&fb);
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->info.id < b->info.id; });
    for (const capture::FlowBin* fb : sorted) {
      lines.push_back("  " + Info(fb->info) + " " + Dir(fb->dir[0]) + " " + Dir(fb->dir[1]) + " " +
                      std::to_string(fb->last_ns) + Fmt(" %.9g", fb->handshake_rtt_s) + " rtt " +
                      std::to_string(fb->rtt.samples) + Fmt(" %.9g", fb->rtt.sum_s) +
                      Fmt(" %.9g", fb->rtt.min_s) + Fmt(" %.9g", fb->rtt.max_s) + " " +
                      std::to_string(fb->closed) + " name " +
                      std::string(names_->NameOf(fb->info.id, fb->info.remote())));
    }
  }
  void OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& t) override {
    lines.push_back("end " + Info(info) + " " + Dir(t.dir[0]) + " " + Dir(t.dir[1]) + " " +
                    std::to_string(t.last_ns) + Fmt(" %.9g", t.handshake_rtt_s) + " " +
                    std::to_string(t.closed) + " " + std::to_string(int(t.end)));
    if (verdicts_ != nullptr) verdicts_->OnFlowEnd(info);
  }
  std::vector<std::string> lines;

 private:
  const capture::ServerNames* names_;
  FlowVerdictTracker* verdicts_;
};

capture::BinnerParams Params() {
  capture::BinnerParams p;
  p.idle_timeout_ns = 10 * kSec;  // some flows go idle within the input
  p.max_flows = 4096;             // none is evicted, in any shard
  return p;
}

capture::LocalNetworks Local() {
  return capture::LocalNetworks(
      {*capture::Cidr::Parse("10.0.0.0/24"), *capture::Cidr::Parse("fd00::/64")});
}

struct Outcome {
  std::vector<std::string> transcript;
  std::vector<std::string> verdicts;
  capture::BinnerStats stats;
  uint64_t handovers = 0;  // sharded: messages from the shards to the merger
};

// The reference: one Binner, verdict tracker and ServerNames fed every packet in turn, as the
// single-threaded replay does.
Outcome OneThread(const std::vector<Input>& in) {
  capture::ServerNames names;
  FlowVerdictTracker verdicts;
  Transcript t(&names, &verdicts);
  capture::Binner binner(Params(), Local(), &t);
  for (size_t i = 0; i < in.size(); ++i) {
    const capture::BinnedPacket bp = binner.OnPacket(in[i].ts_ns, in[i].wire_len, in[i].d, i + 1);
    if (!in[i].payload.empty()) {
      DecodedPacket d = in[i].d;
      d.payload_offset = 0;
      names.Observe(in[i].payload.data(), uint32_t(in[i].payload.size()), d, bp);
    }
    verdicts.OnPacket(in[i].ts_ns, in[i].wire_len, in[i].d, bp);
  }
  binner.Finish();
  Outcome o{std::move(t.lines), {}, binner.stats()};
  for (const FlowVerdict& v : verdicts.Finish()) o.verdicts.push_back(FlowVerdictToJson(v));
  for (const std::string& line : o.verdicts) testing::KeepLines(line);
  return o;
}

Outcome Sharded(const std::vector<Input>& in, int shards) {
  capture::ServerNames names;
  Transcript t(&names, nullptr);
  ShardedAnalysisParams p;
  p.shards = shards;
  p.binner = Params();
  p.binner.max_flows *= size_t(shards);  // each shard's table as big as the reference's
  ShardedAnalysis a(p, Local(), &t, &names);
  for (size_t i = 0; i < in.size(); ++i) {
    DecodedPacket d = in[i].d;
    if (!in[i].payload.empty()) d.payload_offset = 0;
    a.OnPacket(in[i].ts_ns, in[i].wire_len, d, in[i].payload.data(), uint32_t(in[i].payload.size()),
               i + 1);
  }
  a.Finish();
  Outcome o{std::move(t.lines), {}, a.stats(), a.handovers()};
  for (const FlowVerdict& v : a.TakeVerdicts()) o.verdicts.push_back(FlowVerdictToJson(v));
  for (const std::string& line : o.verdicts) testing::KeepLines(line);
  return o;
}

void ExpectSame(const Outcome& want, const Outcome& got) {
  ASSERT_EQ(got.transcript.size(), want.transcript.size());
  for (size_t i = 0; i < want.transcript.size(); ++i) {
    ASSERT_EQ(got.transcript[i], want.transcript[i]) << "line " << i;
  }
  EXPECT_EQ(got.verdicts, want.verdicts);
  EXPECT_EQ(got.stats.packets, want.stats.packets);
  EXPECT_EQ(got.stats.not_local, want.stats.not_local);
  EXPECT_EQ(got.stats.local_to_local, want.stats.local_to_local);
  EXPECT_EQ(got.stats.flows_created, want.stats.flows_created);
  EXPECT_EQ(got.stats.flows_evicted, 0u);
  EXPECT_EQ(got.stats.time_backwards, want.stats.time_backwards);
  EXPECT_EQ(got.stats.gaps_skipped, want.stats.gaps_skipped);
}

TEST(ShardedAnalysisTest, AnyNumberOfShardsHandsOverWhatOneBinnerDoes) {
  const std::vector<Input> in = MakeInput(7);
  const Outcome want = OneThread(in);
  // The input exercises what the merge must get right.
  int ends = 0, named = 0;
  for (const std::string& l : want.transcript) {
    ends += l.rfind("end ", 0) == 0;
    named += l.find(" name s") != std::string::npos;  // "site..." and "svc..." names
  }
  EXPECT_GT(ends, 250);
  EXPECT_GT(named, 100);
  EXPECT_GT(want.verdicts.size(), 50u);
  EXPECT_GT(want.stats.time_backwards, 0u);
  EXPECT_EQ(want.stats.gaps_skipped, 1u);
  EXPECT_GT(want.stats.not_local, 0u);
  EXPECT_GT(want.stats.local_to_local, 0u);
  for (int shards : {1, 2, 3, 5}) {
    SCOPED_TRACE(shards);
    ExpectSame(want, Sharded(in, shards));
  }
}

// A sparse input: a packet every 10 s to 3 min, for half a day, with capture gaps longer than
// max_empty_bins now and then. Nearly every bin is empty; the shards hand them over many
// at a time (one per bin and shard took 2.4 s for 629 packets over 15 days), and the sink
// still sees each of them, as from one Binner.
TEST(ShardedAnalysisTest, SparseInputCostsHandoversPerPacketNotPerBin) {
  const std::vector<Input> dense = MakeInput(11);
  std::mt19937 rng(5);
  std::vector<Input> in;
  double t = 0;
  for (size_t i = 0; i < dense.size() && in.size() < 200; i += 97) {
    t += in.size() % 40 == 39 ? 5000 : std::uniform_real_distribution<double>(10, 200)(rng);
    in.push_back(dense[i]);
    in.back().ts_ns = kT0 + int64_t(t * 1e9);
  }
  const Outcome want = OneThread(in);
  const auto bins = std::count_if(want.transcript.begin(), want.transcript.end(),
                                  [](const std::string& l) { return l.rfind("bin ", 0) == 0; });
  EXPECT_EQ(in.size(), 200u);
  EXPECT_GT(bins, 75 * int64_t(in.size()));
  EXPECT_GE(want.stats.gaps_skipped, 4u);
  for (int shards : {2, 3, 5}) {
    SCOPED_TRACE(shards);
    const Outcome got = Sharded(in, shards);
    ExpectSame(want, got);
    EXPECT_LT(got.handovers, uint64_t(bins) / 10) << bins << " bins";
  }
}

TEST(ShardedAnalysisTest, EmptyInputAndEarlyDestruction) {
  capture::ServerNames names;
  Transcript t(&names, nullptr);
  {
    ShardedAnalysis a(ShardedAnalysisParams{}, Local(), &t, &names);
    a.Finish();
    EXPECT_TRUE(a.TakeVerdicts().empty());
    EXPECT_EQ(a.stats().packets, 0u);
  }
  EXPECT_TRUE(t.lines.empty());
  // Destroyed without Finish() (an error path): the threads stop, the sink saw the bins.
  const std::vector<Input> in = MakeInput(3);
  {
    ShardedAnalysis a(ShardedAnalysisParams{}, Local(), &t, &names);
    for (size_t i = 0; i < 5000; ++i) {
      a.OnPacket(in[i].ts_ns, in[i].wire_len, in[i].d, nullptr, 0, i + 1);
    }
  }
  EXPECT_FALSE(t.lines.empty());
}

}  // namespace
}  // namespace tw::detector
