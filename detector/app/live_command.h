#ifndef THROTTLEWATCH_DETECTOR_APP_LIVE_COMMAND_H_
#define THROTTLEWATCH_DETECTOR_APP_LIVE_COMMAND_H_

#include <string>
#include <vector>

#include "detector/app/exit_code.h"

namespace tw::detector {

// `throttlewatch live [options] [BPF filter]`: the daemon, until SIGINT/SIGTERM or --run-for.
// The options of the files named by --config (config_file.h) come first, in order, then the
// command line's: a later value of an option replaces an earlier one (repeatable ones, --probe,
// add up). Errors in a file name its line.
ExitCode Live(const std::vector<std::string>& args);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_LIVE_COMMAND_H_
