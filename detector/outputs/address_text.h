#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_ADDRESS_TEXT_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_ADDRESS_TEXT_H_

#include <functional>
#include <string>

#include "capture/address.h"

namespace tw::detector {

// Turns an address into the text an output shows. Every address a report or export prints goes
// through one of these, so that anonymization is one substitution: the command line passes a
// capture::AddressFormatter (plain, or Crypto-PAn with --anonymize) through it; tests pass
// their own.
// Must be callable from the thread that writes the output; may be called many times per address.
using AddressText = std::function<std::string(const capture::Address&)>;

// The address as captured (Address::ToString()).
AddressText PlainAddresses();

// A network through `format`: the formatted network address and the prefix length in the
// family's own bits ("192.0.2.0/24"), host bits cleared. Correct for prefix-preserving
// formatters (their image of a network's address has pseudo-random host bits).
std::string FormatCidr(const capture::Cidr& cidr, const AddressText& format);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_ADDRESS_TEXT_H_
