#include "detector/outputs/address_text.h"

namespace tw::detector {

AddressText PlainAddresses() {
  return [](const capture::Address& a) { return a.ToString(); };
}

std::string FormatCidr(const capture::Cidr& cidr, const AddressText& format) {
  const int len = cidr.network.IsV4() ? cidr.prefix_len - 96 : cidr.prefix_len;
  const std::string text = format(cidr.network) + "/" + std::to_string(len);
  // An anonymizer maps the network's zero host bits to pseudo-random ones: clear them again.
  const auto parsed = capture::Cidr::Parse(text);
  return parsed ? parsed->ToString() : text;
}

}  // namespace tw::detector
