// HTTP Host extraction over arbitrary TCP payloads, and the host-name rule every extracted name
// must pass before it is kept (capture/host_name.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/host_name.h"
#include "capture/http_host.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> buf(data, data + size);
  std::string_view name;
  if (!tw::capture::ParseHttpHost(buf.data(), buf.size(), &name)) return 0;
  // The name is handed over as sent: within the input, never empty, no port, no line break.
  const auto* begin = reinterpret_cast<const char*>(buf.data());
  TW_FUZZ_CHECK(name.data() >= begin && name.data() + name.size() <= begin + buf.size());
  TW_FUZZ_CHECK(!name.empty() && name.find(':') == std::string_view::npos);
  TW_FUZZ_CHECK(name.find('\r') == std::string_view::npos);
  TW_FUZZ_CHECK(tw::capture::MayBeHttpRequest(buf.data(), buf.size()));
  const std::string kept = tw::capture::CanonicalHostName(name);
  if (!kept.empty()) TW_FUZZ_CHECK(tw::capture::CanonicalHostName(kept) == kept);
  return 0;
}
