// Real captures of each encapsulation and link type (shared data, realworld/odd/, see its
// SOURCES.tsv): per flow, what throttlewatch counts must equal what tshark counts.
//
// Both sides key a packet by its innermost IP header (addresses, protocol, TCP/UDP ports; ICMP
// on addresses alone, as flows do) and count, per flow, packets, bytes on the wire (the frame
// length, what a flow's wire_bytes sums) and bytes of the innermost IP datagram (its header's
// total length; IPv6: 40 + payload length), which checks that the right header was found.
// throttlewatch's side reads the file as a replay does: PcapFileSource, Decode(),
// FragmentTable. tshark's side is this command (the fields of every layer, in order):
//
//   tshark -r FILE -n -o ip.defragment:FALSE -o ipv6.defragment:FALSE -T fields
//     -E separator=/t -E occurrence=a -E aggregator=,
//     -e frame.len -e frame.protocols -e ip.src -e ip.dst -e ip.len -e ip.proto
//     -e ipv6.src -e ipv6.dst -e ipv6.plen -e ipv6.nxt
//     -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport
//
// and the innermost IP layer of a frame is the last "ip" or "ipv6" of frame.protocols before
// any "icmp"/"icmpv6" (whose errors quote an IP header that is not the packet's). tshark must be
// installed (deploy/install-deps.sh --test): without it the test fails. Packets throttlewatch
// does not decode must all be not_ip (the PPP file's PAP, the radiotap file's deauthentication,
// PPPoE discovery): none truncated, unsupported or bad.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "capture/decode.h"
#include "capture/flow_key.h"
#include "capture/fragment_table.h"
#include "capture/ip_proto.h"
#include "capture/pcap_file_source.h"

namespace tw::capture {
namespace {

namespace fs = std::filesystem;

struct Totals {
  uint64_t packets = 0, wire_bytes = 0, ip_bytes = 0;
  std::string tunnel;  // of the flow's first packet (throttlewatch's side only)
};

// "udp 10.0.0.1:53 10.0.0.2:4000": the key's endpoints in key order.
std::string KeyText(const FlowKey& k) {
  return std::string(ProtoName(k.proto)) + "/" + std::to_string(k.proto) + " " + k.a.ToString() +
         ":" + std::to_string(k.port_a) + " " + k.b.ToString() + ":" + std::to_string(k.port_b);
}

std::string TotalsText(const Totals& t) {
  return "packets " + std::to_string(t.packets) + ", wire bytes " + std::to_string(t.wire_bytes) +
         ", IP bytes " + std::to_string(t.ip_bytes);
}

// Per flow, as throttlewatch counts a replay of `file`; *others counts the packets that were
// neither decoded nor just not IP (a link type or a tunnel misread).
std::map<std::string, Totals> CountOurs(const fs::path& file, int* others) {
  std::string error;
  std::unique_ptr<PcapFileSource> src = PcapFileSource::Open({file.string()}, "", &error);
  EXPECT_NE(src, nullptr) << error;
  std::map<std::string, Totals> flows;
  if (src == nullptr) return flows;
  FragmentTable fragments;
  Packet pkt;
  DecodedPacket d;
  while (src->Next(&pkt) == SourceStatus::kPacket) {
    const DecodeStatus status =
        fragments.Resolve(pkt.ts_ns, Decode(pkt.link_type, pkt.data, pkt.caplen, &d), &d);
    if (status != DecodeStatus::kOk) {
      if (status != DecodeStatus::kNotIp) ++*others;
      continue;
    }
    bool src_is_a = false;
    Totals& t = flows[KeyText(MakeFlowKey(d, &src_is_a))];
    if (t.packets == 0) t.tunnel = TunnelPathName(d.tunnels);
    ++t.packets;
    t.wire_bytes += pkt.wire_len;
    t.ip_bytes += d.ip_len;
  }
  return flows;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, sep);) out.push_back(x);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// The `n`-th value of a field with every occurrence ("a,b,c"), or "".
std::string Nth(const std::string& values, int n) {
  const std::vector<std::string> v = Split(values, ',');
  return n < int(v.size()) ? v[size_t(n)] : "";
}

// How many times `name` appears in protocols[0, end).
int Occurrence(const std::vector<std::string>& protocols, size_t end, const std::string& name) {
  int n = 0;
  for (size_t i = 0; i < end; ++i) n += protocols[i] == name;
  return n;
}

enum Field {
  kLen,
  kProtocols,
  kIpSrc,
  kIpDst,
  kIpLen,
  kIpProto,
  kIp6Src,
  kIp6Dst,
  kIp6Plen,
  kIp6Nxt,
  kTcpSport,
  kTcpDport,
  kUdpSport,
  kUdpDport,
  kFields
};

// The flow and totals of one line of tshark's output; false for a frame without IP.
bool TsharkPacket(const std::vector<std::string>& f, FlowKey* key, uint64_t* ip_bytes) {
  const std::vector<std::string> protocols = Split(f[kProtocols], ':');
  size_t ip = protocols.size();
  for (size_t i = 0; i < protocols.size(); ++i) {
    if (protocols[i] == "icmp" || protocols[i] == "icmpv6") break;
    if (protocols[i] == "ip" || protocols[i] == "ipv6") ip = i;
  }
  if (ip == protocols.size()) return false;
  const bool v4 = protocols[ip] == "ip";
  const int n = Occurrence(protocols, ip, protocols[ip]);
  DecodedPacket d;
  d.src = *Address::Parse(Nth(f[v4 ? kIpSrc : kIp6Src], n));
  d.dst = *Address::Parse(Nth(f[v4 ? kIpDst : kIp6Dst], n));
  *ip_bytes = v4 ? std::stoull(Nth(f[kIpLen], n)) : 40 + std::stoull(Nth(f[kIp6Plen], n));
  d.ip_proto = uint8_t(std::stoi(Nth(f[v4 ? kIpProto : kIp6Nxt], n)));
  for (size_t i = ip + 1; i < protocols.size(); ++i) {
    const std::string& p = protocols[i];
    if (p.rfind("ipv6.", 0) == 0) continue;  // IPv6 extension headers
    const int k = Occurrence(protocols, i, p);
    if (p == "tcp" || p == "udp") {
      const bool tcp = p == "tcp";
      d.ip_proto = tcp ? kIpProtoTcp : kIpProtoUdp;
      d.src_port = uint16_t(std::stoi(Nth(f[tcp ? kTcpSport : kUdpSport], k)));
      d.dst_port = uint16_t(std::stoi(Nth(f[tcp ? kTcpDport : kUdpDport], k)));
    } else if (p == "icmp" || p == "icmpv6") {
      d.ip_proto = p == "icmp" ? kIpProtoIcmp : kIpProtoIcmpv6;
    }
    break;
  }
  bool src_is_a = false;
  *key = MakeFlowKey(d, &src_is_a);
  return true;
}

// Per flow, as tshark counts `file` (see the command above). Fails the test when tshark does
// not run.
std::map<std::string, Totals> CountTshark(const fs::path& file) {
  const std::string cmd =
      "tshark -r '" + file.string() +
      "' -n -o ip.defragment:FALSE -o ipv6.defragment:FALSE -T fields -E separator=/t"
      " -E occurrence=a -E aggregator=, -e frame.len -e frame.protocols -e ip.src -e ip.dst"
      " -e ip.len -e ip.proto -e ipv6.src -e ipv6.dst -e ipv6.plen -e ipv6.nxt -e tcp.srcport"
      " -e tcp.dstport -e udp.srcport -e udp.dstport 2>/dev/null";
  std::map<std::string, Totals> flows;
  FILE* out = popen(cmd.c_str(), "r");
  if (out == nullptr) {
    ADD_FAILURE() << "cannot run tshark";
    return flows;
  }
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), out)) > 0;) text.append(buf, n);
  const int status = pclose(out);
  EXPECT_EQ(status, 0) << "tshark failed or is not installed (deploy/install-deps.sh --test): "
                       << cmd;
  for (const std::string& line : Split(text, '\n')) {
    if (line.empty()) continue;
    std::vector<std::string> f = Split(line, '\t');
    f.resize(kFields);
    FlowKey key;
    uint64_t ip_bytes = 0;
    if (!TsharkPacket(f, &key, &ip_bytes)) continue;
    Totals& t = flows[KeyText(key)];
    ++t.packets;
    t.wire_bytes += std::stoull(f[kLen]);
    t.ip_bytes += ip_bytes;
  }
  return flows;
}

// A file, the tunnels its flows come through (every flow's, or "" for flows without one), and
// how many flows tshark finds in it.
struct Capture {
  const char* file;
  std::vector<std::string> tunnels;
  size_t flows;
};

std::ostream& operator<<(std::ostream& os, const Capture& c) { return os << c.file; }

class DecodeCapturesTest : public ::testing::TestWithParam<Capture> {};

TEST_P(DecodeCapturesTest, BytesPerFlowEqualTsharks) {
  const Capture& c = GetParam();
  const fs::path file = fs::path(TW_ODD_DATA) / c.file;
  ASSERT_TRUE(fs::exists(file)) << file;
  int others = 0;
  const std::map<std::string, Totals> ours = CountOurs(file, &others);
  EXPECT_EQ(others, 0);  // PPP's PAP, 802.11 management, PPPoE discovery are just not IP
  const std::map<std::string, Totals> theirs = CountTshark(file);
  EXPECT_EQ(theirs.size(), c.flows);
  std::map<std::string, std::string> ours_text, theirs_text;
  std::vector<std::string> tunnels;
  for (const auto& [key, t] : ours) {
    ours_text[key] = TotalsText(t);
    tunnels.push_back(t.tunnel);
  }
  for (const auto& [key, t] : theirs) theirs_text[key] = TotalsText(t);
  EXPECT_EQ(ours_text, theirs_text);
  EXPECT_EQ(tunnels, c.tunnels);
}

// The encapsulations and link types; not the files of odd/ that are there for their times.
INSTANTIATE_TEST_SUITE_P(
    Odd, DecodeCapturesTest,
    ::testing::Values(
        Capture{"erspan-erspanII.pcap", {"erspan"}, 1},
        Capture{"geneve-geneve.pcap", {"geneve"}, 1},
        Capture{"gre-gre-pptp.pcap", {"4in6/pptp"}, 1},
        Capture{"gre-gre-sample.pcap", {"gre", "gre", "gre", "gre", "gre", "gre"}, 6},
        Capture{"gtpu-gtp-u.pcap", {"gtpu"}, 1}, Capture{"ip4in6-4in6.pcap", {"4in6"}, 1},
        Capture{"ip6in4-6in4.pcap", {"6in4"}, 1},
        Capture{"mpls-mpls-in-vlan.pcap", {"", "mpls", "mpls"}, 3},
        Capture{"nflog-nflogPacket.pcap", {""}, 1}, Capture{"ppp-truncated-aack.pcap", {}, 0},
        Capture{"pppoe-PPPoESession.pcap", {"pppoe"}, 1},
        Capture{"pppoe-pppoe.pcap", std::vector<std::string>(7, "pppoe"), 7},
        Capture{"radiotap-reason_code-0.pcap", {}, 0}, Capture{"sll2-Sll2Packet.pcap", {""}, 1},
        // Teredo through port 3544 only: the relay's traffic (ports 3797 and 32900) stays UDP.
        Capture{"teredo-Teredo.pcap",
                {"teredo", "teredo", "teredo", "teredo", "", "", "", "", "", "", "", "", ""},
                13},
        Capture{"vxlan-vxlan-encapsulated-http.pcap", {"vxlan"}, 1}),
    [](const ::testing::TestParamInfo<Capture>& param_info) {
      std::string name = param_info.param.file;
      name = name.substr(0, name.find('.'));
      for (char& ch : name) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return name;
    });

}  // namespace
}  // namespace tw::capture
