#ifndef THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_
#define THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "capture/packet_source.h"

namespace tw::capture {

// Why PcapFileSource::Open() failed.
enum class OpenFailure : uint8_t {
  kNone,
  kUnreadable,  // a missing file, a directory, an I/O error, standard input a terminal
  kMalformed,   // a broken (or compressed) capture: the message names the file and byte offset
  kBadFilter,   // the BPF filter does not compile
};

// Reads one or more pcap / pcapng files and delivers their packets merged in timestamp order
// (a k-way merge; each file is assumed to be in order itself, as capture tools write them).
// Regular files are memory-mapped and parsed by CaptureFileReader (no copy, no libpcap on the
// read path); anything else (a pipe, standard input as "-") is read into memory whole, once. An
// optional BPF filter (tcpdump syntax) is compiled with libpcap per link type and applied with
// pcap_offline_filter(). A packet's bytes stay valid for the source's lifetime (the whole input
// stays mapped or buffered), so a caller may hold packets and analyse them later, e.g. after a
// look at the first ones: the input is read once.
//
// Errors: Open() fails on an unreadable file, a bad filter or a broken file header. Next()
// returns kError for I/O trouble and kMalformed for a broken file (CaptureFileReader lists
// what is fatal); error() then names the file and the byte offset, and every packet before the
// damage has been delivered. After the end or an error, Next() keeps returning the same status.
// Survived anomalies are counted in stats() and described by notes().
class PcapFileSource final : public PacketSource {
 public:
  // Opens every file. On failure returns nullptr and sets *error (names the file) and *why (if
  // given). A missing file is "PATH: no such capture file", a directory "PATH: is a directory".
  static std::unique_ptr<PcapFileSource> Open(const std::vector<std::string>& paths,
                                              const std::string& bpf_filter, std::string* error,
                                              OpenFailure* why = nullptr);
  ~PcapFileSource() override;

  SourceStatus Next(Packet* out) override;
  const std::string& error() const override { return error_; }
  uint64_t bytes_read() const override;
  uint64_t bytes_total() const override { return bytes_total_; }

  // Summed over the files.
  CaptureFileStats stats() const;
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
  bool filter_failed_ = false;  // error_ is the filter's
  uint64_t bytes_total_ = 0;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_
