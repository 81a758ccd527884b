// nDPI's QUIC captures (shared data, see its README): every flow for which nDPI's expected
// results name a server must get exactly that name, and the same QUIC version, from
// ServerNames, whether it reads the packets itself (Observe) or is handed what Find() found.
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "capture/decode.h"
#include "capture/flow_key.h"
#include "capture/ip_proto.h"
#include "capture/server_names.h"

namespace tw::capture {
namespace {

namespace fs = std::filesystem;

struct Row {
  std::string file, flow, sni, version;
};

std::vector<Row> ReadExpected(const fs::path& tsv) {
  std::ifstream in(tsv);
  std::vector<Row> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, '\t');) f.push_back(x);
    f.resize(4);
    rows.push_back({f[0], f[1], f[2], f[3]});
  }
  return rows;
}

// "10.0.0.1:443" or "[::1]:4443".
bool ParseEndpoint(const std::string& s, Address* a, uint16_t* port) {
  const size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::optional<Address> parsed = Address::Parse(host);
  if (!parsed) return false;
  *a = *parsed;
  *port = uint16_t(std::stoi(s.substr(colon + 1)));
  return true;
}

// The key of a row's flow ("A:p <-> B:q", either direction).
std::optional<FlowKey> RowKey(const std::string& flow) {
  const size_t sep = flow.find(" <-> ");
  if (sep == std::string::npos) return std::nullopt;
  DecodedPacket p;
  p.ip_proto = kIpProtoUdp;
  if (!ParseEndpoint(flow.substr(0, sep), &p.src, &p.src_port) ||
      !ParseEndpoint(flow.substr(sep + 5), &p.dst, &p.dst_port)) {
    return std::nullopt;
  }
  bool src_is_a = false;
  return MakeFlowKey(p, &src_is_a);
}

struct KeyHash {
  size_t operator()(const FlowKey& k) const { return size_t(HashFlowKey(k)); }
};

// Feeds every UDP packet of a capture to `observed` (Observe) and, through Find and Learn, to
// `learned`; returns the flow ids given to the capture's flows (1, 2, ... by first packet).
std::unordered_map<FlowKey, uint64_t, KeyHash> Feed(const fs::path& file, ServerNames* observed,
                                                    ServerNames* learned) {
  std::unordered_map<FlowKey, uint64_t, KeyHash> ids;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* pc = pcap_open_offline(file.c_str(), err);
  EXPECT_NE(pc, nullptr) << file << ": " << err;
  if (pc == nullptr) return ids;
  const int link = pcap_datalink(pc);
  // The name-capture handle's filter must pass every packet a piece of a QUIC handshake came
  // from, or the daemon would never see them.
  bpf_program filter;
  EXPECT_EQ(pcap_compile(pc, &filter, kServerNameFilter, 1, PCAP_NETMASK_UNKNOWN), 0)
      << pcap_geterr(pc);
  pcap_pkthdr* h = nullptr;
  const u_char* data = nullptr;
  std::vector<LearnedName> found;
  while (pcap_next_ex(pc, &h, &data) == 1) {
    DecodedPacket p;
    if (Decode(link, data, h->caplen, &p) != DecodeStatus::kOk || p.ip_proto != kIpProtoUdp) {
      continue;
    }
    bool src_is_a = false;
    const FlowKey key = MakeFlowKey(p, &src_is_a);
    FlowInfo info;
    info.id = ids.emplace(key, ids.size() + 1).first->second;
    info.key = key;
    const BinnedPacket bp{&info, src_is_a ? kUp : kDown, 0};
    observed->Observe(data, h->caplen, p, bp);
    found.clear();
    ServerNames::Find(data, h->caplen, p, bp, &found);
    for (const LearnedName& n : found) {
      learned->Learn(n);
      if (!n.quic_version.empty()) {
        EXPECT_NE(pcap_offline_filter(&filter, h, data), 0)
            << file << ": filter drops a QUIC Initial";
      }
    }
  }
  pcap_freecode(&filter);
  pcap_close(pc);
  return ids;
}

TEST(QuicCapturesTest, EveryNamedFlowOfNdpiCapturesGetsItsName) {
  const fs::path dir = TW_QUIC_DATA;
  // Missing data must fail, not pass with nothing checked.
  ASSERT_TRUE(fs::exists(dir / "expected.tsv")) << "QUIC captures not found in " << dir;
  const std::vector<Row> rows = ReadExpected(dir / "expected.tsv");
  ASSERT_GT(rows.size(), 100u);
  std::map<std::string, std::vector<const Row*>> by_file;
  for (const Row& r : rows) by_file[r.file].push_back(&r);
  size_t checked = 0, skipped = 0;
  for (const auto& [file, file_rows] : by_file) {
    ASSERT_TRUE(fs::exists(dir / file)) << dir / file;
    ServerNames observed, learned;
    const auto ids = Feed(dir / file, &observed, &learned);
    for (const Row* r : file_rows) {
      if (r->sni.empty()) {
        ++skipped;
        // Nothing to assert; a name nDPI did not find is worth a look, so it is shown.
        const std::optional<FlowKey> key = RowKey(r->flow);
        const auto it = key ? ids.find(*key) : ids.end();
        if (it != ids.end() && !observed.NameOf(it->second, Address{}).empty()) {
          std::printf("no name in expected.tsv, found one: %s %s -> %s (%s)\n", file.c_str(),
                      r->flow.c_str(), std::string(observed.NameOf(it->second, Address{})).c_str(),
                      std::string(observed.QuicVersionOf(it->second)).c_str());
        }
        continue;
      }
      ++checked;
      const std::optional<FlowKey> key = RowKey(r->flow);
      ASSERT_TRUE(key) << r->flow;
      const auto it = ids.find(*key);
      ASSERT_NE(it, ids.end()) << file << " " << r->flow << ": flow not in the capture";
      EXPECT_EQ(observed.NameOf(it->second, Address{}), r->sni) << file << " " << r->flow;
      EXPECT_EQ(learned.NameOf(it->second, Address{}), r->sni) << file << " " << r->flow;
      EXPECT_EQ(observed.QuicVersionOf(it->second), r->version) << file << " " << r->flow;
      EXPECT_EQ(learned.QuicVersionOf(it->second), r->version) << file << " " << r->flow;
    }
  }
  std::printf("expected.tsv: %zu rows with a server name checked, %zu without one skipped\n",
              checked, skipped);
  EXPECT_GT(checked, 100u);
}

}  // namespace
}  // namespace tw::capture
