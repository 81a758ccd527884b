#ifndef THROTTLEWATCH_DETECTOR_APP_VERIFY_COMMAND_H_
#define THROTTLEWATCH_DETECTOR_APP_VERIFY_COMMAND_H_

#include <cstdio>
#include <string>
#include <vector>

#include "detector/app/exit_code.h"

namespace tw::detector {

// `throttlewatch verify [--head HEX] FILE...`: verifies the chain of FILE (several: a rotated
// series, oldest first). Prints "ok: N lines, head H" to `out` and returns kOk; on a break
// prints "FILE: line K: ..." and returns kChainBroken; kRuntimeError when a file cannot be read
// (to `err`), kUsageError on a usage error. --head HEX: a head published earlier must be one
// of the chain's values (else the chain lost or changed lines since: kChainBroken); lines
// written after it are counted.
ExitCode RunVerify(const std::vector<std::string>& args, std::FILE* out, std::FILE* err);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_VERIFY_COMMAND_H_
