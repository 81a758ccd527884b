#include "detector/app/config_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace tw::detector {

namespace {

std::string_view Trim(std::string_view s) {
  const size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  const size_t end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

bool ValidName(std::string_view name) {
  return !name.empty() && name.front() != '-' && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// One non-blank, non-comment line into *option. False with *why when it is malformed.
bool ParseLine(std::string_view line, ConfigOption* option, std::string* why) {
  const size_t eq = line.find('=');
  const std::string_view name = Trim(line.substr(0, eq));
  if (!ValidName(name)) {
    *why = name.starts_with("-") ? "options are written without dashes: '" + std::string(line) + "'"
                                 : "not 'name = value' or 'name': '" + std::string(line) + "'";
    return false;
  }
  option->args.push_back((name.size() == 1 ? "-" : "--") + std::string(name));
  if (eq == std::string_view::npos) return true;
  const std::string_view value = Trim(line.substr(eq + 1));
  if (value.empty()) {
    *why = "'" + std::string(name) + " =' needs a value";
    return false;
  }
  option->args.emplace_back(value);
  return true;
}

}  // namespace

bool ParseConfig(std::string_view text, const std::string& name, std::vector<ConfigOption>* out,
                 std::string* error) {
  size_t number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    const std::string_view line = Trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++number;
    if (line.empty() || line.front() == '#') continue;
    ConfigOption option{{}, name + ":" + std::to_string(number)};
    std::string why;
    if (!ParseLine(line, &option, &why)) {
      *error = option.where + ": " + why;
      return false;
    }
    out->push_back(std::move(option));
  }
  return true;
}

bool ReadConfigFile(const std::string& path, std::vector<ConfigOption>* out, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();  // an empty file sets text's failbit, and is fine
  if (!in || in.bad()) {
    *error = "cannot read the configuration file " + path + ": " + std::strerror(errno);
    return false;
  }
  return ParseConfig(text.str(), path, out, error);
}

}  // namespace tw::detector
