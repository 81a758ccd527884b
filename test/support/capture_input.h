#ifndef THROTTLEWATCH_TEST_SUPPORT_CAPTURE_INPUT_H_
#define THROTTLEWATCH_TEST_SUPPORT_CAPTURE_INPUT_H_

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "capture/capture_file.h"

namespace tw::testing {

inline std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Writes `bytes` to `path` (replaced if it exists).
inline void WriteBytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

// The same packets as a pcap file, as pcapng: one section, one interface of the pcap's link
// type with nanosecond timestamps, one Enhanced Packet Block per packet. Empty when `pcap`
// does not parse.
inline std::vector<uint8_t> PcapToPcapng(const std::vector<uint8_t>& pcap) {
  capture::CaptureFileReader reader;
  std::string error;
  if (!reader.Open(pcap.data(), pcap.size(), "pcap", &error) || reader.pcapng()) return {};
  std::vector<uint8_t> out;
  const auto u32 = [&out](uint32_t v) {
    const size_t at = out.size();
    out.resize(at + 4);
    std::memcpy(out.data() + at, &v, 4);
  };
  const auto u16 = [&out](uint16_t v) {
    const size_t at = out.size();
    out.resize(at + 2);
    std::memcpy(out.data() + at, &v, 2);
  };
  // Section header: type, length, byte-order magic, version 1.0, section length unknown.
  u32(0x0a0d0d0a), u32(28), u32(0x1a2b3c4d), u16(1), u16(0), u32(0xffffffff), u32(0xffffffff);
  u32(28);
  // Interface: link type, snaplen, if_tsresol = 9 (nanoseconds), end of options.
  u32(1), u32(32), u16(uint16_t(reader.link_type())), u16(0), u32(0);
  u16(9), u16(1), out.push_back(9), out.push_back(0), out.push_back(0), out.push_back(0);
  u16(0), u16(0);
  u32(32);
  capture::Packet p;
  while (reader.Next(&p) == capture::ReadStatus::kPacket) {
    const uint32_t padded = (p.caplen + 3) & ~3u, len = 32 + padded;
    const uint64_t ts = uint64_t(p.ts_ns);
    u32(6), u32(len), u32(0), u32(uint32_t(ts >> 32)), u32(uint32_t(ts)), u32(p.caplen);
    u32(p.wire_len);
    out.insert(out.end(), p.data, p.data + p.caplen);
    out.resize(out.size() + (padded - p.caplen));
    u32(len);
  }
  return out;
}

// While it lives, standard input (file descriptor 0) is a pipe that a thread fills with
// `bytes` and then closes; the previous standard input comes back at destruction. A reader
// that stops early does not hang the writer (SIGPIPE is ignored, the write fails).
class StdinPipe {
 public:
  explicit StdinPipe(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {
    std::signal(SIGPIPE, SIG_IGN);
    int fds[2];
    if (pipe(fds) != 0) return;
    saved_ = dup(STDIN_FILENO);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    writer_ = std::thread([this, fd = fds[1]] {
      for (size_t at = 0; at < bytes_.size();) {
        const ssize_t n = write(fd, bytes_.data() + at, bytes_.size() - at);
        if (n <= 0) break;
        at += size_t(n);
      }
      close(fd);
    });
  }
  // Standard input is `path`, a regular file (a shell's `< path`).
  explicit StdinPipe(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    saved_ = dup(STDIN_FILENO);
    dup2(fd, STDIN_FILENO);
    close(fd);
  }
  ~StdinPipe() {
    if (saved_ >= 0) {
      dup2(saved_, STDIN_FILENO);  // the pipe's last reader goes: a blocked write fails
      close(saved_);
    }
    if (writer_.joinable()) writer_.join();
  }
  StdinPipe(const StdinPipe&) = delete;
  StdinPipe& operator=(const StdinPipe&) = delete;
  bool ok() const { return saved_ >= 0; }

 private:
  std::vector<uint8_t> bytes_;
  int saved_ = -1;
  std::thread writer_;
};

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_CAPTURE_INPUT_H_
