// The pcap / pcapng file parser over arbitrary bytes: headers, records and blocks of any
// length, byte order and link type. Every delivered packet lies inside the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/capture_file.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw::capture;
  const std::vector<uint8_t> buf(data, data + size);  // exact size: overreads are caught
  CaptureFileReader reader;
  std::string error;
  if (!reader.Open(buf.data(), buf.size(), "fuzz.pcap", &error)) {
    TW_FUZZ_CHECK(!error.empty());
    return 0;
  }
  Packet p;
  for (int n = 0; n < 100000; ++n) {
    const ReadStatus st = reader.Next(&p);
    if (st != ReadStatus::kPacket) break;
    TW_FUZZ_CHECK(p.caplen <= CaptureFileReader::kMaxCaplen);
    TW_FUZZ_CHECK(p.caplen == 0 ||
                  (p.data >= buf.data() && p.data + p.caplen <= buf.data() + buf.size()));
    TW_FUZZ_CHECK(p.wire_len >= p.caplen);
    TW_FUZZ_CHECK(reader.offset() <= reader.size());
  }
  (void)reader.notes();
  return 0;
}
