#ifndef THROTTLEWATCH_DETECTOR_PRIVILEGES_H_
#define THROTTLEWATCH_DETECTOR_PRIVILEGES_H_

#include <string>

namespace tw::detector {

// Switches the whole process to `user` (its uid, primary gid, and no supplementary groups) for
// good: called after the capture is open, since an open capture handle keeps working. Checks
// that root cannot be regained. A no-op returning true when not running as root (e.g. under
// systemd with DynamicUser and CAP_NET_RAW). False (*error says why) on failure: the caller must
// not go on as root.
[[nodiscard]] bool DropPrivileges(const std::string& user, std::string* error);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_PRIVILEGES_H_
