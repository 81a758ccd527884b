// The evidence chain's readers over arbitrary bytes: `throttlewatch verify` and the daemon's
// restart read event files anyone may have edited (ChainVerifier, ChainOf, ParseEventLine),
// and a header names files whatever their bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "detector/outputs/event_json.h"
#include "detector/outputs/evidence_chain.h"
#include "detector/outputs/json.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw::detector;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ChainVerifier v;
  v.BeginFile();
  size_t pos = 0;
  uint64_t lines = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (lines++ == 8) v.BeginFile();  // a series of two files
    const std::string_view chain = ChainOf(line);
    TW_FUZZ_CHECK(chain.empty() || chain.size() == 64);
    const bool ok = v.Add(line);
    TW_FUZZ_CHECK(ok == v.error().empty());
    TW_FUZZ_CHECK(!ok || (v.head() == chain && v.start().size() == 64));
    Event e;
    ParseEventLine(std::string(line), &e);
  }
  TW_FUZZ_CHECK(v.verified() <= lines);
  // The head it reached extends: a line sealed after it verifies.
  if (v.ok() && v.verified() > 0) {
    std::string head;
    const std::string sealed = SealLine(v.head(), "{\"schema\":1,\"id\":1}", &head);
    TW_FUZZ_CHECK(v.Add(sealed) && v.head() == head);
  }
  // A header naming any file is one JSON object of printable ASCII.
  InputDigest d;
  d.file = std::string(text.substr(0, 256));
  const std::string header = ReplayHeader({d}, "fuzz", kChainGenesis);
  for (unsigned char c : header) TW_FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  TW_FUZZ_CHECK(Json::parse(header, nullptr, /*allow_exceptions=*/false).is_object());
  return 0;
}
