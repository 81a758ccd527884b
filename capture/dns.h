#ifndef THROTTLEWATCH_CAPTURE_DNS_H_
#define THROTTLEWATCH_CAPTURE_DNS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "capture/address.h"

namespace tw::capture {

// One address answer of a DNS response: `name` resolves to `address` (A or AAAA record).
// `name` is the question's name (what the user asked for), not a CNAME target, lower-cased.
struct DnsAnswer {
  std::string name;
  Address address;
};

// Parses a DNS response message (the UDP payload, or a TCP payload after its 2-byte length)
// and calls `on_answer` for each A/AAAA answer, at most `max_answers` times. Compression
// pointers are followed with a hop limit, so loops and forward references cannot hang it.
// Returns false when the bytes are not a well-formed response (answers found before the flaw
// are still reported). Never reads outside [data, data + len); allocates only for names.
template <typename F>
bool ParseDnsResponse(const uint8_t* data, size_t len, F&& on_answer, int max_answers = 32);

// Reads the (possibly compressed) name at `*pos` into `out` (lower case, dot-separated, at most
// 253 characters) and advances *pos past it. False on malformed names. Exposed for tests.
bool ReadDnsName(const uint8_t* data, size_t len, size_t* pos, std::string* out);

template <typename F>
bool ParseDnsResponse(const uint8_t* data, size_t len, F&& on_answer, int max_answers) {
  if (len < 12) return false;
  const auto u16 = [&](size_t at) { return uint32_t(data[at]) << 8 | data[at + 1]; };
  const uint32_t flags = u16(2);
  if ((flags & 0x8000) == 0 || (flags & 0x000f) != 0) return false;  // a response, NOERROR
  const uint32_t qd = u16(4), an = u16(6);
  size_t pos = 12;
  std::string question;
  for (uint32_t i = 0; i < qd; ++i) {
    std::string q;
    if (!ReadDnsName(data, len, &pos, &q) || pos + 4 > len) return false;
    pos += 4;  // type, class
    if (i == 0) question = std::move(q);
  }
  int reported = 0;
  for (uint32_t i = 0; i < an && reported < max_answers; ++i) {
    std::string owner;
    if (!ReadDnsName(data, len, &pos, &owner) || pos + 10 > len) return false;
    const uint32_t type = u16(pos), cls = u16(pos + 2), rdlen = u16(pos + 8);
    pos += 10;
    if (pos + rdlen > len) return false;
    if (cls == 1 && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
      DnsAnswer a;
      a.name = question.empty() ? owner : question;
      a.address = type == 1 ? Address::FromV4(data + pos) : Address::FromV6(data + pos);
      on_answer(a);
      ++reported;
    }
    pos += rdlen;
  }
  return true;
}

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_DNS_H_
