#include "stats/series_reader.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <string_view>
#include <system_error>

namespace tw::stats {
namespace {

std::string_view Trim(std::string_view s) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const size_t begin = s.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

// A field without surrounding spaces and without one pair of surrounding double quotes.
std::string_view CleanField(std::string_view s) {
  s = Trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = Trim(s.substr(1, s.size() - 2));
  return s;
}

// The i-th comma-separated field of line (cleaned), or false when the line has fewer fields.
// *count receives the number of fields.
bool Field(std::string_view line, size_t index, std::string_view* field, size_t* count) {
  size_t n = 0;
  bool found = false;
  size_t start = 0;
  while (true) {
    const size_t comma = line.find(',', start);
    const size_t end = comma == std::string_view::npos ? line.size() : comma;
    if (n == index) {
      *field = CleanField(line.substr(start, end - start));
      found = true;
    }
    ++n;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  *count = n;
  return found;
}

enum class Parse { kOk, kNotNumber, kNotFinite };

// Parses a whole field as a decimal floating-point number (optional sign, exponent).
Parse ParseNumber(std::string_view s, double* value) {
  if (s.size() > 1 && s.front() == '+' && s[1] != '-' && s[1] != '+') s.remove_prefix(1);
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, *value);
  if (ptr != end || s.empty()) return Parse::kNotNumber;
  if (ec == std::errc::result_out_of_range || !std::isfinite(*value)) return Parse::kNotFinite;
  if (ec != std::errc()) return Parse::kNotNumber;
  return Parse::kOk;
}

// "nan", "na", "null" in any case.
bool IsMissingToken(std::string_view s) {
  if (s.size() < 2 || s.size() > 4) return false;
  std::string lower(s);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "nan" || lower == "na" || lower == "null";
}

bool Fail(std::string* error, size_t line_no, const std::string& what) {
  if (error != nullptr) *error = "line " + std::to_string(line_no) + ": " + what;
  return false;
}

}  // namespace

bool ReadSeries(std::istream& in, const SeriesReadOptions& opts, std::vector<double>* out,
                std::string* error) {
  // Column selection: whole line, an index, or a header name resolved on the first line.
  const std::string_view column = Trim(opts.column);
  const bool whole_line = column.empty();
  size_t index = 0;
  bool need_header = false;  // column is a header name
  if (!whole_line) {
    const char* end = column.data() + column.size();
    const auto [ptr, ec] = std::from_chars(column.data(), end, index);
    need_header = ec != std::errc() || ptr != end;
  }

  std::vector<double> values;
  std::string line;
  size_t line_no = 0;
  bool first = true;  // no non-comment line seen yet
  while (std::getline(in, line)) {
    ++line_no;
    const std::string_view text = Trim(line);
    if (text.empty() || text.front() == '#') continue;
    const bool is_first = first;
    first = false;

    if (need_header) {  // only ever true on the first non-comment line
      size_t count = 0;
      std::string_view name;
      bool found = false;
      for (size_t i = 0; Field(text, i, &name, &count); ++i) {
        if (name == column) {
          index = i;
          found = true;
          break;
        }
      }
      if (!found) {
        return Fail(error, line_no, "no column named '" + std::string(column) + "' in the header");
      }
      need_header = false;
      continue;
    }

    std::string_view field;
    size_t count = 0;
    if (whole_line) {
      Field(text, 0, &field, &count);
      if (count > 1) {
        return Fail(error, line_no, std::to_string(count) + " fields but no column selected");
      }
    } else if (!Field(text, index, &field, &count)) {
      return Fail(error, line_no,
                  std::to_string(count) + " fields, column " + std::to_string(index) +
                      " (0-based) requested");
    }
    if (opts.allow_missing && (field.empty() || IsMissingToken(field))) {
      values.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    if (field.empty()) return Fail(error, line_no, "empty field");
    double value = 0;
    switch (ParseNumber(field, &value)) {
      case Parse::kOk:
        values.push_back(value);
        break;
      case Parse::kNotFinite:
        return Fail(error, line_no, "not a finite number: '" + std::string(field) + "'");
      case Parse::kNotNumber:
        if (is_first) break;  // a header
        return Fail(error, line_no,
                    "not a number: '" + std::string(field) +
                        "' (a header is allowed only as the first non-comment line)");
    }
  }
  if (in.bad()) return Fail(error, line_no, "read error");
  if (need_header) {
    return Fail(error, line_no, "no header line to find column '" + std::string(column) + "' in");
  }
  out->swap(values);
  return true;
}

}  // namespace tw::stats
