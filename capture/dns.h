#ifndef THROTTLEWATCH_CAPTURE_DNS_H_
#define THROTTLEWATCH_CAPTURE_DNS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

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

// The header of a DNS message and its first question: what follows a query to its answers.
struct DnsHeader {
  uint16_t id = 0;
  uint16_t flags = 0;  // QR, opcode, AA, TC, RD, RA, Z, AD, CD and RCODE, as on the wire
  uint16_t questions = 0, answers = 0;  // QDCOUNT, ANCOUNT
  // The first question, when the message holds one and its bytes were all there: its name
  // (as ReadDnsName reads it), type and class.
  bool question_read = false;
  std::string qname;
  uint16_t qtype = 0, qclass = 0;

  bool response() const { return (flags & 0x8000) != 0; }
  uint8_t opcode() const { return uint8_t((flags >> 11) & 0xf); }
  uint8_t rcode() const { return uint8_t(flags & 0xf); }  // 0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN
};

// Parses any DNS message, query or response, whatever its rcode: fills *h (header, first
// question) and calls on_address(const Address&, std::string_view owner) for each A/AAAA
// record of class IN in the answer section, at most `max_answers` times (0: the header and
// questions only). Returns false when the message is malformed or ends early, with *h filled
// as far as the bytes went (`question_read` says whether the first question was): a message
// cut by the capture's snaplen is told apart by its caller, who knows the datagram's length.
// Same bounds as ParseDnsResponse.
template <typename F>
bool ParseDnsMessage(const uint8_t* data, size_t len, DnsHeader* h, F&& on_address,
                     int max_answers = 32);

// Reads the (possibly compressed) name at `*pos` into `out` (lower case, dot-separated, at most
// 253 characters) and advances *pos past it. False on malformed names. Exposed for tests.
bool ReadDnsName(const uint8_t* data, size_t len, size_t* pos, std::string* out);

template <typename F>
bool ParseDnsMessage(const uint8_t* data, size_t len, DnsHeader* h, F&& on_address,
                     int max_answers) {
  *h = DnsHeader{};
  if (len < 12) return false;
  const auto u16 = [&](size_t at) { return uint16_t(data[at] << 8 | data[at + 1]); };
  h->id = u16(0);
  h->flags = u16(2);
  h->questions = u16(4);
  h->answers = u16(6);
  size_t pos = 12;
  std::string name;
  for (uint32_t i = 0; i < h->questions; ++i) {
    if (!ReadDnsName(data, len, &pos, &name) || pos + 4 > len) return false;
    if (i == 0) {
      h->question_read = true;
      h->qname = name;
      h->qtype = u16(pos);
      h->qclass = u16(pos + 2);
    }
    pos += 4;  // type, class
  }
  int reported = 0;
  for (uint32_t i = 0; i < h->answers && reported < max_answers; ++i) {
    if (!ReadDnsName(data, len, &pos, &name) || pos + 10 > len) return false;
    const uint32_t type = u16(pos), cls = u16(pos + 2), rdlen = u16(pos + 8);
    pos += 10;
    if (pos + rdlen > len) return false;
    if (cls == 1 && ((type == 1 && rdlen == 4) || (type == 28 && rdlen == 16))) {
      on_address(type == 1 ? Address::FromV4(data + pos) : Address::FromV6(data + pos),
                 std::string_view(name));
      ++reported;
    }
    pos += rdlen;
  }
  return true;
}

template <typename F>
bool ParseDnsResponse(const uint8_t* data, size_t len, F&& on_answer, int max_answers) {
  if (len < 12) return false;
  const uint32_t flags = uint32_t(data[2]) << 8 | data[3];
  if ((flags & 0x8000) == 0 || (flags & 0x000f) != 0) return false;  // a response, NOERROR
  DnsHeader h;
  return ParseDnsMessage(
      data, len, &h,
      [&](const Address& address, std::string_view owner) {
        DnsAnswer a;
        a.name = h.qname.empty() ? std::string(owner) : h.qname;
        a.address = address;
        on_answer(a);
      },
      max_answers);
}

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_DNS_H_
