#include "detector/daemon/privileges.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

namespace tw::detector {
namespace {

// DropPrivileges changes the whole process for good (uid, capabilities, no_new_privs), so every
// case runs in a child; the child returns 0 when all its checks hold, else the failing check's
// number (and says why on stderr).
int InChild(const std::function<int()>& body) {
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

int Fail(int n, const std::string& why) {
  std::fprintf(stderr, "check %d: %s\n", n, why.c_str());
  return n;
}

bool SetCaps(unsigned long long permitted, unsigned long long effective) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].permitted = uint32_t(permitted);
  data[1].permitted = uint32_t(permitted >> 32);
  data[0].effective = uint32_t(effective);
  data[1].effective = uint32_t(effective >> 32);
  return syscall(SYS_capset, &header, data) == 0;
}

constexpr unsigned long long Bit(int cap) { return 1ULL << cap; }

// Root with the capabilities this test needs to build the other starting points.
void SkipUnlessRoot() {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to set up the starting privileges";
  const unsigned long long need = Bit(CAP_SETUID) | Bit(CAP_SETGID) | Bit(CAP_NET_RAW);
  if ((PermittedCapabilities() & need) != need) {
    GTEST_SKIP() << "root here lacks CAP_SETUID, CAP_SETGID or CAP_NET_RAW";
  }
  if (getpwnam("nobody") == nullptr) GTEST_SKIP() << "no user 'nobody' on this system";
}

int PacketSocket() { return socket(AF_PACKET, SOCK_RAW, 0); }  // protocol 0: receives nothing

TEST(DropPrivilegesTest, NonRootStartWithNetRawGivesItUp) {
  SkipUnlessRoot();
  const uid_t nobody = getpwnam("nobody")->pw_uid;
  EXPECT_EQ(InChild([nobody] {
              // Become what systemd's AmbientCapabilities or a file capability make: a user
              // that holds CAP_NET_RAW only.
              if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0 || setgroups(0, nullptr) != 0 ||
                  setgid(nobody) != 0 || setuid(nobody) != 0 ||
                  !SetCaps(Bit(CAP_NET_RAW), Bit(CAP_NET_RAW))) {
                return Fail(1, std::string("setup: ") + std::strerror(errno));
              }
              const int capture = PacketSocket();
              if (capture < 0) return Fail(2, std::string("socket: ") + std::strerror(errno));
              std::string error;
              if (!DropPrivileges("nobody", &error)) return Fail(3, error);
              if (geteuid() != nobody) return Fail(4, "the user changed");
              if (PermittedCapabilities() != 0) return Fail(5, "capabilities left");
              if (PacketSocket() >= 0 || errno != EPERM) return Fail(6, "can still open a capture");
              if (fcntl(capture, F_GETFD) < 0) return Fail(7, "the open capture handle is gone");
              if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return Fail(8, "no_new_privs off");
              if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return Fail(9, "dumpable");
              return 0;
            }),
            0);
}

TEST(DropPrivilegesTest, RootSwitchesToTheUserAndCannotComeBack) {
  SkipUnlessRoot();
  const passwd* pw = getpwnam("nobody");
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  EXPECT_EQ(InChild([uid, gid] {
              const int capture = PacketSocket();
              if (capture < 0) return Fail(1, std::string("socket: ") + std::strerror(errno));
              std::string error;
              if (!DropPrivileges("nobody", &error)) return Fail(2, error);
              if (getuid() != uid || geteuid() != uid || getgid() != gid) return Fail(3, "ids");
              if (getgroups(0, nullptr) != 0) return Fail(4, "supplementary groups left");
              if (PermittedCapabilities() != 0) return Fail(5, "capabilities left");
              if (setuid(0) == 0) return Fail(6, "root regained");
              if (PacketSocket() >= 0) return Fail(7, "can still open a capture");
              if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return Fail(8, "no_new_privs off");
              return 0;
            }),
            0);
}

TEST(DropPrivilegesTest, RootWithoutSetuidRefusesToGoOnAsRoot) {
  SkipUnlessRoot();
  // Root in a container started with --cap-drop ALL --cap-add NET_RAW.
  EXPECT_EQ(InChild([] {
              if (!SetCaps(Bit(CAP_NET_RAW), Bit(CAP_NET_RAW))) return Fail(1, "setup");
              std::string error;
              if (DropPrivileges("nobody", &error)) return Fail(2, "went on");
              if (error.find("CAP_SETUID") == std::string::npos) return Fail(3, error);
              return 0;
            }),
            0);
}

TEST(DropPrivilegesTest, RootRefusesAnUnknownUser) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (as another user the name is not looked up)";
  EXPECT_EQ(InChild([] {
              std::string error;
              if (DropPrivileges("tw-no-such-user", &error)) return Fail(1, "went on");
              if (error.find("no such user 'tw-no-such-user'") == std::string::npos) {
                return Fail(2, error);
              }
              return 0;
            }),
            0);
}

TEST(DropPrivilegesTest, UnprivilegedStartJustSucceeds) {
  const int rc = InChild([] {
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("nobody");
      if (pw == nullptr || setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 ||
          setuid(pw->pw_uid) != 0) {
        return 77;  // cannot set up: reported as a skip below
      }
    }
    std::string error;
    if (!DropPrivileges("nobody", &error)) return Fail(1, error);
    if (PermittedCapabilities() != 0) return Fail(2, "capabilities");
    return 0;
  });
  if (rc == 77) GTEST_SKIP() << "root here cannot switch to 'nobody' to start unprivileged";
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace tw::detector
