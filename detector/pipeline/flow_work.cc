#include "detector/pipeline/flow_work.h"

#include <algorithm>

namespace tw::detector {

FlowWork::FlowWork(const capture::BinnerParams& binner, capture::LocalNetworks local,
                   capture::BinSink* sink, NameTarget names, const VerdictParams* verdicts,
                   capture::OpeningSink* openings)
    : sink_(sink), names_(names), opening_sink_(openings), binner_(binner, std::move(local), this) {
  if (verdicts != nullptr) verdicts_.emplace(*verdicts);
  if (openings != nullptr) openings_.emplace();
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
    if (!decided_.empty()) PassOpenings();
  }
  return bp;
}

void FlowWork::PassOpenings() {
  for (const capture::Opening& o : decided_) opening_sink_->OnOpening(o);
  decided_.clear();
}

void FlowWork::OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
                     const capture::LinkBin& link) {
  if (openings_) {
    openings_->Expire(start_ns + width_ns, &decided_);
    PassOpenings();
  }
  sink_->OnBin(start_ns, width_ns, flows, link);
}

std::vector<FlowVerdict> FlowWork::TakeVerdicts() {
  return verdicts_ ? verdicts_->Finish() : std::vector<FlowVerdict>{};
}

void FlowWork::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  if (openings_) {
    openings_->OnFlowEnd(info.id, &decided_);
    PassOpenings();
  }
  sink_->OnFlowEnd(info, totals);
  if (verdicts_) verdicts_->OnFlowEnd(info);
}

}  // namespace tw::detector
