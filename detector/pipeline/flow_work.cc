#include "detector/pipeline/flow_work.h"

#include <algorithm>

namespace tw::detector {

FlowWork::FlowWork(const capture::BinnerParams& binner, capture::LocalNetworks local,
                   capture::BinSink* sink, NameTarget names, const VerdictParams* verdicts,
                   bool openings)
    : sink_(sink), names_(names), binner_(binner, std::move(local), this) {
  if (verdicts != nullptr) verdicts_.emplace(*verdicts);
  if (openings) openings_.emplace();
}

capture::BinnedPacket FlowWork::OnPacket(int64_t ts_ns, uint32_t wire_len,
                                         const capture::DecodedPacket& d, const uint8_t* data,
                                         uint32_t caplen, uint64_t index) {
  const capture::BinnedPacket bp = binner_.OnPacket(ts_ns, wire_len, d, index);
  if (bp.info == nullptr) return bp;  // not analysed (no local side, or the table is full)
  if (names_.observe != nullptr) {
    names_.observe->Observe(data, caplen, d, bp);
  } else if (names_.found != nullptr) {
    found_.clear();
    capture::ServerNames::Find(data, caplen, d, bp, &found_);
    for (capture::LearnedName& n : found_) names_.found->emplace_back(index, std::move(n));
  }
  if (verdicts_) verdicts_->OnPacket(ts_ns, wire_len, d, bp);
  if (openings_) {
    const bool has = d.payload_offset < caplen;
    const uint32_t n = has ? std::min(caplen - d.payload_offset, d.payload_len) : 0;
    openings_->OnPacket(ts_ns, d, has ? data + d.payload_offset : nullptr, n, *bp.info, bp.dir,
                        &decided_);
  }
  return bp;
}

std::vector<capture::Opening> FlowWork::TakeOpenings() {
  std::stable_sort(
      decided_.begin(), decided_.end(),
      [](const capture::Opening& a, const capture::Opening& b) { return a.flow_id < b.flow_id; });
  return std::move(decided_);
}

std::vector<FlowVerdict> FlowWork::TakeVerdicts() {
  return verdicts_ ? verdicts_->Finish() : std::vector<FlowVerdict>{};
}

void FlowWork::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  sink_->OnFlowEnd(info, totals);
  if (verdicts_) verdicts_->OnFlowEnd(info);
  if (openings_) openings_->OnFlowEnd(info.id, &decided_);
}

}  // namespace tw::detector
