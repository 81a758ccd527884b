#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_JSON_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

namespace tw::detector {

// The one way throttlewatch writes and reads JSON: nlohmann::json (Debian's
// nlohmann-json3-dev), with keys kept in the order they are set so that every line of a given
// record type reads the same. Every string value goes through the library's escaping, so a
// name chosen by whoever controls the link can never end a string, add a field or carry a raw
// control byte into an event, a flow line or the event file read back on restart.
using Json = nlohmann::ordered_json;

// `v` rounded to `decimals` places, as a JSON number: an integer for 0 decimals, else the
// shortest decimal that reads back as the rounded value ("0.95", "1764363991.123"). Not a
// number or infinite: 0, as JSON has no such numbers.
Json Rounded(double v, int decimals);

// One JSON line (no newline): compact, ASCII only (every other character as \uXXXX), bytes
// that are not UTF-8 replaced by U+FFFD instead of failing.
std::string DumpLine(const Json& j);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_JSON_H_
