#ifndef THROTTLEWATCH_TEST_SUPPORT_SYNTHETIC_CAPTURE_H_
#define THROTTLEWATCH_TEST_SUPPORT_SYNTHETIC_CAPTURE_H_

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace tw::testing {

// Writes Ethernet/IPv4/TCP (and UDP) packets to a pcap file with libpcap's own writer, so replay
// tests can build captures with known contents. Headers only (caplen 66; lengths as on the wire),
// or with their payload (TcpPayload). Packets may be added in any order: Close() (or the
// destructor) writes them sorted by time, or in the order they were added when `sorted` is false (a
// capture whose clock stepped back).
class SyntheticCapture {
 public:
  explicit SyntheticCapture(const std::string& path, bool sorted = true) : sorted_(sorted) {
    dead_ = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    dumper_ = pcap_dump_open(dead_, path.c_str());
  }
  ~SyntheticCapture() { Close(); }
  void Close() {
    if (sorted_) {
      std::stable_sort(packets_.begin(), packets_.end(),
                       [](const Record& a, const Record& b) { return a.t < b.t; });
    }
    for (const Record& r : packets_) {
      pcap_pkthdr h{};
      h.ts.tv_sec = time_t(r.t);
      h.ts.tv_usec = suseconds_t((r.t - double(h.ts.tv_sec)) * 1e9);  // nanoseconds
      h.caplen = uint32_t(r.bytes.size());
      h.len = r.wire_len;
      if (dumper_ != nullptr) pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, r.bytes.data());
    }
    packets_.clear();
    if (dumper_ != nullptr) pcap_dump_close(dumper_);
    if (dead_ != nullptr) pcap_close(dead_);
    dumper_ = nullptr;
    dead_ = nullptr;
  }
  bool ok() const { return dumper_ != nullptr; }

  // A TCP segment between 10.0.0.2:local_port (the office) and 192.0.2.`server`:remote_port.
  // Carries a TCP timestamp option (TSval, TSecr), as Linux sends by default.
  void Tcp(double t, bool up, uint16_t local_port, uint16_t remote_port, uint32_t seq,
           uint32_t payload, uint8_t flags, uint32_t ts_val = 0, uint32_t ts_ecr = 0,
           uint8_t server = 1) {
    Record& r = packets_.emplace_back();
    r.t = t;
    r.wire_len = 14u + 20u + 32u + payload;
    uint8_t* b = r.bytes.data();
    b[12] = 0x08;  // IPv4
    uint8_t* ip = b + 14;
    ip[0] = 0x45;
    const uint16_t total = uint16_t(20 + 32 + payload);
    ip[2] = uint8_t(total >> 8), ip[3] = uint8_t(total);
    ip[8] = 64, ip[9] = 6;
    const uint8_t local[4] = {10, 0, 0, 2}, remote[4] = {192, 0, 2, server};
    std::memcpy(ip + 12, up ? local : remote, 4);
    std::memcpy(ip + 16, up ? remote : local, 4);
    uint8_t* tcp = ip + 20;
    const uint16_t sp = up ? local_port : remote_port, dp = up ? remote_port : local_port;
    tcp[0] = uint8_t(sp >> 8), tcp[1] = uint8_t(sp), tcp[2] = uint8_t(dp >> 8),
    tcp[3] = uint8_t(dp);
    tcp[4] = uint8_t(seq >> 24), tcp[5] = uint8_t(seq >> 16), tcp[6] = uint8_t(seq >> 8);
    tcp[7] = uint8_t(seq);
    tcp[12] = 8 << 4;  // 32-byte header: NOP, NOP, timestamps
    tcp[13] = flags;
    tcp[14] = 0xff, tcp[15] = 0xff;
    const uint8_t opts[12] = {1,
                              1,
                              8,
                              10,
                              uint8_t(ts_val >> 24),
                              uint8_t(ts_val >> 16),
                              uint8_t(ts_val >> 8),
                              uint8_t(ts_val),
                              uint8_t(ts_ecr >> 24),
                              uint8_t(ts_ecr >> 16),
                              uint8_t(ts_ecr >> 8),
                              uint8_t(ts_ecr)};
    std::memcpy(tcp + 20, opts, sizeof(opts));
  }
  // A TCP segment (as Tcp()) carrying `payload`, captured whole, with IP TTL `ttl`.
  void TcpPayload(double t, bool up, uint16_t local_port, uint16_t remote_port, uint32_t seq,
                  const std::vector<uint8_t>& payload, uint8_t flags, uint8_t ttl,
                  uint8_t server = 1) {
    Tcp(t, up, local_port, remote_port, seq, uint32_t(payload.size()), flags, 0, 0, server);
    std::vector<uint8_t>& b = packets_.back().bytes;
    b[14 + 8] = ttl;
    b.insert(b.end(), payload.begin(), payload.end());
  }

  // A UDP datagram between 10.0.0.2:local_port and 192.0.2.`server`:remote_port carrying
  // `payload`, captured whole, with IP TTL `ttl`.
  void Udp(double t, bool up, uint16_t local_port, uint16_t remote_port,
           const std::vector<uint8_t>& payload, uint8_t ttl, uint8_t server = 1) {
    Record& r = packets_.emplace_back();
    r.t = t;
    r.bytes.assign(14 + 20 + 8, 0);
    r.bytes.insert(r.bytes.end(), payload.begin(), payload.end());
    r.wire_len = uint32_t(r.bytes.size());
    uint8_t* b = r.bytes.data();
    b[12] = 0x08;  // IPv4
    uint8_t* ip = b + 14;
    ip[0] = 0x45;
    const uint16_t total = uint16_t(20 + 8 + payload.size());
    ip[2] = uint8_t(total >> 8), ip[3] = uint8_t(total);
    ip[8] = ttl, ip[9] = 17;
    const uint8_t local[4] = {10, 0, 0, 2}, remote[4] = {192, 0, 2, server};
    std::memcpy(ip + 12, up ? local : remote, 4);
    std::memcpy(ip + 16, up ? remote : local, 4);
    uint8_t* udp = ip + 20;
    const uint16_t sp = up ? local_port : remote_port, dp = up ? remote_port : local_port;
    const uint16_t len = uint16_t(8 + payload.size());
    udp[0] = uint8_t(sp >> 8), udp[1] = uint8_t(sp), udp[2] = uint8_t(dp >> 8);
    udp[3] = uint8_t(dp), udp[4] = uint8_t(len >> 8), udp[5] = uint8_t(len);
  }

  // A bulk download on local_port at `bytes_per_s`, from t0 to t1, one ACK per two segments,
  // over a path whose round trip (as seen from the office) is rtt_s: each data segment echoes
  // the timestamp of the newest office ACK sent at least rtt_s earlier (a millisecond clock).
  // From server 192.0.2.`server`, port 443.
  void Download(double t0, double t1, uint16_t local_port, double bytes_per_s, uint32_t* seq,
                double rtt_s = 0.02, uint8_t server = 1) {
    const double gap = 1448.0 / bytes_per_s;
    const auto ms = [](double t) { return uint32_t(int64_t(t * 1000) & 0xffffffff); };
    std::vector<double> acks;  // times of this download's ACKs
    size_t echoed = 0;         // acks[echoed - 1] is the newest one the server has seen
    int n = 0;
    for (double t = t0; t < t1; t += gap, ++n) {
      while (echoed < acks.size() && acks[echoed] <= t - rtt_s) ++echoed;
      const uint32_t ecr = echoed > 0 ? ms(acks[echoed - 1]) : 0;
      Tcp(t, false, local_port, 443, *seq, 1448, 0x10, ms(t), ecr, server);
      *seq += 1448;
      if (n % 2 == 1) {
        acks.push_back(t + 0.0005);
        Tcp(t + 0.0005, true, local_port, 443, 1, 0, 0x10, ms(t + 0.0005), ms(t), server);
      }
    }
  }

 private:
  struct Record {
    double t;
    uint32_t wire_len;
    std::vector<uint8_t> bytes = std::vector<uint8_t>(66);
  };
  std::vector<Record> packets_;
  pcap_t* dead_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  bool sorted_ = true;
};

// Three downloads of 1 Mbit/s for 60 s from t0 (ports 2001-2003, local 10.0.0.0/24); port
// 2002 is squeezed to 200 kbit/s at t0 + 30 s by a shaper whose queue adds 300 ms to its round
// trip. The shared fixture of the replay and report tests: one targeted throttle.
inline void WriteThreeDownloads(const std::string& path, double t0) {
  SyntheticCapture cap(path);
  uint32_t seq[3] = {1, 1, 1};
  cap.Download(t0, t0 + 60, 2001, 125000, &seq[0]);
  cap.Download(t0 + 0.01, t0 + 30, 2002, 125000, &seq[1]);
  cap.Download(t0 + 30, t0 + 60, 2002, 25000, &seq[1], /*rtt_s=*/0.32);
  cap.Download(t0 + 0.02, t0 + 60, 2003, 125000, &seq[2]);
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_SYNTHETIC_CAPTURE_H_
