#ifndef THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_
#define THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_

#include <memory>
#include <string>
#include <vector>

#include "capture/packet_source.h"

namespace tw::capture {

// Reads one or more pcap / pcapng files through libpcap's offline API and delivers their
// packets merged in timestamp order (a k-way merge; each file is assumed to be in order
// itself, as capture tools write them). An optional BPF filter (tcpdump syntax) is compiled
// per file against its link type.
class PcapFileSource final : public PacketSource {
 public:
  // Opens every file. On failure returns nullptr and sets *error (names the file).
  static std::unique_ptr<PcapFileSource> Open(const std::vector<std::string>& paths,
                                              const std::string& bpf_filter, std::string* error);
  ~PcapFileSource() override;

  SourceStatus Next(Packet* out) override;
  const std::string& error() const override { return error_; }
  uint64_t bytes_read() const override;
  uint64_t bytes_total() const override { return bytes_total_; }

 private:
  struct File;
  PcapFileSource() = default;
  bool Advance(File* f);  // reads f's next packet into its head; false at end or error

  std::vector<std::unique_ptr<File>> files_;
  File* lent_ = nullptr;  // the file whose head was returned last; advanced on the next call
  std::string error_;
  uint64_t bytes_total_ = 0;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_PCAP_FILE_SOURCE_H_
