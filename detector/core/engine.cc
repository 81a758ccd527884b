#include "detector/core/engine.h"

namespace tw::detector {

Engine::Engine(const EngineParams& params, EventSink* sink, capture::ServerNames* names)
    : counter_(sink, &stats_.events),
      next_event_id_(params.first_event_id < 1 ? 1 : params.first_event_id),
      throttle_(params.throttle, &counter_, &next_event_id_),
      outage_(params.outage, &counter_, &next_event_id_),
      names_(names) {
  throttle_.set_server_names(names);
}

void Engine::OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
                   const capture::LinkBin& link) {
  ++stats_.bins;
  outage_.OnBin(start_ns, width_ns, flows, link);
  const bool dark = outage_.in_outage() || outage_.silent();
  throttle_.OnBin(start_ns, width_ns, flows, dark);
}

void Engine::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  ++stats_.flows_ended;
  const auto& up = totals.dir[capture::kUp];
  const auto& down = totals.dir[capture::kDown];
  if (up.payload_bytes + down.payload_bytes > 0) ++stats_.flows_with_data;
  throttle_.OnFlowEnd(info, totals.end, totals.last_ns);
  if (names_ != nullptr) names_->ForgetFlow(info.id);
}

}  // namespace tw::detector
