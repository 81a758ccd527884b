#include "detector/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tw::detector {

bool DropPrivileges(const std::string& user, std::string* error) {
  if (geteuid() != 0) return true;
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
    *error = std::string("cannot drop privileges to '") + user + "': " + std::strerror(errno);
    return false;
  }
  if (setuid(0) == 0 || geteuid() == 0) {
    *error = "privileges could be regained after dropping them; refusing to go on";
    return false;
  }
  // Core dumps of a process that saw packet headers stay off.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  return true;
}

}  // namespace tw::detector
