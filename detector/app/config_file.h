#ifndef THROTTLEWATCH_DETECTOR_APP_CONFIG_FILE_H_
#define THROTTLEWATCH_DETECTOR_APP_CONFIG_FILE_H_
// A configuration file: the options of the command line, one a line, read before the command
// line's own (which therefore win).
//
//   # a comment (whole lines only; values may hold '#')
//   interface = eth0        ->  --interface eth0
//   promisc                 ->  --promisc
//   probe = dns:example.org ->  --probe dns:example.org
//
// Names are written without dashes; a one-letter name stands for its short option ("i = eth0"
// is "-i eth0"). Blank lines are skipped; spaces around the name and the value are dropped.
// The file only turns lines into arguments: which options exist and what values they take is
// for the command's parser to say, naming the line (where) of each argument.

#include <string>
#include <string_view>
#include <vector>

namespace tw::detector {

// One line's option: its arguments as the command line would give them ("--name" and, when
// the line has one, the value) and where it stood ("FILE:LINE").
struct ConfigOption {
  std::vector<std::string> args;
  std::string where;
};

// Turns `text`, the content of the file named `name`, into its options. False at the first
// malformed line (a name with dashes or characters other than a-z, 0-9 and '-', "name =" without
// a value), with *error "NAME:LINE: why".
bool ParseConfig(std::string_view text, const std::string& name, std::vector<ConfigOption>* out,
                 std::string* error);

// Reads the file at `path` and parses it. False when it cannot be read (*error names the path
// and the reason) or a line is malformed.
bool ReadConfigFile(const std::string& path, std::vector<ConfigOption>* out, std::string* error);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_APP_CONFIG_FILE_H_
