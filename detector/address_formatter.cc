#include "detector/address_formatter.h"

namespace tw::detector {

AddressFormatter PlainAddresses() {
  return [](const capture::Address& a) { return a.ToString(); };
}

std::string FormatCidr(const capture::Cidr& cidr, const AddressFormatter& format) {
  const int len = cidr.network.IsV4() ? cidr.prefix_len - 96 : cidr.prefix_len;
  return format(cidr.network) + "/" + std::to_string(len);
}

}  // namespace tw::detector
