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

template <typename OnFlow, typename OnAddress, typename OnQuic>
void ServerNames::Parse(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                        const BinnedPacket& bp, OnFlow on_flow, OnAddress on_address,
                        OnQuic on_quic) {
  if (bp.info == nullptr || !MayName(data, caplen, p)) return;
  const uint8_t* payload = data + p.payload_offset;
  const size_t n = std::min<size_t>(caplen - p.payload_offset, p.payload_len);
  if (p.ip_proto == kIpProtoUdp && p.src_port == kDnsPort) {
    ParseDnsResponse(payload, n, [&](const DnsAnswer& a) { on_address(a.address, a.name); });
  } else if (p.ip_proto == kIpProtoUdp) {
    // Rare (client Initials), so the 4.5 KiB of plaintext is kept off the stack of callers
    // that never see QUIC; one per thread, as Find() runs in other threads.
    thread_local QuicInitial q;
    if (!ParseQuicInitial(payload, n, &q)) return;
    if (q.chunks == 0) on_quic(q, -1);
    for (int i = 0; i < q.chunks; ++i) on_quic(q, i);
  } else {
    std::string_view name;
    if (ParseTlsSni(payload, n, &name) || ParseHttpHost(payload, n, &name)) on_flow(name);
  }
}

void ServerNames::Observe(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                          const BinnedPacket& bp) {
  Parse(
      data, caplen, p, bp, [&](std::string_view sni) { Put(&by_flow_, bp.info->id, sni); },
      [&](const Address& a, std::string_view name) { Put(&by_address_, a, name); },
      [&](const QuicInitial& q, int i) {
        const QuicCryptoChunk c = i < 0 ? QuicCryptoChunk{} : q.chunk[size_t(i)];
        LearnQuic(bp.info->id, q.version, q.handshake, c.offset, q.bytes.data() + c.at, c.len);
      });
}

void ServerNames::Find(const uint8_t* data, uint32_t caplen, const DecodedPacket& p,
                       const BinnedPacket& bp, std::vector<LearnedName>* out) {
  Parse(
      data, caplen, p, bp,
      [&](std::string_view sni) {
        LearnedName& n = out->emplace_back();
        n.flow_id = bp.info->id;
        n.name = sni;
      },
      [&](const Address& a, std::string_view name) {
        LearnedName& n = out->emplace_back();
        n.address = a;
        n.name = name;
      },
      [&](const QuicInitial& q, int i) {
        const QuicCryptoChunk c = i < 0 ? QuicCryptoChunk{} : q.chunk[size_t(i)];
        LearnedName& n = out->emplace_back();
        n.flow_id = bp.info->id;
        n.quic_version = q.version;
        n.handshake = q.handshake;
        n.crypto_offset = c.offset;
        n.crypto.assign(reinterpret_cast<const char*>(q.bytes.data() + c.at), c.len);
      });
}

void ServerNames::Learn(const LearnedName& n) {
  if (!n.quic_version.empty() && n.flow_id != 0) {
    LearnQuic(n.flow_id, n.quic_version, n.handshake, n.crypto_offset,
              reinterpret_cast<const uint8_t*>(n.crypto.data()), n.crypto.size());
  } else if (n.flow_id != 0) {
    Put(&by_flow_, n.flow_id, n.name);
  } else {
    Put(&by_address_, n.address, n.name);
  }
}

void ServerNames::LearnQuic(uint64_t flow_id, std::string_view version, QuicHandshake handshake,
                            uint32_t offset, const uint8_t* bytes, size_t len) {
  // The first version stays: after a version negotiation the client retries with another,
  // and the one it asked for first is the one its software prefers (nDPI reports it too).
  if (quic_version_.find(flow_id) == quic_version_.end()) {
    if (quic_version_.size() >= max_) quic_version_.erase(quic_version_.begin());
    quic_version_.emplace(flow_id, version);
  }
  if (len == 0 || by_flow_.count(flow_id) != 0) return;
  auto it = quic_pending_.find(flow_id);
  if (it == quic_pending_.end()) {
    if (quic_pending_.size() >= kMaxQuicPending) quic_pending_.erase(quic_pending_.begin());
    it = quic_pending_.emplace(flow_id, QuicPending{}).first;
  }
  QuicPending& st = it->second;
  if (st.done) return;
  if (!st.stream.Add(offset, bytes, len)) {
    st = QuicPending{};  // refused: what the flow sent is past our bounds, so give up on it
    st.done = true;
    return;
  }
  std::string_view sni;
  const bool found = handshake == QuicHandshake::kChlo
                         ? ParseChloSni(st.stream.data(), st.stream.contiguous(), &sni)
                         : ParseClientHelloSni(st.stream.data(), st.stream.contiguous(), &sni);
  if (!found) return;
  Put(&by_flow_, flow_id, sni);
  st = QuicPending{};  // frees the stream's bytes; done keeps later pieces from re-parsing
  st.done = true;
}

std::string_view ServerNames::QuicVersionOf(uint64_t flow_id) const {
  auto it = quic_version_.find(flow_id);
  return it == quic_version_.end() ? std::string_view() : std::string_view(it->second);
}

std::string_view ServerNames::NameOf(uint64_t flow_id, const Address& remote) const {
  if (auto it = by_flow_.find(flow_id); it != by_flow_.end()) return it->second;
  if (auto it = by_address_.find(remote); it != by_address_.end()) return it->second;
  return {};
}

}  // namespace tw::capture
