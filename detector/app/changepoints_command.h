#ifndef THROTTLEWATCH_DETECTOR_APP_CHANGEPOINTS_COMMAND_H_
#define THROTTLEWATCH_DETECTOR_APP_CHANGEPOINTS_COMMAND_H_

#include <string>
#include <vector>

#include "detector/app/exit_code.h"

namespace tw::detector {

// `throttlewatch changepoints [options] FILE`: the change points of a numeric series (one value
// per line, or a CSV column) as a JSON array of the indices where a new segment starts.
ExitCode Changepoints(const std::vector<std::string>& args);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_CHANGEPOINTS_COMMAND_H_
