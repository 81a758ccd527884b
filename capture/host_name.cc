#include "capture/host_name.h"

namespace tw::capture {

namespace {

constexpr size_t kMaxName = 253, kMaxLabel = 63;

bool IsLabelChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool IsValidLabel(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabel) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  for (char c : label) {
    if (!IsLabelChar(c)) return false;
  }
  return true;
}

bool AllDigits(std::string_view label) {
  for (char c : label) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string CanonicalHostName(std::string_view raw) {
  if (!raw.empty() && raw.back() == '.') raw.remove_suffix(1);
  if (raw.empty() || raw.size() > kMaxName) return {};
  std::string_view last;
  for (std::string_view rest = raw;;) {
    const size_t dot = rest.find('.');
    last = rest.substr(0, dot);
    if (!IsValidLabel(last)) return {};
    if (dot == std::string_view::npos) break;
    rest.remove_prefix(dot + 1);
  }
  if (AllDigits(last)) return {};
  std::string out(raw);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  }
  return out;
}

}  // namespace tw::capture
