#include "detector/daemon/service_table.h"

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

std::string ServiceName(const capture::FlowInfo& info) {
  const uint8_t proto = info.proto();
  if (proto != capture::kIpProtoTcp && proto != capture::kIpProtoUdp) return "other";
  const uint16_t port = ServerPort(info);
  if (const char* name = KnownName(proto, port)) return name;
  return std::string(proto == capture::kIpProtoTcp ? "tcp/" : "udp/") + std::to_string(port);
}

ServiceTable::ServiceTable(size_t max_services, uint64_t min_bytes)
    : max_(max_services),
      min_bytes_(min_bytes),
      unlabelled_bytes_(1 + 2 * kPorts, 0),
      slot_(1 + 2 * kPorts, 0) {
  labelled_.reserve(max_ + 1);
  labelled_.push_back(Labelled{"other", {0, 0}});
}

size_t ServiceTable::Index(const capture::FlowInfo& info) {
  const uint8_t proto = info.proto();
  if (proto != capture::kIpProtoTcp && proto != capture::kIpProtoUdp) return 0;
  return 1 + (proto == capture::kIpProtoUdp ? kPorts : 0) + ServerPort(info);
}

void ServiceTable::Add(const capture::FlowInfo& info, uint64_t up_bytes, uint64_t down_bytes) {
  if (up_bytes + down_bytes == 0) return;
  const size_t i = Index(info);
  Labelled& l = slot_[i] == 0 ? labelled_.back() : labelled_[slot_[i] - 1];
  l.bytes[capture::kUp] += up_bytes;
  l.bytes[capture::kDown] += down_bytes;
  if (i == 0 || slot_[i] != 0 || labelled_.size() > max_) return;
  unlabelled_bytes_[i] += up_bytes + down_bytes;
  if (unlabelled_bytes_[i] >= min_bytes_) {
    // From now on it has its own label; what it carried so far stays in "other" (counters
    // never move). Inserted before "other", which has no slot, so no slot goes stale.
    labelled_.insert(labelled_.end() - 1, Labelled{ServiceName(info), {0, 0}});
    slot_[i] = uint16_t(labelled_.size() - 1);  // position + 1 of the new entry
  }
}

const std::string& ServiceTable::LabelOf(const capture::FlowInfo& info) const {
  const size_t i = Index(info);
  return slot_[i] == 0 ? labelled_.back().service : labelled_[slot_[i] - 1].service;
}

}  // namespace tw::detector
