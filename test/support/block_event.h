#ifndef THROTTLEWATCH_TEST_SUPPORT_BLOCK_EVENT_H_
#define THROTTLEWATCH_TEST_SUPPORT_BLOCK_EVENT_H_

#include <cstdint>
#include <string>

#include "capture/address.h"
#include "detector/core/event.h"

namespace tw::testing {

// A block event as the block detector writes it: the service `name` (empty: none, the service
// is its address) on `remote`:443, reset by an injector (tcp_rst) 3 times in 3 connections, two
// other services working meanwhile, one of them on its address, the service having worked
// before; confidence 0.9. Tests change what they are about.
inline detector::Event BlockEvent(uint64_t id, detector::EventState state, double ts,
                                  const std::string& name, const char* remote = "203.0.113.5") {
  detector::Event e;
  e.id = id;
  e.kind = detector::EventKind::kBlock;
  e.state = state;
  e.ts = ts;
  e.detected_at = ts + 1;
  e.scope = detector::EventScope::kRemoteHost;
  e.direction = capture::kUp;
  e.server_name = name;
  e.has_remote = true;
  e.remote = *capture::Address::Parse(remote);
  e.flows = 3;
  e.targeted = true;
  e.confidence = 0.9;
  detector::BlockEvidence& b = e.block;
  b.method = detector::BlockMethod::kTcpRst;
  b.remote_port = 443;
  b.attempts = b.failures = 3;
  b.witnesses = 2;
  b.same_address_ok = true;
  b.worked_before = true;
  return e;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_BLOCK_EVENT_H_
