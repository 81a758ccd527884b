#include "capture/http_host.h"

#include <algorithm>

namespace tw::capture {

namespace {

constexpr std::string_view kMethods[] = {"GET ", "HEAD ", "POST "};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool MayBeHttpRequest(const uint8_t* data, size_t len) {
  if (data == nullptr || len < 4) return false;
  const std::string_view s(reinterpret_cast<const char*>(data), 4);
  return s == "GET " || s == "HEAD" || s == "POST";
}

bool ParseHttpHost(const uint8_t* data, size_t len, std::string_view* host) {
  if (data == nullptr) return false;
  std::string_view rest(reinterpret_cast<const char*>(data), len);
  // The request line: METHOD SP target SP HTTP/1.x CRLF.
  if (std::none_of(std::begin(kMethods), std::end(kMethods),
                   [&](std::string_view m) { return StartsWith(rest, m); })) {
    return false;
  }
  size_t eol = rest.find("\r\n");
  if (eol == std::string_view::npos) return false;
  const std::string_view line = rest.substr(0, eol);
  const size_t version = line.rfind(' ');
  if (version == std::string_view::npos || !StartsWith(line.substr(version + 1), "HTTP/1.")) {
    return false;
  }
  rest.remove_prefix(eol + 2);
  // Header lines, to the blank line (or as far as the capture kept whole lines).
  while ((eol = rest.find("\r\n")) != std::string_view::npos && eol > 0) {
    const std::string_view field = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || !IEquals(field.substr(0, colon), "host")) continue;
    std::string_view value = Trim(field.substr(colon + 1));
    if (value.empty() || value.front() == '[') return false;  // empty, or an IPv6 literal
    value = value.substr(0, value.find(':'));                 // the port
    // A name is visible ASCII: a space, a control character (a lone CR) or a byte above 0x7e
    // inside is no name.
    const bool visible =
        std::all_of(value.begin(), value.end(), [](char c) { return c > ' ' && c < 0x7f; });
    if (value.empty() || !visible) return false;
    *host = value;
    return true;
  }
  return false;
}

}  // namespace tw::capture
