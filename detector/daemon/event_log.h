#ifndef THROTTLEWATCH_DETECTOR_DAEMON_EVENT_LOG_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_EVENT_LOG_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detector/core/event.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/evidence_chain.h"

namespace tw::detector {

// What was in an event file when it was opened.
struct EventLogRecovery {
  uint64_t lines = 0;             // complete events found
  uint64_t last_id = 0;           // highest id found (0 = none)
  bool cut_partial_line = false;  // a last line without its newline (a crash mid-write) was cut
  std::vector<Event> open;        // starts without an end, in file order (kind, scope,
                                  // direction, flow, ts and id are filled in)
  std::string chain_head;         // chain value of the last line (kChainGenesis: none)
  std::string chain_error;        // "line K: why" when the file's chain does not verify
};

// The daemon's append-only JSON-lines event file. Append() returns only once the line is on
// disk (write + fdatasync), so an event counted anywhere else is never lost by a crash. Opening
// an existing file recovers its state: ids continue after the highest one, and a torn last line
// is cut off (it was never acknowledged). Every line carries its chain field
// (evidence_chain.h): the chain continues from the file's last line, and across Reopen() from
// the old file's head; Open() verifies the chain already in the file (recovery().chain_error).
// Not thread-safe: one thread (the daemon's control thread) owns it.
class EventLog {
 public:
  // Opens or creates `path` for appending and reads what is already there. nullptr on failure
  // (*error names the file and the reason).
  static std::unique_ptr<EventLog> Open(const std::string& path, std::string* error);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  const EventLogRecovery& recovery() const { return recovery_; }

  // Writes the event as one line (naming `origin` when given) and syncs it to disk. False on
  // failure (disk full, I/O error); what was written of the line is then cut off again, and the
  // chain does not advance.
  [[nodiscard]] bool Append(const Event& e, std::string* error,
                            const EventOrigin* origin = nullptr) {
    return AppendRecord(EventToJson(e, {}, origin), error);
  }
  // The same for any record (a header): one JSON object, no newline. The one place where a
  // line of the file is sealed and written.
  [[nodiscard]] bool AppendRecord(std::string_view record, std::string* error);
  // Closes and reopens the path (log rotation: the old file was renamed). Ids go on. The chain
  // continues from the last line of the reopened file, or, when that is empty (a new file),
  // from the old file's head: write a header (LiveHeader) naming head() right after.
  [[nodiscard]] bool Reopen(std::string* error);

  // The chain value of the last line written or found.
  const std::string& head() const { return head_; }
  const std::string& path() const { return path_; }

 private:
  explicit EventLog(std::string path) : path_(std::move(path)) {}
  [[nodiscard]] bool OpenFd(std::string* error);
  // Reads the file's complete lines into *complete, cutting a torn last line off the file.
  [[nodiscard]] bool ReadComplete(std::string* complete, bool* cut, std::string* error);

  std::string path_;
  int fd_ = -1;
  EventLogRecovery recovery_;
  std::string head_{kChainGenesis};
};

// The end event that closes `start` when the daemon comes back after a stop or a crash: the
// daemon cannot know what happened while it was not watching, so open throttles and outages
// are ended with reason "restart" at `now_s` (an upper bound of their end).
Event RestartEnd(const Event& start, double now_s);

// Refuses (false, *error says why) to let a process running as root write events at `path`
// when its directory is writable by everyone: another user could plant a symlink there and
// have root overwrite any file. A sticky world-writable directory (/tmp) is refused too.
bool EventPathIsSafe(const std::string& path, std::string* error);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_EVENT_LOG_H_
