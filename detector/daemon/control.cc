#include "detector/daemon/control.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "detector/outputs/event_json.h"
#include "util/private_files.h"
#include "util/utc_time.h"

namespace tw::detector {

Control::Control(EventLog* log, Metrics* metrics, std::FILE* diag, SensorIdentity sensor)
    : log_(log),
      metrics_(metrics),
      diag_(diag),
      sensor_(std::move(sensor)),
      origin_{sensor_.name, sensor_.interface},
      stdout_writer_(stdout) {
  if (log_ == nullptr) {
    // Events on stdout: the stream starts with the header that the event file got already.
    stdout_writer_.WriteRecord(
        LiveHeader(sensor_, "start", stdout_writer_.head(), double(util::WallClockNs()) * 1e-9));
  }
  SetHead();
}

void Control::WriteEvent(const Event& e, const std::string& service) {
  bool ok = true;
  std::string error;
  if (log_ != nullptr) {
    ok = log_->Append(e, &error, &origin_);
  } else {
    stdout_writer_.WriteRecord(EventToJson(e, {}, &origin_));
    ok = !stdout_writer_.failed();
    if (!ok) error = "cannot write events to stdout";
  }
  if (ok) {
    SetHead();
    if (metrics_ != nullptr) metrics_->OnEventWritten(e, service);
    return;
  }
  if (metrics_ != nullptr) metrics_->OnEventWriteFailed();
  if (diag_ != nullptr)
    std::fprintf(diag_, "throttlewatch: event %llu lost: %s\n",
                 static_cast<unsigned long long>(e.id), error.c_str());
}

std::string Control::chain_head() const {
  std::lock_guard<std::mutex> lock(head_mu_);
  return head_;
}

void Control::WriteReport(const std::string& path, const std::string& html) {
  std::string error;
  const std::string tmp = path + ".tmp";
  std::FILE* f = util::OpenPrivateFile(tmp, &error);
  bool ok = f != nullptr;
  if (ok) {
    ok = std::fwrite(html.data(), 1, html.size(), f) == html.size() && std::fflush(f) == 0 &&
         fsync(fileno(f)) == 0;
    if (!ok) error = tmp + ": " + std::strerror(errno);
    ok = (std::fclose(f) == 0) && ok;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    error = "cannot rename " + tmp + " to " + path + ": " + std::strerror(errno);
  }
  if (!ok) {
    std::remove(tmp.c_str());
    if (diag_ != nullptr && !report_failed_) {
      std::fprintf(diag_, "throttlewatch: report not written: %s\n", error.c_str());
    }
  } else if (report_failed_ && diag_ != nullptr) {
    std::fprintf(diag_, "throttlewatch: report written again to %s\n", path.c_str());
  }
  report_failed_ = !ok;  // say it once per failure streak, not every few minutes
}

void Control::Reopen() {
  if (log_ == nullptr) return;
  std::string error;
  // The new file starts with a header that names the old file's head: one chain across both.
  if (!log_->Reopen(&error) || !log_->AppendRecord(LiveHeader(sensor_, "reopen", log_->head(),
                                                              double(util::WallClockNs()) * 1e-9),
                                                   &error)) {
    if (diag_ != nullptr) std::fprintf(diag_, "throttlewatch: SIGHUP: %s\n", error.c_str());
  } else if (diag_ != nullptr) {
    std::fprintf(diag_, "throttlewatch: SIGHUP: reopened %s\n", log_->path().c_str());
  }
  SetHead();
}

void Control::SetHead() {
  std::lock_guard<std::mutex> lock(head_mu_);
  head_ = log_ != nullptr ? log_->head() : stdout_writer_.head();
}

}  // namespace tw::detector
