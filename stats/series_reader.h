#ifndef THROTTLEWATCH_STATS_SERIES_READER_H_
#define THROTTLEWATCH_STATS_SERIES_READER_H_

#include <istream>
#include <string>
#include <vector>

namespace tw::stats {

// Reads a numeric series: one number per line, or CSV where `column` (0-based, or a header
// name) selects the field. Blank lines and lines starting with '#' are skipped; a first line
// whose selected field is not numeric is taken as a header. Any other non-numeric field is an
// error, as is an empty selected field or a non-finite number ("nan", "inf", overflow).
// Numbers are decimal, optionally signed, with an optional exponent ("1e3", "-2.5", "+4");
// fields are trimmed and may be wrapped in double quotes (no commas inside quotes); CRLF line
// ends are accepted. On success replaces *out and returns true. On failure returns false, leaves
// *out untouched, and sets *error (if not null) to "line N: <what>", N counting from 1.
// With allow_missing, an empty selected field, "nan", "na" or "null" (any case) is a missing
// value and is stored as NaN instead of being an error; "inf" and overflow stay errors.
struct SeriesReadOptions {
  std::string column;  // "" = whole line (or the only field); digits = index; else header name
  bool allow_missing = false;
};
bool ReadSeries(std::istream& in, const SeriesReadOptions& opts, std::vector<double>* out,
                std::string* error);

}  // namespace tw::stats

#endif  // THROTTLEWATCH_STATS_SERIES_READER_H_
