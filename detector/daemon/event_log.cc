#include "detector/daemon/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string_view>

#include "detector/outputs/event_json.h"
#include "util/private_files.h"

namespace tw::detector {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

}  // namespace

Event RestartEnd(const Event& start, double now_s) {
  Event e = start;
  e.state = EventState::kEnd;
  e.ts = now_s;
  e.detected_at = now_s;
  e.duration_s = now_s > start.ts ? now_s - start.ts : 0;
  // Start: before -> after. End: during -> after; nothing is known about "after".
  e.rate_before_bps = start.rate_after_bps;
  e.rate_after_bps = 0;
  e.reason = "restart";
  return e;
}

bool EventLog::ReadComplete(std::string* complete, bool* cut, std::string* error) {
  // The file may be long: it is read once.
  *cut = false;
  struct stat st;
  if (fstat(fd_, &st) != 0) {
    *error = Errno(path_);
    return false;
  }
  std::string& data = *complete;
  data.resize(size_t(st.st_size));
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t n = pread(fd_, data.data() + got, data.size() - got, off_t(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += size_t(n);
  }
  data.resize(got);
  const size_t last_nl = data.rfind('\n');
  const size_t whole = last_nl == std::string::npos ? 0 : last_nl + 1;
  if (whole < data.size()) {
    // A torn last line: it was never acknowledged (Append() returns after the sync), so it is
    // not an emitted event. Cut it so the next line starts clean.
    if (ftruncate(fd_, off_t(whole)) != 0 || fdatasync(fd_) != 0) {
      *error = Errno(path_ + ": cannot cut the torn last line");
      return false;
    }
    *cut = true;
    data.resize(whole);
  }
  return true;
}

namespace {

// The chain value of the last line of `complete` (whole lines), or empty.
std::string LastChain(const std::string& complete) {
  if (complete.size() < 2) return {};
  const size_t begin = complete.rfind('\n', complete.size() - 2);
  const size_t from = begin == std::string::npos ? 0 : begin + 1;
  return std::string(ChainOf(std::string_view(complete).substr(from, complete.size() - 1 - from)));
}

}  // namespace

std::unique_ptr<EventLog> EventLog::Open(const std::string& path, std::string* error) {
  std::unique_ptr<EventLog> log(new EventLog(path));
  if (!log->OpenFd(error)) return nullptr;
  std::string data;
  EventLogRecovery& r = log->recovery_;
  if (!log->ReadComplete(&data, &r.cut_partial_line, error)) return nullptr;
  std::map<uint64_t, Event> open;  // id -> start, in id order
  ChainVerifier chain;
  chain.BeginFile();
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t nl = data.find('\n', pos);
    const std::string line = data.substr(pos, nl - pos);
    pos = nl + 1;
    chain.Add(line);  // stops checking at the first break
    Event e;
    if (!ParseEventLine(line, &e)) continue;
    ++r.lines;
    if (e.id > r.last_id) r.last_id = e.id;
    if (e.state == EventState::kStart) {
      open[e.id] = e;
    } else {
      open.erase(e.id);
    }
  }
  for (auto& [id, e] : open) r.open.push_back(e);
  // New lines continue from the last line as it stands, so a later check still finds a break
  // where it is, not here.
  r.chain_error = chain.error();
  r.chain_head = LastChain(data);
  if (r.chain_head.empty()) r.chain_head = kChainGenesis;
  log->head_ = r.chain_head;
  return log;
}

EventLog::~EventLog() {
  if (fd_ >= 0) close(fd_);
}

bool EventLog::OpenFd(std::string* error) {
  // Never through a symlink, a regular file, only its owner may read it, whatever the umask
  // and however an older version created it.
  fd_ = util::OpenPrivateFd(path_, util::PrivateOpen::kAppendRead, error);
  if (fd_ < 0) return false;
  // Make the file's directory entry durable too (a new file after a crash must still exist).
  const std::string dir = std::filesystem::path(path_).parent_path().string();
  const int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return true;
}

bool EventLog::AppendRecord(std::string_view record, std::string* error) {
  std::string chain;
  const std::string line = SealLine(head_, record, &chain) + "\n";
  const off_t before = lseek(fd_, 0, SEEK_END);
  size_t done = 0;
  bool ok = true;
  while (done < line.size()) {
    const ssize_t n = write(fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = Errno(path_);
      ok = false;
      break;
    }
    done += size_t(n);
  }
  if (ok && fdatasync(fd_) != 0) {
    *error = Errno(path_ + ": sync");
    ok = false;
  }
  if (!ok) {
    // Take back what was written of the line, so the next one starts clean and the chain
    // holds (best effort: a torn line left here is cut at the next Open()).
    if (before >= 0 && done > 0 && ftruncate(fd_, before) == 0) fdatasync(fd_);
    return false;
  }
  head_ = std::move(chain);
  return true;
}

bool EventLog::Reopen(std::string* error) {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  if (!OpenFd(error)) return false;
  std::string data;
  bool cut = false;
  if (!ReadComplete(&data, &cut, error)) return false;
  // A file with lines already (SIGHUP without a rotation): go on from its last line. A new
  // file: from the old file's head, which the header written next names.
  const std::string last = LastChain(data);
  if (!last.empty()) head_ = last;
  return true;
}

bool EventPathIsSafe(const std::string& path, std::string* error) {
  if (geteuid() != 0) return true;
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    *error = Errno(dir.string());
    return false;
  }
  if (st.st_mode & S_IWOTH) {
    *error = "refusing to write events as root into the world-writable directory " + dir.string() +
             " (use a private directory, or drop privileges with --user)";
    return false;
  }
  return true;
}

}  // namespace tw::detector
