#include "detector/outputs/event_stream.h"

#include "detector/outputs/event_json.h"
#include "detector/outputs/evidence_chain.h"

namespace tw::detector {

void JsonLinesWriter::OnEvent(const Event& e) { WriteRecord(EventToJson(e, addresses_)); }

void JsonLinesWriter::SetHeader(std::function<std::string(std::string_view)> header) {
  header_ = std::move(header);
}

void JsonLinesWriter::WriteRecord(std::string_view record) {
  if (header_) {
    const auto header = std::move(header_);
    header_ = nullptr;
    WriteRecord(header(head_));
  }
  std::string chain;
  std::string line = SealLine(head_, record, &chain);
  line += '\n';
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
    failed_ = true;
    return;
  }
  head_ = std::move(chain);
}

void JsonLinesWriter::Finish() {
  if (!header_) return;
  const auto header = std::move(header_);
  header_ = nullptr;
  WriteRecord(header(head_));
}

}  // namespace tw::detector
