#ifndef THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_
#define THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "capture/packet_source.h"

namespace tw::capture {

// Reads one or more pcap / pcapng files and delivers their packets merged in timestamp order
// (a k-way merge; each file is assumed to be in order itself, as capture tools write them).
// Files are memory-mapped and parsed by CaptureFileReader (no copy, no libpcap on the read
// path); a file that cannot be mapped (a pipe, standard input as "-") is read into memory
// whole. An optional BPF filter (tcpdump syntax) is compiled with libpcap per link type and
// applied with pcap_offline_filter(). Packets are lent until the next Next().
//
// Errors: Open() fails on an unreadable file, a bad filter or a broken file header. Next()
// returns kError for I/O trouble and kMalformed for a broken file (CaptureFileReader lists
// what is fatal); error() then names the file and the byte offset, and every packet before the
// damage has been delivered. Survived anomalies are counted in stats() and described by
// notes().
class PcapFileSource final : public PacketSource {
 public:
  // Opens every file. On failure returns nullptr and sets *error (names the file); *malformed
  // (if given) tells a broken file apart from an unreadable one or a bad filter.
  static std::unique_ptr<PcapFileSource> Open(const std::vector<std::string>& paths,
                                              const std::string& bpf_filter, std::string* error,
                                              bool* malformed = nullptr);
  ~PcapFileSource() override;

  SourceStatus Next(Packet* out) override;
  const std::string& error() const override { return error_; }
  uint64_t bytes_read() const override;
  uint64_t bytes_total() const override { return bytes_total_; }

  // Summed over the files.
  CaptureFileStats stats() const;
  uint64_t filtered_out() const { return filtered_out_; }  // packets the BPF filter rejected
  std::vector<std::string> notes() const;

 private:
  struct File;
  struct Filter;
  PcapFileSource() = default;
  // Reads f's next packet into *into (its head, or the caller's packet when there is one file
  // and so no head to keep); false at end or error.
  bool Advance(File* f, Packet* into);
  bool Pass(const Packet& p);

  std::vector<std::unique_ptr<File>> files_;
  std::vector<std::unique_ptr<Filter>> filters_;  // one per link type seen
  std::string bpf_filter_;
  File* lent_ = nullptr;  // the file whose head was returned last; advanced on the next call
  std::string error_;
  SourceStatus error_status_ = SourceStatus::kError;
  uint64_t bytes_total_ = 0;
  uint64_t filtered_out_ = 0;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_
