// TLS ClientHello server-name extraction over arbitrary TCP payloads, and the host-name rule
// every extracted name must pass before it is kept (capture/host_name.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/host_name.h"
#include "capture/tls_sni.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> buf(data, data + size);
  std::string_view name;
  if (!tw::capture::ParseTlsSni(buf.data(), buf.size(), &name)) return 0;
  // The name is handed over as sent: within the input, never empty, at most 255 bytes.
  const auto* begin = reinterpret_cast<const char*>(buf.data());
  TW_FUZZ_CHECK(name.data() >= begin && name.data() + name.size() <= begin + buf.size());
  TW_FUZZ_CHECK(!name.empty() && name.size() <= 255);
  // What the rule keeps is a lower-case host name that the rule keeps unchanged.
  const std::string kept = tw::capture::CanonicalHostName(name);
  if (kept.empty()) return 0;
  TW_FUZZ_CHECK(kept.size() <= 253 && tw::capture::CanonicalHostName(kept) == kept);
  for (char c : kept) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    TW_FUZZ_CHECK(ok);
  }
  return 0;
}
