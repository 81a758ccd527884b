#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_EVIDENCE_CHAIN_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_EVIDENCE_CHAIN_H_

// Evidence that shows tampering: a hash chain over the lines of an event stream.
//
// Every line of an event stream (the replay's --events output or stdout, the daemon's event
// file) is one JSON object that ends with its chain field:
//
//   {"schema":2,"record":...,"chain":"<64 hex>"}
//   chain_i = SHA-256( chain_{i-1} as 64 lowercase hex characters
//                      || line_i without its newline and without ,"chain":"<64 hex>" )
//
// The first line of a stream is a header record ({"schema":2,"record":"header",...}) that says
// what the events were computed from: the SHA-256 of every input capture (replay), or the
// sensor's host, interface, version and start time (live). A header names the chain value it
// continues in "previous_head": kChainGenesis (64 zeros) for a new chain, the head of the
// previous file after a log rotation, the last line's chain value when the daemon restarts on
// an existing file. So a restart and a rotation continue one chain across files, and a rotated
// file can be checked alone from its first line.
//
// Why this layout:
// - The field is last and fixed in form, so a verifier strips it textually (the last 76 bytes
//   of the line) and recomputes without parsing or re-serialising JSON: the chain does not
//   depend on how the event body is written, and it can be checked with standard tools
//   (SECURITY.md shows how with Python's hashlib).
// - The previous value is hashed as its hex text, the form in which it is written, published
//   and compared.
// - No key: anyone can verify, and nobody can be told a secret that is not there. The price is
//   that whoever controls the file (the sensor's owner, or whoever seizes it) can rewrite the
//   whole chain from the edited line on. What pins it is the head published elsewhere (mailed
//   to a partner, printed in a report): a chain that still contains a published head proves
//   that nothing up to that line changed since it was published. SECURITY.md states exactly
//   what is and is not proven.
//
// SHA-256 comes from OpenSSL's libcrypto.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tw::detector {

inline constexpr std::string_view kChainGenesis =
    "0000000000000000000000000000000000000000000000000000000000000000";
// ,"chain":"<64 hex>"} at the end of every line.
inline constexpr size_t kChainSuffixSize = 76;

// Whether `h` is a chain value: 64 lower-case hex digits.
bool IsChainValue(std::string_view h);

// Lowercase hex SHA-256 of the bytes a || b.
std::string Sha256Hex(std::string_view a, std::string_view b = {});

// `line` (one finished JSON object with at least one field, no newline) with
// ,"chain":"<hex>" inserted before its final '}', where hex chains it to `previous`. *chain
// (when given) receives hex, the new head.
std::string SealLine(std::string_view previous, std::string_view line, std::string* chain);

// The chain value written at the end of `line`, or empty when it has no well-formed chain field.
std::string_view ChainOf(std::string_view line);

// One input of a replay, as its header records it.
struct InputDigest {
  std::string file;    // the base name (the directory may name a person or a case)
  uint64_t bytes = 0;  // bytes hashed
  std::string sha256;  // lowercase hex; empty: not hashed (standard input, or an error)
  std::string note;    // why it was not hashed
};

// SHA-256 of a file, read once sequentially. "-" (standard input), pipes and devices are not
// hashed (they can be read once only, and the replay reads them): `note` says so. An
// unreadable file gets a note with the reason (the replay itself then reports the error).
// `stop` (when given) abandons the work.
InputDigest HashInput(const std::string& path, const std::atomic<bool>* stop = nullptr);

// Hashes the inputs on a thread of its own while the replay reads them (another pass over each
// file: the page cache usually holds it for the replay after, or the replay's read-ahead for
// this one). Get() waits for the result; it may be called from any thread, any number of times.
// The destructor abandons unfinished work.
class InputHasher {
 public:
  explicit InputHasher(std::vector<std::string> paths);
  ~InputHasher();
  InputHasher(const InputHasher&) = delete;
  InputHasher& operator=(const InputHasher&) = delete;
  const std::vector<InputDigest>& Get() const { return result_.get(); }

 private:
  std::unique_ptr<std::atomic<bool>> stop_;
  std::shared_future<std::vector<InputDigest>> result_;
};

// The header of a replay's event stream (no chain field yet: the writer seals it).
std::string ReplayHeader(const std::vector<InputDigest>& inputs, std::string_view version,
                         std::string_view previous_head);

// Who wrote a live event stream.
struct SensorIdentity {
  std::string host;       // gethostname()
  std::string interface;  // the captured interface
  std::string version;
  double started_s = 0;  // epoch seconds the daemon started
  std::string name;      // the sensor's name (--sensor; by default the host name)
};
// This host's identity; an empty `name` is the host name.
SensorIdentity ThisSensor(const std::string& name, const std::string& interface,
                          std::string_view version, double started_s);

// The header the daemon writes when it starts ("start": a new file, or a restart on an
// existing one) and after SIGHUP reopened its file ("reopen": usually a rotated-away file and a
// new one). `now_s`: when it is written.
std::string LiveHeader(const SensorIdentity& sensor, std::string_view reason,
                       std::string_view previous_head, double now_s);

// Checks a chain line by line, over one file or a series of files in order (rotated files:
// oldest first). Not thread-safe.
class ChainVerifier {
 public:
  // Starts a file: line numbers restart at 1. The first line of the first file continues the
  // "previous_head" its header names (genesis if it is not a header); the first line of a
  // later file must continue the head of the file before.
  void BeginFile();
  // One line, without its '\n'. False at the first line that breaks the chain (error() says
  // which and why); nothing is checked after that.
  bool Add(std::string_view line);
  // The file ended in a line without its newline (a cut file, or a writer that crashed
  // mid-line). Always false, with error() set.
  bool CutLine();

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  uint64_t line() const { return line_; }  // lines of the current file seen (incl. a bad one)
  uint64_t verified() const { return verified_; }      // lines verified, over all files
  const std::string& head() const { return head_; }    // chain value of the last verified line
  const std::string& start() const { return start_; }  // what the first line continued

 private:
  bool Fail(std::string why);
  std::string head_;
  std::string start_;
  std::string error_;
  uint64_t line_ = 0;
  uint64_t verified_ = 0;
  uint64_t files_ = 0;
};

// What verifying the chain of one or more files (a rotated series, oldest first) found.
struct ChainReport {
  enum class Outcome {
    kVerified,    // every line of every file verified
    kUnreadable,  // `file` could not be read (`error` says why); nothing is known of the chain
    kBroken,      // `file` breaks the chain at line `line` (`error` says how)
    kEmpty,       // `file` is empty: no header line
  };
  Outcome outcome = Outcome::kVerified;
  std::string file;       // the file the outcome is about (kUnreadable, kBroken, kEmpty)
  std::string error;      // why (kUnreadable, kBroken)
  uint64_t verified = 0;  // lines verified (before the break, for kBroken)
  std::string head;       // the chain value of the last verified line
  std::string start;      // the chain value the first file continues (kChainGenesis: none)
  // When a published head was given: where it was found (empty `found_file`: nowhere).
  std::string found_file;
  uint64_t found_line = 0;  // its line in found_file
  uint64_t found_at = 0;    // lines verified up to and including it
};

// Verifies the chain of `files` in order. `published`: a head published earlier (64 lower-case
// hex digits) to look for, or empty.
ChainReport VerifyChainFiles(const std::vector<std::string>& files, const std::string& published);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_EVIDENCE_CHAIN_H_
