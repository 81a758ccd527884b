// DNS message parsing (names with compression pointers, header and question, A/AAAA answers)
// over arbitrary UDP payloads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/dns.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw::capture;
  const std::vector<uint8_t> buf(data, data + size);
  int answers = 0;
  ParseDnsResponse(
      buf.data(), buf.size(),
      [&](const DnsAnswer& a) {
        ++answers;
        TW_FUZZ_CHECK(a.name.size() <= 253);
        for (char c : a.name) TW_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
      },
      8);
  TW_FUZZ_CHECK(answers <= 8);
  // Any message, with its header and question: no more addresses than asked for, and a
  // question only when its bytes were all there.
  DnsHeader h;
  int addresses = 0;
  const bool whole = ParseDnsMessage(
      buf.data(), buf.size(), &h,
      [&](const Address&, std::string_view owner) {
        ++addresses;
        TW_FUZZ_CHECK(owner.size() <= 253);
      },
      8);
  TW_FUZZ_CHECK(addresses <= 8);
  TW_FUZZ_CHECK(h.qname.size() <= 253);
  TW_FUZZ_CHECK(h.question_read || h.qname.empty());
  TW_FUZZ_CHECK(!whole || h.questions == 0 || h.question_read);
  // A response NOERROR reads the same through both entry points.
  if (h.response() && h.rcode() == 0) TW_FUZZ_CHECK(addresses == answers);
  // Names anywhere in the message, as a compression pointer may lead.
  for (size_t start = 0; start < buf.size() && start < 64; ++start) {
    size_t pos = start;
    std::string name;
    if (ReadDnsName(buf.data(), buf.size(), &pos, &name)) {
      TW_FUZZ_CHECK(pos > start && pos <= buf.size());
      TW_FUZZ_CHECK(name.size() <= 253);
    }
  }
  return 0;
}
