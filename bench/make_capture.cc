// Writes a large, realistic, deterministic capture for the end-to-end benchmarks: an office
// uplink (10.20.0.0/16 and 2001:db8:20::/48 are local) carrying thousands of TCP flows, IPv4
// and IPv6, a mix of full-size data packets and ACKs, plus DNS over UDP.
//
//   make_capture [--packets N] [--seed S] [--snaplen L] [--pcapng] [--nano] OUT
//
// Flows: long-lived bulk downloads and uploads (the whole capture, some throttled part-way),
// medium transfers (seconds to minutes) and short web-like ones (handshake, a few segments, FIN).
// Data segments are 1514 bytes on the wire, ACKs 66 (one per two segments), with timestamps
// and sequence numbers as a real TCP sender would produce them. The same seed gives the same
// bytes. Headers are captured up to --snaplen (default 128, what throttlewatch captures live);
// the rest of the payload is zeros.

#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <string>
#include <vector>

#include "capture/ip_proto.h"

namespace {

struct Rng {  // splitmix64: small, fast, deterministic on every platform
  uint64_t s;
  uint64_t Next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return double(Next() >> 11) * 0x1.0p-53; }
  uint32_t Below(uint32_t n) { return uint32_t(Next() % n); }
};

constexpr int64_t kNs = 1'000'000'000;
constexpr int64_t kT0 = 1'700'000'000LL * kNs;
constexpr uint32_t kMss = 1448;

struct Flow {
  bool v6 = false;
  bool up = false;  // data flows from the local side (an upload)
  uint8_t local[16], remote[16];
  uint16_t local_port = 0, remote_port = 0;
  int64_t start_ns = 0, end_ns = 0;  // data phase
  double rate_bps = 0;               // payload rate
  int64_t throttle_from = -1, throttle_to = -1;
  double throttle_rate_bps = 0;
  uint32_t seq = 1, ack = 1;
  uint32_t peer_seq = 1;
  uint64_t segments = 0;
  int state = 0;           // 0 SYN, 1 SYN-ACK, 2 ACK, 3 data, 4 FIN, 5 FIN back, 6 done
  int64_t remaining = -1;  // segments left for finite flows; -1 = until end_ns
};

enum Kind : uint8_t { kStep, kAck, kDnsQuery, kDnsAnswer };
struct Due {
  int64_t t;
  uint32_t flow;
  Kind kind;
  bool operator>(const Due& o) const { return t != o.t ? t > o.t : flow > o.flow; }
};

class Writer {
 public:
  Writer(std::FILE* f, uint32_t snaplen, bool pcapng, bool nano)
      : f_(f), snaplen_(snaplen), pcapng_(pcapng), nano_(nano) {
    buf_.reserve(1 << 22);
    if (pcapng_) {
      const uint8_t shb[28] = {0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0,    0,    0x4d, 0x3c,
                               0x2b, 0x1a, 1,    0,    0,  0, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0xff, 0xff, 0xff, 28, 0, 0,    0};
      Put(shb, sizeof(shb));
      // IDB, Ethernet, snaplen, if_tsresol = 9 (nanoseconds).
      uint8_t idb[32] = {1, 0, 0, 0, 32, 0, 0, 0, 1, 0, 0, 0};
      std::memcpy(idb + 12, &snaplen_, 4);
      const uint8_t opt[8] = {9, 0, 1, 0, 9, 0, 0, 0};
      std::memcpy(idb + 16, opt, 8);
      idb[28] = 32;
      Put(idb, sizeof(idb));
    } else {
      const uint32_t magic = nano_ ? 0xa1b23c4d : 0xa1b2c3d4;
      uint8_t h[24] = {};
      std::memcpy(h, &magic, 4);
      h[4] = 2, h[6] = 4;
      std::memcpy(h + 16, &snaplen_, 4);
      h[20] = 1;  // Ethernet
      Put(h, sizeof(h));
    }
  }
  ~Writer() { Flush(); }

  void Packet(int64_t t_ns, const uint8_t* hdr, uint32_t hdr_len, uint32_t wire_len) {
    const uint32_t cap = wire_len < snaplen_ ? wire_len : snaplen_;
    if (pcapng_) {
      const uint32_t padded = (cap + 3) & ~3u;
      const uint32_t total = 32 + padded;
      uint32_t w[7] = {6, total, 0, uint32_t(uint64_t(t_ns) >> 32), uint32_t(t_ns), cap, wire_len};
      Put(w, sizeof(w));
      Body(hdr, hdr_len, cap);
      static const uint8_t zeros[4] = {};
      Put(zeros, padded - cap);
      Put(&total, 4);
    } else {
      const int64_t frac = nano_ ? t_ns % kNs : (t_ns % kNs) / 1000;
      uint32_t w[4] = {uint32_t(t_ns / kNs), uint32_t(frac), cap, wire_len};
      Put(w, sizeof(w));
      Body(hdr, hdr_len, cap);
    }
    ++packets_;
  }
  uint64_t packets() const { return packets_; }
  bool Flush() {
    const bool ok = std::fwrite(buf_.data(), 1, buf_.size(), f_) == buf_.size();
    buf_.clear();
    return ok;
  }

 private:
  void Put(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    buf_.insert(buf_.end(), b, b + n);
    if (buf_.size() > (1 << 21)) Flush();
  }
  void Body(const uint8_t* hdr, uint32_t hdr_len, uint32_t cap) {
    const uint32_t h = hdr_len < cap ? hdr_len : cap;
    Put(hdr, h);
    buf_.resize(buf_.size() + (cap - h), 0);
  }
  std::FILE* f_;
  uint32_t snaplen_;
  bool pcapng_, nano_;
  std::vector<uint8_t> buf_;
  uint64_t packets_ = 0;
};

void Be16(uint8_t* p, uint32_t v) { p[0] = uint8_t(v >> 8), p[1] = uint8_t(v); }
void Be32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v >> 24), p[1] = uint8_t(v >> 16), p[2] = uint8_t(v >> 8), p[3] = uint8_t(v);
}

// Builds Ethernet + IP + L4 headers; returns the header length. `payload` is the L4 payload.
uint32_t Headers(const Flow& f, bool from_local, uint8_t proto, uint32_t payload, uint32_t seq,
                 uint32_t ack, uint8_t flags, uint32_t tsval, uint8_t* b) {
  std::memset(b, 0, 128);
  b[0] = 0x02, b[5] = from_local ? 1 : 2;
  b[6] = 0x02, b[11] = from_local ? 2 : 1;
  const uint32_t l4_len = proto == tw::capture::kIpProtoTcp ? 32 : 8;
  uint8_t* ip = b + 14;
  const uint8_t* src = from_local ? f.local : f.remote;
  const uint8_t* dst = from_local ? f.remote : f.local;
  uint32_t ip_hdr;
  if (f.v6) {
    Be16(b + 12, 0x86dd);
    ip[0] = 0x60;
    Be16(ip + 4, l4_len + payload);
    ip[6] = proto, ip[7] = 57;
    std::memcpy(ip + 8, src, 16);
    std::memcpy(ip + 24, dst, 16);
    ip_hdr = 40;
  } else {
    Be16(b + 12, 0x0800);
    ip[0] = 0x45;
    Be16(ip + 2, 20 + l4_len + payload);
    ip[6] = 0x40, ip[8] = 57, ip[9] = proto;
    std::memcpy(ip + 12, src + 12, 4);
    std::memcpy(ip + 16, dst + 12, 4);
    ip_hdr = 20;
  }
  uint8_t* l4 = ip + ip_hdr;
  const uint16_t sp = from_local ? f.local_port : f.remote_port;
  const uint16_t dp = from_local ? f.remote_port : f.local_port;
  Be16(l4, sp), Be16(l4 + 2, dp);
  if (proto == tw::capture::kIpProtoTcp) {
    Be32(l4 + 4, seq), Be32(l4 + 8, ack);
    l4[12] = 8 << 4, l4[13] = flags;
    Be16(l4 + 14, 2048);
    l4[20] = 1, l4[21] = 1, l4[22] = 8, l4[23] = 10;  // NOP NOP timestamps
    Be32(l4 + 24, tsval), Be32(l4 + 28, tsval - 20);
  } else {
    Be16(l4 + 4, 8 + payload);
  }
  return 14 + ip_hdr + l4_len;
}

void Address(Rng* rng, bool v6, bool local, uint8_t* out) {
  std::memset(out, 0, 16);
  if (v6) {
    const uint8_t pre_local[6] = {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x20};
    const uint8_t pre_remote[6] = {0x2a, 0x00, 0x14, 0x50, 0x40, 0x01};
    std::memcpy(out, local ? pre_local : pre_remote, 6);
    for (int i = 8; i < 16; ++i) out[i] = uint8_t(rng->Next());
  } else {
    out[10] = out[11] = 0xff;
    if (local) {
      out[12] = 10, out[13] = 20, out[14] = uint8_t(rng->Below(4)),
      out[15] = uint8_t(2 + rng->Below(250));
    } else {
      static const uint8_t nets[4][2] = {{142, 250}, {157, 240}, {151, 101}, {104, 16}};
      const auto* n = nets[rng->Below(4)];
      out[12] = n[0], out[13] = n[1], out[14] = uint8_t(rng->Next()),
      out[15] = uint8_t(rng->Next());
    }
  }
}

int Usage() {
  std::fprintf(
      stderr,
      "usage: make_capture [--packets N] [--seed S] [--snaplen L] [--pcapng] [--nano] OUT\n");
  return 2;
}

struct Options {
  uint64_t target = 5'000'000, seed = 1;
  uint32_t snaplen = 128;
  bool pcapng = false, nano = false;
  const char* out_path = nullptr;
};

// Reads the command line (see the top of the file) into *o. False when it does not parse or a
// value is out of range: the caller prints the usage.
bool ParseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--packets" && i + 1 < argc) {
      o->target = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--seed" && i + 1 < argc) {
      o->seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--snaplen" && i + 1 < argc) {
      o->snaplen = uint32_t(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--pcapng") {
      o->pcapng = true;
    } else if (a == "--nano") {
      o->nano = true;
    } else if (a[0] != '-' && o->out_path == nullptr) {
      o->out_path = argv[i];
    } else {
      return false;
    }
  }
  return o->out_path != nullptr && o->target >= 1000 && o->snaplen >= 64 && o->snaplen <= 262144;
}

// The generated traffic: the flows and, in time order, what is due next. Every random draw comes
// from `rng`, in a fixed order, so the same seed gives the same bytes.
struct Traffic {
  Rng rng;
  std::vector<Flow> flows;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
};

// A flow with random addresses and ports, sending at `rate` bit/s from `start` until `end` or
// until `segments` were sent (-1: no limit); its handshake is due at `start`.
void AddFlow(Traffic* tr, int64_t start, int64_t end, double rate, int64_t segments) {
  Rng& rng = tr->rng;
  Flow fl;
  fl.v6 = rng.Below(10) < 3;
  fl.up = rng.Below(8) == 0;
  Address(&rng, fl.v6, true, fl.local);
  Address(&rng, fl.v6, false, fl.remote);
  fl.local_port = uint16_t(32768 + rng.Below(28000));
  static const uint16_t ports[] = {443, 443, 443, 80, 8080, 993, 22};
  fl.remote_port = ports[rng.Below(7)];
  fl.start_ns = start;
  fl.end_ns = end;
  fl.rate_bps = rate;
  fl.remaining = segments;
  fl.seq = uint32_t(rng.Next());
  fl.peer_seq = uint32_t(rng.Next());
  tr->flows.push_back(fl);
  tr->due.push({start, uint32_t(tr->flows.size() - 1), kStep});
}

// Long-lived: 24 bulk transfers for the whole capture at 1-6 Mbit/s; every fourth is
// throttled to a fifth of its rate during the middle third.
void AddLongFlows(Traffic* tr, int64_t duration) {
  for (int i = 0; i < 24; ++i) {
    // Two draws in one call's arguments came in an unspecified order; now fixed, the rate
    // first, as the captures made so far had it.
    const double rate = 1e6 + tr->rng.Uniform() * 5e6;
    const int64_t start = kT0 + int64_t(tr->rng.Uniform() * kNs);
    AddFlow(tr, start, kT0 + duration, rate, -1);
    if (i % 4 == 0) {
      Flow& fl = tr->flows.back();
      fl.throttle_from = kT0 + duration / 3;
      fl.throttle_to = kT0 + 2 * duration / 3;
      fl.throttle_rate_bps = fl.rate_bps / 5;
    }
  }
}

// Medium and short flows arrive as a Poisson process until the end; their share of packets
// is about half: ~8 medium (avg 600 segments) and ~40 short (avg 8 segments) per second.
void AddArrivals(Traffic* tr, int64_t duration) {
  Rng& rng = tr->rng;
  for (int64_t t = kT0; t < kT0 + duration;) {
    t += int64_t(-std::log(1 - rng.Uniform()) / 48.0 * double(kNs));
    if (rng.Below(6) == 0) {
      const int64_t segs = 100 + rng.Below(1000);
      AddFlow(tr, t, kT0 + duration, 2e6 + rng.Uniform() * 8e6, segs);
    } else {
      // Fixed order, as in AddLongFlows: the segment count first.
      const int64_t segs = 1 + rng.Below(15);
      AddFlow(tr, t, kT0 + duration, 5e5 + rng.Uniform() * 4e6, segs);
    }
    // A DNS lookup before most new flows.
    if (rng.Below(3) != 0) {
      tr->due.push({t - 20'000'000, uint32_t(tr->flows.size() - 1), kDnsQuery});
    }
  }
}

// Writes a due DNS query or answer beside flow `fl` (to port 53 of a neighbour of its remote
// address); a query schedules its answer 8 ms later.
void WriteDns(Traffic* tr, const Due& d, Writer* w) {
  const Flow& fl = tr->flows[d.flow];
  uint8_t hdr[128];
  Flow dns = fl;
  dns.remote_port = 53;
  std::memcpy(dns.remote, fl.v6 ? fl.remote : fl.remote, 16);
  dns.remote[15] = 53;
  const uint32_t len = d.kind == kDnsQuery ? 40 : 120;
  const uint32_t h = Headers(dns, d.kind == kDnsQuery, 17, len, 0, 0, 0, 0, hdr);
  w->Packet(d.t, hdr, h, h + len);
  if (d.kind == kDnsQuery) tr->due.push({d.t + 8'000'000, d.flow, kDnsAnswer});
}

// Writes the packet of a due TCP step (handshake, data segment or FIN) or ACK of its flow,
// advances the flow's state and schedules its next step.
void WriteTcp(Traffic* tr, const Due& d, Writer* w) {
  Flow& fl = tr->flows[d.flow];
  uint8_t hdr[128];
  const int64_t t = d.t;
  const uint32_t tsval = uint32_t(t / 1'000'000);
  const bool data_local = fl.up;
  if (d.kind == kAck) {
    // The data receiver acknowledges two segments.
    const uint32_t h = Headers(fl, !data_local, 6, 0, fl.peer_seq, fl.seq, 0x10, tsval, hdr);
    w->Packet(t, hdr, h, h);
    return;
  }
  const int64_t rtt = 20'000'000;
  switch (fl.state) {
    case 0: {  // SYN from the local side
      const uint32_t h =
          Headers(fl, true, 6, 0, fl.up ? fl.seq - 1 : fl.peer_seq - 1, 0, 0x02, tsval, hdr);
      w->Packet(t, hdr, h, h);
      fl.state = 1;
      tr->due.push({t + rtt, d.flow, kStep});
      break;
    }
    case 1: {
      const uint32_t h = Headers(fl, false, 6, 0, fl.up ? fl.peer_seq - 1 : fl.seq - 1,
                                 fl.up ? fl.seq : fl.peer_seq, 0x12, tsval, hdr);
      w->Packet(t, hdr, h, h);
      fl.state = 2;
      tr->due.push({t + 100'000, d.flow, kStep});
      break;
    }
    case 2: {
      const uint32_t h = Headers(fl, true, 6, 0, fl.up ? fl.seq : fl.peer_seq,
                                 fl.up ? fl.peer_seq : fl.seq, 0x10, tsval, hdr);
      w->Packet(t, hdr, h, h);
      fl.state = 3;
      tr->due.push({t + 200'000, d.flow, kStep});
      break;
    }
    case 3: {  // one full-size data segment
      const uint32_t h = Headers(fl, data_local, 6, kMss, fl.seq, fl.peer_seq, 0x10, tsval, hdr);
      w->Packet(t, hdr, h, h + kMss);
      fl.seq += kMss;
      ++fl.segments;
      if (fl.segments % 2 == 0) tr->due.push({t + rtt / 2, d.flow, kAck});
      const bool throttled = t >= fl.throttle_from && t < fl.throttle_to;
      const double rate = throttled ? fl.throttle_rate_bps : fl.rate_bps;
      // Pacing with +-30% jitter, as a real sender's packets come in bursts.
      const double gap = double(kMss) * 8 / rate * (0.7 + 0.6 * tr->rng.Uniform());
      const int64_t next = t + int64_t(gap * double(kNs));
      if ((fl.remaining > 0 && --fl.remaining == 0) || next >= fl.end_ns) fl.state = 4;
      tr->due.push({next, d.flow, kStep});
      break;
    }
    case 4:
    case 5: {  // FIN from each side
      const bool from_local = fl.state == 4;
      const uint32_t h =
          Headers(fl, from_local, 6, 0, from_local == data_local ? fl.seq : fl.peer_seq,
                  from_local == data_local ? fl.peer_seq : fl.seq, 0x11, tsval, hdr);
      w->Packet(t, hdr, h, h);
      ++fl.state;
      if (fl.state == 5) tr->due.push({t + rtt, d.flow, kStep});
      break;
    }
    default:
      break;
  }
}

// Writes what is due, in time order, until nothing is or `target` packets are written.
void WritePackets(Traffic* tr, uint64_t target, Writer* w) {
  while (!tr->due.empty() && w->packets() < target) {
    const Due d = tr->due.top();
    tr->due.pop();
    if (d.kind == kDnsQuery || d.kind == kDnsAnswer) {
      WriteDns(tr, d, w);
    } else {
      WriteTcp(tr, d, w);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseArgs(argc, argv, &o)) return Usage();
  std::FILE* f = std::fopen(o.out_path, "wb");
  if (f == nullptr) {
    std::perror(o.out_path);
    return 1;
  }

  Traffic tr{Rng{o.seed}, {}, {}};
  // About 16 k packets/s (~100 Mbit/s): an office uplink on a busy day. The duration scales
  // with the packet count so the mix stays the same.
  const int64_t duration = int64_t(double(o.target) / 15'000.0 * double(kNs));
  AddLongFlows(&tr, duration);
  AddArrivals(&tr, duration);

  Writer w(f, o.snaplen, o.pcapng, o.nano);
  WritePackets(&tr, o.target, &w);
  const bool ok = w.Flush() && std::fclose(f) == 0;
  std::fprintf(stderr, "make_capture: %" PRIu64 " packets, %zu flows, %.0f s -> %s\n", w.packets(),
               tr.flows.size(), double(duration) / 1e9, o.out_path);
  return ok ? 0 : 1;
}
