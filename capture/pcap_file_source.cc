#include "capture/pcap_file_source.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace tw::capture {

namespace {
// Mapped pages behind the reader are released in steps of this size, so the resident set
// stays small however large the file (the page cache keeps them; this only unmaps).
constexpr size_t kReleaseStep = 8 << 20;
#ifdef MADV_POPULATE_READ
constexpr int kPopulateRead = MADV_POPULATE_READ;
#else
constexpr int kPopulateRead = 22;  // Linux 5.14; older kernels refuse it harmlessly (EINVAL)
#endif
}  // namespace

struct PcapFileSource::File {
  std::string path;
  const uint8_t* map = nullptr;  // mmap()ed file, or buffer.data()
  size_t size = 0;
  std::vector<uint8_t> buffer;  // contents of a file that could not be mapped
  size_t released = 0;          // bytes at the start of `map` already released
  size_t populated = 0;         // bytes at the start of `map` whose page tables are filled
  CaptureFileReader reader;
  bool has_head = false;
  bool done = false;
  Packet head;
  ~File() {
    if (map != nullptr && buffer.empty() && size > 0) {
      munmap(const_cast<uint8_t*>(map), size);
    }
  }
};

struct PcapFileSource::Filter {
  int link_type = 0;
  bpf_program prog{};
  ~Filter() { pcap_freecode(&prog); }
};

namespace {

// Maps `path` (or reads it whole when it is not a regular file); "-" is standard input.
bool Load(const std::string& path, const uint8_t** map, size_t* size, std::vector<uint8_t>* buffer,
          std::string* error) {
  if (path == "-" && isatty(STDIN_FILENO) == 1) {
    *error = "-: standard input is a terminal, not a capture (pipe one in)";
    return false;
  }
  const int fd = path == "-" ? dup(STDIN_FILENO) : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = path + (errno == ENOENT ? ": no such capture file"
                                     : ": " + std::string(std::strerror(errno)));
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    *error = path + ": is a directory";
    close(fd);
    return false;
  }
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = mmap(nullptr, size_t(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      madvise(p, size_t(st.st_size), MADV_SEQUENTIAL);
      close(fd);
      *map = static_cast<const uint8_t*>(p);
      *size = size_t(st.st_size);
      return true;
    }
  }
  // A pipe, a character device, or mmap() refused: read everything.
  for (;;) {
    const size_t old = buffer->size();
    buffer->resize(old + (1 << 20));
    const ssize_t n = read(fd, buffer->data() + old, 1 << 20);
    if (n < 0 && errno == EINTR) {
      buffer->resize(old);
      continue;
    }
    if (n < 0) {
      *error = path + ": " + std::strerror(errno);
      close(fd);
      return false;
    }
    buffer->resize(old + size_t(n));
    if (n == 0) break;
  }
  close(fd);
  *map = buffer->data();
  *size = buffer->size();
  return true;
}

}  // namespace

std::unique_ptr<PcapFileSource> PcapFileSource::Open(const std::vector<std::string>& paths,
                                                     const std::string& bpf_filter,
                                                     std::string* error, OpenFailure* why) {
  OpenFailure ignored;
  if (why == nullptr) why = &ignored;
  *why = OpenFailure::kNone;
  std::unique_ptr<PcapFileSource> src(new PcapFileSource());
  src->bpf_filter_ = bpf_filter;
  for (const std::string& path : paths) {
    auto f = std::make_unique<File>();
    f->path = path;
    if (!Load(path, &f->map, &f->size, &f->buffer, error)) {
      *why = OpenFailure::kUnreadable;
      return nullptr;
    }
    if (!f->reader.Open(f->map, f->size, path, error)) {
      *why = OpenFailure::kMalformed;
      return nullptr;
    }
    src->bytes_total_ += f->size;
    src->files_.push_back(std::move(f));
  }
  if (!bpf_filter.empty()) {
    // Compile now for the files' (first) link types so that a bad filter is reported at once.
    for (auto& f : src->files_) {
      Packet probe;
      probe.link_type = f->reader.link_type();
      if (probe.link_type >= 0 && !src->Pass(probe) && !src->error_.empty()) {
        *error = src->error_;
        *why = OpenFailure::kBadFilter;
        return nullptr;
      }
    }
  }
  for (auto& f : src->files_) {
    if (!src->Advance(f.get(), &f->head) && !src->error_.empty()) {
      *error = src->error_;
      *why = src->filter_failed_                              ? OpenFailure::kBadFilter
             : src->error_status_ == SourceStatus::kMalformed ? OpenFailure::kMalformed
                                                              : OpenFailure::kUnreadable;
      return nullptr;
    }
  }
  return src;
}

PcapFileSource::~PcapFileSource() = default;

bool PcapFileSource::Pass(const Packet& p) {
  if (bpf_filter_.empty()) return true;
  Filter* filter = nullptr;
  for (auto& fl : filters_) {
    if (fl->link_type == p.link_type) {
      filter = fl.get();
      break;
    }
  }
  if (filter == nullptr) {
    // First packet of this link type: compile (allocates once per link type, not per packet).
    auto fl = std::make_unique<Filter>();
    fl->link_type = p.link_type;
    pcap_t* dead = pcap_open_dead(p.link_type, int(CaptureFileReader::kMaxCaplen));
    if (dead == nullptr) {
      error_ = "cannot compile the filter (out of memory)";
      return false;
    }
    if (pcap_compile(dead, &fl->prog, bpf_filter_.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      error_ = "bad filter '" + bpf_filter_ + "': " + pcap_geterr(dead);
      filter_failed_ = true;
      pcap_close(dead);
      return false;
    }
    pcap_close(dead);
    filter = fl.get();
    filters_.push_back(std::move(fl));
  }
  if (p.data == nullptr) return true;  // a probe to compile only
  pcap_pkthdr h{};
  h.caplen = p.caplen;
  h.len = p.wire_len;
  return pcap_offline_filter(&filter->prog, &h, p.data) != 0;
}

bool PcapFileSource::Advance(File* f, Packet* into) {
  f->has_head = false;
  if (f->done) return false;
  for (;;) {
    const ReadStatus rs = f->reader.Next(into);
    if (rs == ReadStatus::kPacket) {
      if (!Pass(*into)) {
        if (!error_.empty()) break;
        continue;
      }
      f->has_head = into == &f->head;
      // Map the pages ahead in large steps (one system call instead of a page fault per few
      // pages) and release those behind this packet.
      if (f->buffer.empty()) {
        const size_t at = size_t(into->data - f->map);
        if (at + kReleaseStep / 2 >= f->populated && f->populated < f->size) {
          const size_t len = std::min(kReleaseStep, f->size - f->populated);
          madvise(const_cast<uint8_t*>(f->map) + f->populated, len, kPopulateRead);
          f->populated += len;
        }
        if (at - f->released >= 2 * kReleaseStep) {
          const size_t upto = (at - kReleaseStep) & ~size_t(getpagesize() - 1);
          madvise(const_cast<uint8_t*>(f->map) + f->released, upto - f->released, MADV_DONTNEED);
          f->released = upto;
        }
      }
      return true;
    }
    if (rs == ReadStatus::kMalformed) {
      error_ = f->reader.error();
      error_status_ = SourceStatus::kMalformed;
    }
    break;
  }
  f->done = true;
  return false;
}

SourceStatus PcapFileSource::Next(Packet* out) {
  if (lent_ != nullptr) {
    File* f = lent_;
    lent_ = nullptr;
    if (files_.size() == 1) {
      // One file, nothing to merge: its next packet goes straight to *out. (Copied from the
      // head, the packet was loaded 16 bytes at a time right after the reader had stored it
      // field by field; such a load cannot be forwarded from those stores and waits for them
      // to reach the cache: perf annotate put 90 % of this function's samples there.)
      if (!Advance(f, out)) return error_.empty() ? SourceStatus::kEnd : error_status_;
      lent_ = f;
      return SourceStatus::kPacket;
    }
    Advance(f, &f->head);
  }
  if (!error_.empty()) return error_status_;
  File* best = nullptr;
  if (files_.size() == 1) {
    if (files_[0]->has_head) best = files_[0].get();
  } else {
    for (auto& f : files_) {
      if (f->has_head && (best == nullptr || f->head.ts_ns < best->head.ts_ns)) best = f.get();
    }
  }
  if (best == nullptr) return SourceStatus::kEnd;
  *out = best->head;
  lent_ = best;
  return SourceStatus::kPacket;
}

uint64_t PcapFileSource::bytes_read() const {
  uint64_t n = 0;
  for (const auto& f : files_) n += f->done ? f->size : f->reader.offset();
  return n;
}

CaptureFileStats PcapFileSource::stats() const {
  CaptureFileStats s;
  for (const auto& f : files_) {
    const CaptureFileStats& r = f->reader.stats();
    s.packets += r.packets;
    s.zero_length += r.zero_length;
    s.caplen_over_snaplen += r.caplen_over_snaplen;
    s.time_backwards += r.time_backwards;
    s.time_jumps += r.time_jumps;
    s.unsupported_link += r.unsupported_link;
    s.unknown_blocks += r.unknown_blocks;
  }
  return s;
}

std::vector<std::string> PcapFileSource::notes() const {
  std::vector<std::string> out;
  for (const auto& f : files_) {
    for (std::string& n : f->reader.notes()) out.push_back(std::move(n));
  }
  return out;
}

}  // namespace tw::capture
