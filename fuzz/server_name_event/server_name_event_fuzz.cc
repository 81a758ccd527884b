// The path a name takes from the wire into the evidence: a DNS response or a TLS ClientHello
// (the first input byte picks which) is learned by ServerNames, the name it gives a flow is put
// into an event, and the event is written as a JSON line and read back as on a restart. Whatever
// the bytes, the line must be one JSON object of printable ASCII with the event's own fields,
// and the name must be a host name that survives the round trip unchanged.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "capture/host_name.h"
#include "capture/server_names.h"
#include "detector/core/event.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/json.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tw;
  fuzz::FuzzInput in(data, size);
  const bool tls = in.Bool();
  const std::vector<uint8_t> payload(in.rest(), in.rest() + in.rest_size());

  capture::FlowInfo info;
  info.id = 7;
  info.key.proto = tls ? 6 : 17;
  info.key.a = *capture::Address::Parse("10.0.0.2");
  info.key.b = *capture::Address::Parse("192.0.2.9");
  info.local_is_a = true;
  const capture::BinnedPacket bp{&info, capture::kDown, 0};
  capture::DecodedPacket p;
  p.ip_proto = info.key.proto;
  p.src_port = tls ? 40000 : 53;
  p.payload_offset = 0;
  p.payload_len = uint32_t(payload.size());
  capture::ServerNames names;
  names.Observe(payload.data(), uint32_t(payload.size()), p, bp);
  // A DNS answer names the address it lists; use the first one learned, if any.
  std::vector<capture::LearnedName> found;
  capture::ServerNames::Find(payload.data(), uint32_t(payload.size()), p, bp, &found);
  const capture::Address remote = found.empty() ? info.key.b : found[0].address;
  const std::string name(names.NameOf(info.id, remote));
  TW_FUZZ_CHECK(names.learned() + names.rejected() == found.size());
  if (!name.empty()) TW_FUZZ_CHECK(capture::CanonicalHostName(name) == name);

  detector::Event e;
  e.id = 1;
  e.ts = 1700000000;
  e.scope = detector::EventScope::kFlow;
  e.has_flow = true;
  e.flow = info;
  e.targeted = true;
  e.server_name = name;
  const std::string line = detector::EventToJson(e);
  for (unsigned char c : line) TW_FUZZ_CHECK(c >= 0x20 && c < 0x7f);
  const detector::Json j = detector::Json::parse(line, nullptr, /*allow_exceptions=*/false);
  TW_FUZZ_CHECK(j.is_object());
  TW_FUZZ_CHECK(j.value("targeted", false));
  TW_FUZZ_CHECK(j.value("service", std::string()) == name);
  detector::Event back;
  TW_FUZZ_CHECK(detector::ParseEventLine(line, &back));
  TW_FUZZ_CHECK(back.targeted && back.has_flow && back.id == 1);
  return 0;
}
