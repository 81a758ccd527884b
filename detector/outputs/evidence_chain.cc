#include "detector/outputs/evidence_chain.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

#include "detector/core/event.h"
#include "detector/outputs/json.h"
#include "util/utc_time.h"

namespace tw::detector {

bool IsChainValue(std::string_view h) {
  if (h.size() != 64) return false;
  for (char c : h) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

constexpr std::string_view kChainKey = ",\"chain\":\"";  // 10 bytes, then 64 hex, then "}
constexpr std::string_view kHeaderMark = "\"record\":\"header\"";
constexpr std::string_view kPreviousKey = "\"previous_head\":\"";

std::string Hex(const unsigned char* d, unsigned n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(size_t(n) * 2, '0');
  for (unsigned i = 0; i < n; ++i) {
    s[2 * i] = kDigits[d[i] >> 4];
    s[2 * i + 1] = kDigits[d[i] & 15];
  }
  return s;
}

// An EVP digest context, freed with its scope.
struct Digest {
  Digest() : ctx(EVP_MD_CTX_new()) {
    if (ctx == nullptr || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) std::abort();
  }
  ~Digest() { EVP_MD_CTX_free(ctx); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void Update(const void* p, size_t n) {
    if (n > 0 && EVP_DigestUpdate(ctx, p, n) != 1) std::abort();
  }
  std::string Final() {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (EVP_DigestFinal_ex(ctx, d, &n) != 1) std::abort();
    return Hex(d, n);
  }
  EVP_MD_CTX* ctx;
};

// The "previous_head" a header line names (empty when absent or malformed).
std::string_view PreviousHeadOf(std::string_view line) {
  const size_t at = line.find(kPreviousKey);
  if (at == std::string_view::npos) return {};
  const std::string_view v = line.substr(at + kPreviousKey.size(), 64);
  return IsChainValue(v) ? v : std::string_view{};
}

std::string Short(std::string_view head) { return std::string(head.substr(0, 16)) + "..."; }

}  // namespace

std::string Sha256Hex(std::string_view a, std::string_view b) {
  Digest d;
  d.Update(a.data(), a.size());
  d.Update(b.data(), b.size());
  return d.Final();
}

std::string SealLine(std::string_view previous, std::string_view line, std::string* chain) {
  std::string hex = Sha256Hex(previous, line);
  std::string out;
  out.reserve(line.size() + kChainSuffixSize - 1);
  out.append(line.substr(0, line.empty() ? 0 : line.size() - 1));  // without its final '}'
  out.append(kChainKey);
  out.append(hex);
  out.append("\"}");
  if (chain != nullptr) *chain = std::move(hex);
  return out;
}

std::string_view ChainOf(std::string_view line) {
  if (line.size() < kChainSuffixSize + 1 || line.substr(line.size() - 2) != "\"}") return {};
  const std::string_view tail = line.substr(line.size() - kChainSuffixSize);
  if (tail.substr(0, kChainKey.size()) != kChainKey) return {};
  const std::string_view hex = tail.substr(kChainKey.size(), 64);
  return IsChainValue(hex) ? hex : std::string_view{};
}

InputDigest HashInput(const std::string& path, const std::atomic<bool>* stop) {
  InputDigest d;
  d.file = path == "-" ? path : std::filesystem::path(path).filename().string();
  if (path == "-") {
    d.note = "sha256 unavailable for standard input";
    return d;
  }
  // Non-blocking: opening a named pipe must neither wait for a writer nor take its data.
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    d.note = std::string("not hashed: ") + std::strerror(errno);
    return d;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    d.note = "not hashed: not a regular file (a pipe or device can be read only once)";
    return d;
  }
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Digest digest;
  std::vector<unsigned char> buf(1 << 20);
  for (;;) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
      close(fd);
      d.note = "not hashed: abandoned";
      return d;
    }
    const ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      d.note = std::string("not hashed: ") + std::strerror(errno);
      close(fd);
      return d;
    }
    if (n == 0) break;
    digest.Update(buf.data(), size_t(n));
    d.bytes += uint64_t(n);
  }
  close(fd);
  d.sha256 = digest.Final();
  return d;
}

InputHasher::InputHasher(std::vector<std::string> paths)
    : stop_(std::make_unique<std::atomic<bool>>(false)) {
  result_ = std::async(std::launch::async, [paths = std::move(paths), stop = stop_.get()] {
              std::vector<InputDigest> out;
              for (const std::string& p : paths) out.push_back(HashInput(p, stop));
              return out;
            }).share();
}

InputHasher::~InputHasher() {
  stop_->store(true, std::memory_order_relaxed);
  if (result_.valid()) result_.wait();
}

namespace {
// The fields every header starts with, in this order.
Json HeaderStart(std::string_view version, const char* mode) {
  Json j;
  j["schema"] = kEventSchemaVersion;
  j["record"] = "header";
  j["program"] = "throttlewatch";
  j["version"] = std::string(version);
  j["mode"] = mode;
  return j;
}
}  // namespace

std::string ReplayHeader(const std::vector<InputDigest>& inputs, std::string_view version,
                         std::string_view previous_head) {
  Json j = HeaderStart(version, "replay");
  Json& list = j["inputs"] = Json::array();
  for (const InputDigest& d : inputs) {
    Json in;
    in["file"] = d.file;
    if (!d.sha256.empty()) {
      in["bytes"] = d.bytes;
      in["sha256"] = d.sha256;
    } else {
      in["sha256"] = nullptr;
      in["note"] = d.note;
    }
    list.push_back(std::move(in));
  }
  j["previous_head"] = std::string(previous_head);
  return DumpLine(j);
}

SensorIdentity ThisSensor(const std::string& name, const std::string& interface,
                          std::string_view version, double started_s) {
  SensorIdentity id;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) id.host = host;
  id.name = name.empty() ? id.host : name;
  id.interface = interface;
  id.version = std::string(version);
  id.started_s = started_s;
  return id;
}

std::string LiveHeader(const SensorIdentity& sensor, std::string_view reason,
                       std::string_view previous_head, double now_s) {
  Json j = HeaderStart(sensor.version, "live");
  j["reason"] = std::string(reason);
  j["host"] = sensor.host;
  j["sensor"] = sensor.name;
  j["interface"] = sensor.interface;
  j["started_at"] = util::IsoTime(sensor.started_s);
  j["written_at"] = util::IsoTime(now_s);
  j["previous_head"] = std::string(previous_head);
  return DumpLine(j);
}

void ChainVerifier::BeginFile() {
  ++files_;
  line_ = 0;
}

bool ChainVerifier::Fail(std::string why) {
  error_ = "line " + std::to_string(line_) + ": " + why;
  return false;
}

bool ChainVerifier::Add(std::string_view line) {
  if (!ok()) return false;
  ++line_;
  const std::string_view chain = ChainOf(line);
  if (chain.empty()) {
    return Fail(
        "no chain field (not a line of a throttlewatch event stream, or written by a "
        "version without evidence chaining)");
  }
  const bool header = line.find(kHeaderMark) != std::string_view::npos;
  const std::string_view named = header ? PreviousHeadOf(line) : std::string_view{};
  if (start_.empty()) {
    // The very first line: it continues what its header names (a rotated file checked alone).
    start_ = named.empty() ? std::string(kChainGenesis) : std::string(named);
    head_ = start_;
  } else if (line_ == 1 && header && !named.empty() && named != head_) {
    if (named == kChainGenesis) {
      return Fail("starts a new chain instead of continuing the file before it (which ends at " +
                  Short(head_) + "): the link between the two files is not proven");
    }
    return Fail("does not continue the file before it: it continues " + Short(named) +
                ", that file ends at " + Short(head_) +
                " (a file missing between them, or the files out of order)");
  }
  std::string body(line.substr(0, line.size() - kChainSuffixSize));
  body += '}';
  if (Sha256Hex(head_, body) != chain) {
    return Fail("chain broken (edited, deleted or reordered line)");
  }
  if (header && !named.empty() && named != head_) {
    return Fail("header names " + Short(named) + " as the line before it, which is " +
                Short(head_) + " (chain broken)");
  }
  head_ = std::string(chain);
  ++verified_;
  return true;
}

bool ChainVerifier::CutLine() {
  if (!ok()) return false;
  ++line_;
  return Fail(
      "cut short: no newline at its end (the file was truncated, or its writer crashed "
      "mid-line)");
}

ChainReport VerifyChainFiles(const std::vector<std::string>& files, const std::string& published) {
  ChainReport r;
  ChainVerifier v;
  for (const std::string& path : files) {
    r.file = path;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      r.outcome = ChainReport::Outcome::kUnreadable;
      r.error = std::strerror(errno);
      return r;
    }
    v.BeginFile();
    std::string line;
    while (std::getline(in, line)) {
      if (in.eof()) {  // the last line, without its newline
        v.CutLine();
        break;
      }
      if (!v.Add(line)) break;
      if (!published.empty() && v.head() == published) {
        r.found_file = path;
        r.found_line = v.line();
        r.found_at = v.verified();
      }
    }
    r.verified = v.verified();
    r.head = v.head();
    r.start = v.start();
    if (in.bad()) {
      r.outcome = ChainReport::Outcome::kUnreadable;
      r.error = "read error";
      return r;
    }
    if (!v.ok()) {
      r.outcome = ChainReport::Outcome::kBroken;
      r.error = v.error();
      return r;
    }
    if (v.line() == 0) {
      r.outcome = ChainReport::Outcome::kEmpty;
      return r;
    }
  }
  return r;
}

}  // namespace tw::detector
