#ifndef THROTTLEWATCH_TEST_SUPPORT_EVENT_STREAMS_H_
#define THROTTLEWATCH_TEST_SUPPORT_EVENT_STREAMS_H_
// Events and sealed event streams for the tests of the evidence chain and of the files that
// carry it.

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "detector/core/event.h"
#include "detector/outputs/event_stream.h"
#include "detector/outputs/evidence_chain.h"
#include "test/support/schema_lines.h"

namespace tw::testing {

inline detector::Event Outage(uint64_t id, detector::EventState state, double ts) {
  detector::Event e;
  e.id = id;
  e.kind = detector::EventKind::kOutage;
  e.state = state;
  e.ts = ts;
  e.detected_at = ts + 2;
  if (state == detector::EventState::kEnd) {  // as the outage detector ends one
    e.duration_s = 10;
    e.reason = "traffic_resumed";
  }
  return e;
}

// A replay-like stream: a header and `n` events, as JsonLinesWriter writes them (kept for the
// schema check).
inline std::vector<std::string> Stream(int n) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  {
    detector::JsonLinesWriter w(f);
    detector::InputDigest d;
    d.file = "a.pcap";
    d.bytes = 3;
    d.sha256 = detector::Sha256Hex("abc");
    w.SetHeader([&d](std::string_view prev) { return detector::ReplayHeader({d}, "test", prev); });
    for (int i = 1; i <= n; ++i) {
      w.OnEvent(Outage(uint64_t((i + 1) / 2),
                       i % 2 ? detector::EventState::kStart : detector::EventState::kEnd,
                       1e9 + 10 * i));
    }
    EXPECT_FALSE(w.failed());
  }
  std::fclose(f);
  std::vector<std::string> lines;
  std::istringstream in(std::string(buf, size));
  KeepLines(in.str());
  free(buf);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_EVENT_STREAMS_H_
