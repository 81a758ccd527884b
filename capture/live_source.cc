#include "capture/live_source.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tw::capture {

namespace {

std::string Reason(pcap_t* p, int rc) {
  switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
      return "permission denied: run as root or with CAP_NET_RAW";
    case PCAP_ERROR_NO_SUCH_DEVICE:
      return "no such interface";
    case PCAP_ERROR_IFACE_NOT_UP:
      return "interface is down";
    default:
      return pcap_geterr(p);
  }
}

}  // namespace

std::unique_ptr<PcapLiveSource> PcapLiveSource::Open(const LiveOptions& o, std::string* error) {
  std::unique_ptr<PcapLiveSource> src(new PcapLiveSource());
  src->interface_ = o.interface.empty() ? DefaultRouteInterface() : o.interface;
  if (src->interface_.empty()) {
    *error = "no interface given and no default route found (use -i IFACE)";
    return nullptr;
  }
  const std::string& dev = src->interface_;
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_create(dev.c_str(), errbuf);
  if (p == nullptr) {
    *error = dev + ": " + errbuf;
    return nullptr;
  }
  src->pcap_ = p;
  pcap_set_snaplen(p, o.snaplen);
  pcap_set_promisc(p, o.promiscuous ? 1 : 0);
  pcap_set_immediate_mode(p, o.block_timeout_ms <= 0 ? 1 : 0);
  pcap_set_buffer_size(p, o.buffer_bytes);
  pcap_set_timeout(p, o.block_timeout_ms > 0 ? o.block_timeout_ms : o.poll_timeout_ms);
  if (pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) != 0) {
    // Older kernels: microseconds are fine.
  }
  const int rc = pcap_activate(p);
  if (rc < 0) {
    *error = dev + ": " + Reason(p, rc);
    return nullptr;
  }
  src->link_type_ = pcap_datalink(p);
  // Non-blocking reads and our own poll(): a blocking read would not return on Stop(), which
  // must wake a waiting thread (the eventfd).
  src->poll_timeout_ms_ = o.poll_timeout_ms;
  src->fd_ = pcap_get_selectable_fd(p);
  src->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (src->fd_ < 0 || src->wake_fd_ < 0 || pcap_setnonblock(p, 1, errbuf) != 0) {
    *error = dev + ": cannot poll the capture: " + (errbuf[0] ? errbuf : std::strerror(errno));
    return nullptr;
  }
  if (!o.bpf_filter.empty()) {
    bpf_program prog;
    if (pcap_compile(p, &prog, o.bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      *error = dev + ": bad filter '" + o.bpf_filter + "': " + pcap_geterr(p);
      return nullptr;
    }
    const int frc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (frc != 0) {
      *error = dev + ": cannot apply filter: " + pcap_geterr(p);
      return nullptr;
    }
  }
  return src;
}

PcapLiveSource::~PcapLiveSource() {
  if (pcap_ != nullptr) pcap_close(pcap_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

SourceStatus PcapLiveSource::Next(Packet* out) {
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  int rc = pcap_next_ex(pcap_, &hdr, &data);
  if (rc == 0) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, poll_timeout_ms_) > 0) {
      if (fds[1].revents & POLLIN) {
        uint64_t n;
        if (read(wake_fd_, &n, sizeof(n)) < 0) n = 0;
        return SourceStatus::kIdle;
      }
      rc = pcap_next_ex(pcap_, &hdr, &data);
    }
  }
  if (rc == 1) {
    const bool nano = pcap_get_tstamp_precision(pcap_) == PCAP_TSTAMP_PRECISION_NANO;
    out->ts_ns =
        int64_t(hdr->ts.tv_sec) * 1'000'000'000 + int64_t(hdr->ts.tv_usec) * (nano ? 1 : 1000);
    out->data = data;
    out->caplen = hdr->caplen;
    out->wire_len = hdr->len < hdr->caplen ? hdr->caplen : hdr->len;
    out->link_type = link_type_;
    bytes_read_ += out->wire_len;
    return SourceStatus::kPacket;
  }
  if (rc == 0 || rc == PCAP_ERROR_BREAK) return SourceStatus::kIdle;
  error_ = interface_ + ": " + pcap_geterr(pcap_);
  return SourceStatus::kError;
}

bool PcapLiveSource::Counters(CaptureCounters* out) {
  struct pcap_stat ps;
  if (pcap_stats(pcap_, &ps) != 0) {
    error_ = interface_ + ": " + pcap_geterr(pcap_);
    return false;
  }
  // libpcap's counters are cumulative 32-bit values that wrap (after ~6 h at 200 kpps):
  // accumulate their modular differences.
  const uint32_t raw[3] = {uint32_t(ps.ps_recv), uint32_t(ps.ps_drop), uint32_t(ps.ps_ifdrop)};
  uint64_t* total[3] = {&totals_.received, &totals_.dropped, &totals_.if_dropped};
  for (int i = 0; i < 3; ++i) {
    *total[i] += uint32_t(raw[i] - last_raw_[i]);
    last_raw_[i] = raw[i];
  }
  *out = totals_;
  return true;
}

void PcapLiveSource::Stop() {
  const uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) {
    // The counter is full only if nobody reads it: the reader is awake anyway.
  }
}

std::string DefaultRouteInterface() {
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, dest, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> dest >> gateway >> flags >> refcnt >> use >> metric >> mask)) continue;
    if (dest == "00000000" && mask == "00000000") return iface;
  }
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_if_t* all = nullptr;
  std::string found;
  if (pcap_findalldevs(&all, errbuf) == 0) {
    for (pcap_if_t* d = all; d != nullptr; d = d->next) {
      if ((d->flags & PCAP_IF_LOOPBACK) || !(d->flags & PCAP_IF_UP) || d->addresses == nullptr) {
        continue;
      }
      found = d->name;
      break;
    }
    pcap_freealldevs(all);
  }
  return found;
}

std::string InterfaceNetworks(const std::string& interface) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_if_t* all = nullptr;
  if (pcap_findalldevs(&all, errbuf) != 0) return "";
  std::string out;
  for (pcap_if_t* d = all; d != nullptr; d = d->next) {
    if (interface != d->name) continue;
    for (pcap_addr_t* a = d->addresses; a != nullptr; a = a->next) {
      if (a->addr == nullptr || a->netmask == nullptr) continue;
      char text[INET6_ADDRSTRLEN] = {0};
      int bits = 0;
      if (a->addr->sa_family == AF_INET) {
        sockaddr_in addr, mask;
        std::memcpy(&addr, a->addr, sizeof(addr));
        std::memcpy(&mask, a->netmask, sizeof(mask));
        addr.sin_addr.s_addr &= mask.sin_addr.s_addr;
        bits = std::popcount(uint32_t(mask.sin_addr.s_addr));
        inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
      } else if (a->addr->sa_family == AF_INET6) {
        sockaddr_in6 addr, mask;
        std::memcpy(&addr, a->addr, sizeof(addr));
        std::memcpy(&mask, a->netmask, sizeof(mask));
        if (addr.sin6_addr.s6_addr[0] == 0xfe && (addr.sin6_addr.s6_addr[1] & 0xc0) == 0x80) {
          continue;  // link-local: not a network of ours on the uplink
        }
        for (int i = 0; i < 16; ++i) {
          addr.sin6_addr.s6_addr[i] &= mask.sin6_addr.s6_addr[i];
          bits += std::popcount(unsigned(mask.sin6_addr.s6_addr[i]));
        }
        inet_ntop(AF_INET6, &addr.sin6_addr, text, sizeof(text));
      } else {
        continue;
      }
      if (!out.empty()) out += ',';
      out += std::string(text) + "/" + std::to_string(bits);
    }
  }
  pcap_freealldevs(all);
  return out;
}

}  // namespace tw::capture
