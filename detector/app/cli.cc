#include "detector/app/cli.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "detector/app/changepoints_command.h"
#include "detector/app/exit_code.h"
#include "detector/app/help.h"
#include "detector/app/live_command.h"
#include "detector/app/options.h"
#include "detector/app/replay_command.h"
#include "detector/app/verify_command.h"

#ifndef TW_VERSION
#define TW_VERSION "dev"
#endif

namespace tw::detector {

namespace {

ExitCode Dispatch(int argc, char** argv) {
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (args.empty()) return Replay({}, /*demo=*/true);
  const std::string cmd = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(FullHelp().c_str(), stdout);
    return ExitCode::kOk;
  }
  // 'throttlewatch replay --help' and the like, wherever --help stands: that command's help.
  const bool asks_help = std::any_of(
      rest.begin(), rest.end(), [](const std::string& a) { return a == "--help" || a == "-h"; });
  if (asks_help && !CommandHelp(cmd).empty()) {
    std::fputs(CommandHelp(cmd).c_str(), stdout);
    return ExitCode::kOk;
  }
  if (cmd == "replay") return Replay(rest, false);
  if (cmd == "demo") return Replay(rest, true);
  if (cmd == "changepoints") return Changepoints(rest);
  if (cmd == "live") return Live(rest);
  if (cmd == "verify") return RunVerify(rest, stdout, stderr);
  if (cmd == "version" || cmd == "--version") {
    std::printf("throttlewatch %s\n", TW_VERSION);
    return ExitCode::kOk;
  }
  if (cmd == "-r") return Replay(args, false);
  return Usage("unknown command '" + cmd + "'");
}

}  // namespace

int RunCli(int argc, char** argv) { return ToInt(Dispatch(argc, argv)); }

}  // namespace tw::detector
