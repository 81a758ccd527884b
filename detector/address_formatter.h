#ifndef THROTTLEWATCH_DETECTOR_ADDRESS_FORMATTER_H_
#define THROTTLEWATCH_DETECTOR_ADDRESS_FORMATTER_H_

#include <functional>
#include <string>

#include "capture/address.h"

namespace tw::detector {

// Turns an address into the text an output shows. Every address a report or export prints goes
// through one of these, so that anonymization (a prefix-preserving mapping) is one substitution.
// Must be callable from the thread that writes the output; may be called many times per address.
using AddressFormatter = std::function<std::string(const capture::Address&)>;

// The address as captured (Address::ToString()).
AddressFormatter PlainAddresses();

// A network through `format`: the formatted network address and the prefix length in the
// family's own bits ("192.0.2.0/24"). Correct for prefix-preserving formatters.
std::string FormatCidr(const capture::Cidr& cidr, const AddressFormatter& format);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_ADDRESS_FORMATTER_H_
