#ifndef THROTTLEWATCH_DETECTOR_APP_REPLAY_COMMAND_H_
#define THROTTLEWATCH_DETECTOR_APP_REPLAY_COMMAND_H_

#include <string>
#include <vector>

#include "detector/app/exit_code.h"

namespace tw::detector {

// `throttlewatch replay [options] FILE... [BPF filter]` (and `demo`: the bundled capture when no
// file is given). Writes the events (stdout or --events), and --flows, --report, --series;
// prints progress and the summary on stderr.
ExitCode Replay(const std::vector<std::string>& args, bool demo);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_REPLAY_COMMAND_H_
