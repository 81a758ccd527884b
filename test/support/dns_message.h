#ifndef THROTTLEWATCH_TEST_SUPPORT_DNS_MESSAGE_H_
#define THROTTLEWATCH_TEST_SUPPORT_DNS_MESSAGE_H_

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/address.h"

namespace tw::testing {

inline constexpr uint16_t kDnsA = 1, kDnsAaaa = 28;

// A DNS message: the header, one question (`name`, `qtype`, class IN) and, in a response, one
// A or AAAA record per address, its owner a compression pointer to the question.
inline std::vector<uint8_t> DnsMessage(uint16_t id, bool response, uint8_t rcode,
                                       const std::string& name, uint16_t qtype,
                                       const std::vector<std::string>& addresses = {}) {
  const uint16_t flags = response ? uint16_t(0x8180 | rcode) : 0x0100;
  std::vector<uint8_t> m = {uint8_t(id >> 8), uint8_t(id), uint8_t(flags >> 8), uint8_t(flags)};
  m.insert(m.end(), {0, 1, 0, uint8_t(addresses.size()), 0, 0, 0, 0});  // counts
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    m.push_back(uint8_t(dot - start));
    m.insert(m.end(), name.begin() + long(start), name.begin() + long(dot));
    start = dot + 1;
  }
  m.insert(m.end(), {0, uint8_t(qtype >> 8), uint8_t(qtype), 0, 1});
  for (const std::string& text : addresses) {
    const capture::Address a = *capture::Address::Parse(text);
    const bool v4 = a.IsV4();
    m.insert(m.end(), {0xc0, 12, 0, uint8_t(v4 ? kDnsA : kDnsAaaa), 0, 1, 0, 0, 0, 60, 0,
                       uint8_t(v4 ? 4 : 16)});
    m.insert(m.end(), a.bytes.begin() + (v4 ? 12 : 0), a.bytes.end());
  }
  return m;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_DNS_MESSAGE_H_
