#include "capture/server_names.h"

#include <cstring>

#include "capture/dns.h"
#include "capture/host_name.h"
#include "capture/ip_proto.h"
#include "capture/tls_sni.h"
#include "util/hash.h"

namespace tw::capture {

template <typename Map, typename Key>
void ServerNames::Put(Map* m, const Key& k, std::string_view raw) {
  std::string name = CanonicalHostName(raw);
  if (name.empty()) {
    ++rejected_;
    return;
  }
  if (m->size() >= max_ && m->find(k) == m->end()) m->erase(m->begin());
  (*m)[k] = std::move(name);
  ++learned_;
}

template <typename OnFlow, typename OnAddress>
void ServerNames::Parse(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                        const BinnedPacket& bp, OnFlow on_flow, OnAddress on_address) {
  if (bp.info == nullptr || !MayName(data, caplen, p)) return;
  const uint8_t* payload = data + p.payload_offset;
  const size_t n = std::min<size_t>(caplen - p.payload_offset, p.payload_len);
  if (p.ip_proto == kIpProtoUdp && p.src_port == kDnsPort) {
    ParseDnsResponse(payload, n, [&](const DnsAnswer& a) { on_address(a.address, a.name); });
  } else {
    std::string_view sni;
    if (ParseTlsSni(payload, n, &sni)) on_flow(sni);
  }
}

void ServerNames::Observe(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                          const BinnedPacket& bp) {
  Parse(
      data, caplen, p, bp, [&](std::string_view sni) { Put(&by_flow_, bp.info->id, sni); },
      [&](const Address& a, std::string_view name) { Put(&by_address_, a, name); });
}

void ServerNames::Find(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                       const BinnedPacket& bp, std::vector<LearnedName>* out) {
  Parse(
      data, caplen, p, bp,
      [&](std::string_view sni) {
        out->push_back({bp.info->id, Address{}, std::string(sni)});
      },
      [&](const Address& a, std::string_view name) {
        out->push_back({0, a, std::string(name)});
      });
}

void ServerNames::Learn(const LearnedName& n) {
  if (n.flow_id != 0) {
    Put(&by_flow_, n.flow_id, n.name);
  } else {
    Put(&by_address_, n.address, n.name);
  }
}

std::string_view ServerNames::NameOf(uint64_t flow_id, const Address& remote) const {
  if (auto it = by_flow_.find(flow_id); it != by_flow_.end()) return it->second;
  if (auto it = by_address_.find(remote); it != by_address_.end()) return it->second;
  return {};
}

}  // namespace tw::capture
