#include "detector/daemon/port_labels.h"

#include "capture/ip_proto.h"

namespace tw::detector {

namespace {

constexpr size_t kPorts = 65536;

const char* KnownName(uint8_t proto, uint16_t port) {
  if (proto == capture::kIpProtoTcp) {
    switch (port) {
      case 80:
        return "http";
      case 443:
        return "https";
      case 53:
        return "dns";
      case 853:
        return "dns-over-tls";
      case 22:
        return "ssh";
      case 25:
      case 465:
      case 587:
        return "smtp";
      case 993:
        return "imaps";
      case 1935:
        return "rtmp";
      case 5222:
        return "xmpp";
      case 8080:
        return "http-alt";
      default:
        return nullptr;
    }
  }
  if (proto == capture::kIpProtoUdp) {
    switch (port) {
      case 443:
        return "quic";
      case 53:
        return "dns";
      case 123:
        return "ntp";
      case 3478:
        return "stun";
      case 51820:
        return "wireguard";
      case 1194:
        return "openvpn";
      default:
        return nullptr;
    }
  }
  return nullptr;
}

uint16_t ServerPort(const capture::FlowInfo& info) {
  return info.local_initiated ? info.remote_port() : info.local_port();
}

}  // namespace

std::string PortLabel(const capture::FlowInfo& info) {
  const uint8_t proto = info.proto();
  if (proto != capture::kIpProtoTcp && proto != capture::kIpProtoUdp) return "other";
  const uint16_t port = ServerPort(info);
  if (const char* name = KnownName(proto, port)) return name;
  return std::string(proto == capture::kIpProtoTcp ? "tcp/" : "udp/") + std::to_string(port);
}

PortLabels::PortLabels(size_t max_labels, uint64_t min_bytes)
    : max_(max_labels),
      min_bytes_(min_bytes),
      unlabelled_bytes_(1 + 2 * kPorts, 0),
      slot_(1 + 2 * kPorts, 0) {
  entries_.reserve(max_ + 1);
  entries_.push_back(Entry{"other", {0, 0}});
}

size_t PortLabels::Index(const capture::FlowInfo& info) {
  const uint8_t proto = info.proto();
  if (proto != capture::kIpProtoTcp && proto != capture::kIpProtoUdp) return 0;
  return 1 + (proto == capture::kIpProtoUdp ? kPorts : 0) + ServerPort(info);
}

void PortLabels::Add(const capture::FlowInfo& info, uint64_t up_bytes, uint64_t down_bytes) {
  if (up_bytes + down_bytes == 0) return;
  const size_t i = Index(info);
  Entry& l = slot_[i] == 0 ? entries_.back() : entries_[slot_[i] - 1];
  l.bytes[capture::kUp] += up_bytes;
  l.bytes[capture::kDown] += down_bytes;
  if (i == 0 || slot_[i] != 0 || entries_.size() > max_) return;
  unlabelled_bytes_[i] += up_bytes + down_bytes;
  if (unlabelled_bytes_[i] >= min_bytes_) {
    // From now on it has its own label; what it carried so far stays in "other" (counters
    // never move). Inserted before "other", which has no slot, so no slot goes stale.
    entries_.insert(entries_.end() - 1, Entry{PortLabel(info), {0, 0}});
    slot_[i] = uint16_t(entries_.size() - 1);  // position + 1 of the new entry
  }
}

const std::string& PortLabels::LabelOf(const capture::FlowInfo& info) const {
  const size_t i = Index(info);
  return slot_[i] == 0 ? entries_.back().label : entries_[slot_[i] - 1].label;
}

}  // namespace tw::detector
