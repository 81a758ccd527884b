#include "detector/core/engine.h"

#include <algorithm>

namespace tw::detector {

Engine::Engine(const EngineParams& params, EventSink* sink, capture::ServerNames* names)
    : counter_(sink, &stats_.events),
      next_event_id_(params.first_event_id < 1 ? 1 : params.first_event_id),
      throttle_(params.throttle, &counter_, &next_event_id_),
      outage_(params.outage, &counter_, &next_event_id_),
      block_(params.block, &counter_, &next_event_id_),
      names_(names) {
  throttle_.set_server_names(names);
}

void Engine::OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
                   const capture::LinkBin& link) {
  ++stats_.bins;
  last_bin_end_ns_ = start_ns + width_ns;
  outage_.OnBin(start_ns, width_ns, flows, link);
  const bool dark = outage_.in_outage() || outage_.silent();
  throttle_.OnBin(start_ns, width_ns, flows, dark);
  PassOpenings(last_bin_end_ns_);
  openings_[1].swap(openings_[0]);
  ended_[1].swap(ended_[0]);
}

void Engine::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  ++stats_.flows_ended;
  const auto& up = totals.dir[capture::kUp];
  const auto& down = totals.dir[capture::kDown];
  if (up.payload_bytes + down.payload_bytes > 0) ++stats_.flows_with_data;
  throttle_.OnFlowEnd(info, totals.end, totals.last_ns);
  ended_[0].push_back(info.id);
}

void Engine::OnOpening(const capture::Opening& o) { openings_[0].push_back(o); }

void Engine::OnDnsOutcome(const capture::DnsOutcome& o) {
  block_.OnDnsOutcome(o, std::max(last_bin_end_ns_, o.decided_ns));
}

void Engine::PassOpenings(int64_t now_ns) {
  for (const capture::Opening& o : openings_[1]) {
    const std::string_view name =
        names_ != nullptr ? names_->NameOf(o.flow.id, o.flow.remote()) : std::string_view();
    block_.OnOpening(o, name, std::max(now_ns, o.decided_ns));
  }
  openings_[1].clear();
  if (names_ != nullptr) {
    for (uint64_t id : ended_[1]) names_->ForgetFlow(id);
  }
  ended_[1].clear();
}

void Engine::Finish() {
  PassOpenings(last_bin_end_ns_);
  openings_[1].swap(openings_[0]);
  ended_[1].swap(ended_[0]);
  PassOpenings(last_bin_end_ns_);
}

}  // namespace tw::detector
