#include "capture/pcap_file_source.h"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cstdio>

namespace tw::capture {

struct PcapFileSource::File {
  std::string path;
  pcap_t* pcap = nullptr;
  int link_type = 0;
  bool has_head = false;
  Packet head;
  uint64_t size = 0;
  ~File() {
    if (pcap != nullptr) pcap_close(pcap);
  }
};

std::unique_ptr<PcapFileSource> PcapFileSource::Open(const std::vector<std::string>& paths,
                                                     const std::string& bpf_filter,
                                                     std::string* error) {
  std::unique_ptr<PcapFileSource> src(new PcapFileSource());
  for (const std::string& path : paths) {
    auto f = std::make_unique<File>();
    f->path = path;
    char errbuf[PCAP_ERRBUF_SIZE] = {0};
    f->pcap = pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO,
                                                      errbuf);
    if (f->pcap == nullptr) {
      *error = path + ": " + errbuf;
      return nullptr;
    }
    f->link_type = pcap_datalink(f->pcap);
    if (!bpf_filter.empty()) {
      bpf_program prog;
      if (pcap_compile(f->pcap, &prog, bpf_filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        *error = path + ": bad filter '" + bpf_filter + "': " + pcap_geterr(f->pcap);
        return nullptr;
      }
      const int rc = pcap_setfilter(f->pcap, &prog);
      pcap_freecode(&prog);
      if (rc != 0) {
        *error = path + ": cannot apply filter: " + pcap_geterr(f->pcap);
        return nullptr;
      }
    }
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) f->size = uint64_t(st.st_size);
    src->bytes_total_ += f->size;
    src->files_.push_back(std::move(f));
  }
  for (auto& f : src->files_) {
    if (!src->Advance(f.get()) && !src->error_.empty()) {
      *error = src->error_;
      return nullptr;
    }
  }
  return src;
}

PcapFileSource::~PcapFileSource() = default;

bool PcapFileSource::Advance(File* f) {
  f->has_head = false;
  if (f->pcap == nullptr) return false;
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(f->pcap, &hdr, &data);
  if (rc == 1) {
    f->head.ts_ns = int64_t(hdr->ts.tv_sec) * 1'000'000'000 + int64_t(hdr->ts.tv_usec);
    f->head.data = data;
    f->head.caplen = hdr->caplen;
    f->head.wire_len = hdr->len < hdr->caplen ? hdr->caplen : hdr->len;
    f->head.link_type = f->link_type;
    f->has_head = true;
    return true;
  }
  if (rc == PCAP_ERROR) error_ = f->path + ": " + pcap_geterr(f->pcap);
  // End of file (PCAP_ERROR_BREAK) or error: this file is done either way.
  pcap_close(f->pcap);
  f->pcap = nullptr;
  return false;
}

SourceStatus PcapFileSource::Next(Packet* out) {
  if (lent_ != nullptr) {
    File* f = lent_;
    lent_ = nullptr;
    Advance(f);
  }
  if (!error_.empty()) return SourceStatus::kError;
  File* best = nullptr;
  for (auto& f : files_) {
    if (f->has_head && (best == nullptr || f->head.ts_ns < best->head.ts_ns)) best = f.get();
  }
  if (best == nullptr) return SourceStatus::kEnd;
  *out = best->head;
  lent_ = best;
  return SourceStatus::kPacket;
}

uint64_t PcapFileSource::bytes_read() const {
  uint64_t n = 0;
  for (const auto& f : files_) {
    if (f->pcap == nullptr) {
      n += f->size;
    } else if (FILE* fp = pcap_file(f->pcap); fp != nullptr) {
      const long pos = std::ftell(fp);
      if (pos > 0) n += uint64_t(pos);
    }
  }
  return n;
}

}  // namespace tw::capture
