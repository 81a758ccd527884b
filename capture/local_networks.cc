#include "capture/local_networks.h"

#include <algorithm>
#include <cstring>

#include "capture/ip_proto.h"

namespace tw::capture {

LocalNetworks::LocalNetworks(std::vector<Cidr> cidrs) : cidrs_(std::move(cidrs)) {
  for (const Cidr& c : cidrs_) {
    if (c.prefix_len < 0 || c.prefix_len > 128) continue;  // Cidr::Contains matches nothing
    uint8_t mask[16] = {};
    for (int bit = 0; bit < c.prefix_len; ++bit) mask[bit / 8] |= uint8_t(0x80u >> (bit % 8));
    Masked m;
    std::memcpy(m.mask, mask, 16);
    std::memcpy(m.net, c.network.bytes.data(), 16);
    m.net[0] &= m.mask[0];
    m.net[1] &= m.mask[1];
    masked_.push_back(m);
  }
}

bool LocalNetworks::Parse(std::string_view text, LocalNetworks* out, std::string* error) {
  std::vector<Cidr> cidrs;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (item.empty()) continue;
    auto c = Cidr::Parse(item);
    if (!c) {
      *error = "not a network prefix: '" + std::string(item) + "' (expected e.g. 192.0.2.0/24)";
      return false;
    }
    cidrs.push_back(*c);
  }
  if (cidrs.empty()) {
    *error = "no network prefix given";
    return false;
  }
  *out = LocalNetworks(std::move(cidrs));
  return true;
}

std::string LocalNetworks::ToString() const {
  std::string s;
  for (const Cidr& c : cidrs_) {
    if (!s.empty()) s += ',';
    s += c.ToString();
  }
  return s;
}

namespace {
constexpr size_t kMaxPeersTracked = 64;

Cidr PrefixOf(const Address& a) {
  Cidr c;
  c.prefix_len = a.IsV4() ? 96 + 24 : 64;
  c.network = a;
  const int keep_bytes = c.prefix_len / 8;
  for (int i = keep_bytes; i < 16; ++i) c.network.bytes[size_t(i)] = 0;
  return c;
}

// Addresses that never identify a site: link-local, multicast, broadcast, unspecified.
bool CanBeSite(const Address& a) {
  const auto& b = a.bytes;
  if (a.IsV4()) {
    return !(b[12] == 0 || (b[12] == 169 && b[13] == 254) || b[12] >= 224);
  }
  const bool unspecified = std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
  return !(unspecified || b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80));
}

}  // namespace

void LocalNetworkGuesser::Observe(const DecodedPacket& p) {
  if (!CanBeSite(p.src) || !CanBeSite(p.dst)) return;
  ++observed_;
  if (!p.src.IsPrivate() || !p.dst.IsPrivate()) saw_public_ = true;
  bool initiates = false;
  if (p.ip_proto == kIpProtoTcp) {
    initiates = (p.tcp_flags & (kTcpSyn | kTcpAck)) == kTcpSyn;
  } else {
    // The first packet between two addresses counts as the initiative of its sender.
    initiates = seen_pairs_.emplace(std::minmax(p.src, p.dst), true).second;
  }
  Score& s = scores_[p.src];
  if (initiates) s.initiated += 1;
  for (const Address* self : {&p.src, &p.dst}) {
    const Address& peer = self == &p.src ? p.dst : p.src;
    Score& sc = scores_[*self];
    if (sc.peers.size() < kMaxPeersTracked &&
        std::find(sc.peers.begin(), sc.peers.end(), peer) == sc.peers.end()) {
      sc.peers.push_back(peer);
    }
  }
}

LocalNetworks LocalNetworkGuesser::Guess() const {
  auto score = [&](const Address& a, const Score& s) {
    double v = s.initiated + 0.5 * double(s.peers.size());
    // On a link between private and public space the private side is ours.
    if (saw_public_ && a.IsPrivate()) v += 1e6;
    return v;
  };
  const std::pair<const Address, Score>* best[2] = {nullptr, nullptr};  // [v4, v6]
  for (const auto& entry : scores_) {
    auto& slot = best[entry.first.IsV4() ? 0 : 1];
    if (slot == nullptr || score(entry.first, entry.second) > score(slot->first, slot->second)) {
      slot = &entry;
    }
  }
  std::vector<Cidr> cidrs;
  const int primary =
      best[0] == nullptr ? 1
      : best[1] == nullptr
          ? 0
          : (score(best[0]->first, best[0]->second) >= score(best[1]->first, best[1]->second) ? 0
                                                                                              : 1);
  for (int fam : {primary, 1 - primary}) {
    const auto* b = best[fam];
    if (b == nullptr) continue;
    if (fam != primary && b->second.initiated == 0) continue;
    Cidr c = PrefixOf(b->first);
    // The local side is one side of the watched link. When every peer of the winner lies in
    // its own prefix (a router trace whose client and server share a subnet), the prefix would
    // hold both ends of everything: the winner alone is the local side.
    const std::vector<Address>& peers = b->second.peers;
    if (!peers.empty() &&
        std::all_of(peers.begin(), peers.end(), [&](const Address& p) { return c.Contains(p); })) {
      c = Cidr{b->first, 128};
    }
    cidrs.push_back(c);
  }
  return LocalNetworks(std::move(cidrs));
}

}  // namespace tw::capture
