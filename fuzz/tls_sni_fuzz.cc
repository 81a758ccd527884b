// TLS ClientHello server-name extraction over arbitrary TCP payloads.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "capture/tls_sni.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> buf(data, data + size);
  std::string_view name;
  if (!tw::capture::ParseTlsSni(buf.data(), buf.size(), &name)) return 0;
  const auto* begin = reinterpret_cast<const char*>(buf.data());
  TW_FUZZ_CHECK(name.data() >= begin && name.data() + name.size() <= begin + buf.size());
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    TW_FUZZ_CHECK(ok);
  }
  return 0;
}
