#include "detector/address_text.h"

namespace tw::detector {

AddressText PlainAddresses() {
  return [](const capture::Address& a) { return a.ToString(); };
}

std::string FormatCidr(const capture::Cidr& cidr, const AddressText& format) {
  const int len = cidr.network.IsV4() ? cidr.prefix_len - 96 : cidr.prefix_len;
  return format(cidr.network) + "/" + std::to_string(len);
}

}  // namespace tw::detector
