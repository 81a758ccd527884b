#ifndef THROTTLEWATCH_DETECTOR_APP_CLI_H_
#define THROTTLEWATCH_DETECTOR_APP_CLI_H_

namespace tw::detector {

// The `throttlewatch` command line: parses argv, runs the subcommand, returns the exit code
// (exit_code.h). Results go to stdout, progress and diagnostics to
// stderr.
int RunCli(int argc, char** argv);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_CLI_H_
