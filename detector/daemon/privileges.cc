#include "detector/daemon/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tw::detector {

namespace {

// capget/capset without libcap: two 32-bit words per set (version 3).
bool GetCaps(__user_cap_data_struct (&data)[2]) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  return ::syscall(SYS_capget, &header, data) == 0;
}

// Empties this process's permitted, effective and inheritable sets (and so the ambient one).
// Lowering one's own capabilities needs no privilege.
bool ClearCapabilities(std::string* error) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  if (::syscall(SYS_capset, &header, none) != 0) {
    *error = std::string("cannot give up capabilities: ") + std::strerror(errno);
    return false;
  }
  // Already empty with the permitted set; said explicitly (EINVAL before Linux 4.3: none then).
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (PermittedCapabilities() != 0) {
    *error = "capabilities are still held after giving them up; refusing to go on";
    return false;
  }
  return true;
}

}  // namespace

unsigned long long PermittedCapabilities() {
  __user_cap_data_struct data[2] = {};
  if (!GetCaps(data)) return ~0ULL;  // unknown: assume the worst
  return (static_cast<unsigned long long>(data[1].permitted) << 32) | data[0].permitted;
}

bool DropPrivileges(const std::string& user, std::string* error) {
  if (geteuid() == 0) {
    errno = 0;
    const passwd* pw = getpwnam(user.c_str());
    if (pw == nullptr) {
      *error = "no such user '" + user + "' to drop privileges to (see --user)";
      return false;
    }
    const uid_t uid = pw->pw_uid;
    const gid_t gid = pw->pw_gid;
    if (uid == 0) return true;  // --user root: asked to keep root
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
      const int e = errno;
      *error = std::string("cannot drop privileges to '") + user + "': " + std::strerror(e);
      if (e == EPERM) {
        *error +=
            " (root without CAP_SETUID/CAP_SETGID, e.g. a container with --cap-drop ALL: run it"
            " as an unprivileged user that holds CAP_NET_RAW instead, as the image's USER does)";
      }
      return false;
    }
    if (setuid(0) == 0 || geteuid() == 0) {
      *error = "privileges could be regained after dropping them; refusing to go on";
      return false;
    }
  }
  // Leaving root cleared the capabilities; a non-root start may still hold CAP_NET_RAW.
  if (!ClearCapabilities(error)) return false;
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    *error = std::string("cannot set no_new_privs: ") + std::strerror(errno);
    return false;
  }
  // Core dumps of a process that saw packet headers stay off.
  ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return true;
}

}  // namespace tw::detector
