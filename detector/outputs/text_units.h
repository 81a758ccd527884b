#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_TEXT_UNITS_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_TEXT_UNITS_H_

#include <string>
#include <string_view>

#include "capture/bins.h"
#include "detector/outputs/address_text.h"
#include "detector/outputs/series_recorder.h"

namespace tw::detector {

// The small pieces of text the report and the series CSV are made of.

// One number through a printf format (e.g. "%.1f"); a value that is not finite prints as 0.
std::string Fmt(const char* fmt, double v);
// Text for HTML: & < > " ' as character references.
std::string Esc(std::string_view s);
// A duration in the largest fitting units: "12.5 s", "3 min 07 s", "2 h 05 min", "3 d 04 h".
std::string Duration(double seconds);
// Human units: "850 bit/s", "251 kbit/s", "1.05 Mbit/s", "2.40 Gbit/s".
std::string HumanRate(double bps);
// Human sizes: "512 B", "4.2 kB", "17.3 MB", "1.20 GB" (decimal units).
std::string HumanBytes(double bytes);

// "192.0.2.1:443" ("[2001:db8::1]:443"; the address alone for port 0), the address through `f`.
std::string EndpointLabel(const capture::Address& a, uint16_t port, const AddressText& f);
// "tcp 10.0.0.2:2002 <-> 192.0.2.1:443" (IPv6 addresses in brackets), addresses through `f`.
std::string FlowLabel(const capture::FlowInfo& info, const AddressText& f);
// "tcp 192.0.2.1:443", the address through `f`.
std::string ServerEndLabel(const ServerEnd& k, const AddressText& f);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_TEXT_UNITS_H_
