#include "detector/event_sink.h"

namespace tw::detector {

void JsonLinesWriter::OnEvent(const Event& e) {
  const std::string line = EventToJson(e, addresses_) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
    failed_ = true;
  }
}

}  // namespace tw::detector
