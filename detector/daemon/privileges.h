#ifndef THROTTLEWATCH_DETECTOR_DAEMON_PRIVILEGES_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_PRIVILEGES_H_

#include <string>

namespace tw::detector {

// Gives up the privileges the capture needed, for good: called once the capture is open, since
// an open capture handle keeps working without them.
//
// - Started as root: switches the whole process to `user` (its uid, primary gid, no
//   supplementary groups), which needs CAP_SETUID and CAP_SETGID, and checks that root cannot
//   be regained. `user` "root" (--user root) keeps root and every capability.
// - Started as another user (systemd's User=/DynamicUser= with AmbientCapabilities=CAP_NET_RAW,
//   or a container's USER with the file capability cap_net_raw+ep): nothing to switch; clears
//   the capabilities it holds (permitted, effective, inheritable, ambient), so that code run
//   through a bug in the packet parsers cannot open new raw sockets. (The capture handles
//   already open stay usable: that limit is the kernel's.) Needs no capability.
//
// Either way it then sets no_new_privs (no set-user-ID or file-capability program run later
// could give anything back) and turns core dumps off. False (*error says why) on failure: the
// caller must not go on.
[[nodiscard]] bool DropPrivileges(const std::string& user, std::string* error);

// The process's permitted capability set, as the kernel's 64-bit mask (0: none). For checks.
unsigned long long PermittedCapabilities();

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_PRIVILEGES_H_
