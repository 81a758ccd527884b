#ifndef THROTTLEWATCH_DETECTOR_APP_HELP_H_
#define THROTTLEWATCH_DETECTOR_APP_HELP_H_
// The help texts: one per command, and the whole usage made of them. The one source of what
// `--help` prints and of the man page, throttlewatch(1), which the build makes from `--help`
// (help2man), so the two cannot drift.

#include <string>
#include <string_view>

namespace tw::detector {

// The help of one command ("replay", "demo", "live", "changepoints", "verify"): its usage line,
// its options and the exit status. Empty for a name that is not a command.
std::string CommandHelp(std::string_view command);

// `throttlewatch --help`: the commands, then every command's options, then the exit status.
std::string FullHelp();

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_HELP_H_
