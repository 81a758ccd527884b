#include "detector/outputs/flow_verdict_json.h"

#include <algorithm>
#include <string>
#include <utility>

#include "capture/community_id.h"
#include "detector/core/event.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/json.h"

namespace tw::detector {

namespace {
Json Evidence(const stats::TokenBucketEstimate& e) {
  Json j;
  j["result"] = stats::BucketFitName(e.result);
  j["losses"] = e.losses;
  j["loss_episodes"] = e.loss_episodes;
  if (e.rate_Bps > 0) {
    j["rate_bps"] = Rounded(e.rate_Bps * 8, 0);
    j["burst_bytes"] = Rounded(e.burst_bytes, 0);
    j["losses_with_empty_bucket"] = Rounded(e.losses_in_range, 3);
    j["passes_with_tokens"] = Rounded(e.passes_in_range, 3);
    j["episodes_above_rate"] = Rounded(e.episodes_above_rate, 3);
    j["losses_after_rtt_inflation"] = Rounded(e.losses_after_inflation, 3);
    // Bounded so the line stays valid JSON when the chance is below a double's range.
    j["losses_by_chance_log10p"] = Rounded(std::max(-999.0, e.chance_log10p), 1);
    if (e.path_rate_Bps > 0) j["path_rate_bps"] = Rounded(e.path_rate_Bps * 8, 0);
    if (e.queue_checked > 0) {
      j["episodes_after_queue"] = Rounded(e.queued_share, 3);
      j["episodes_queue_checked"] = e.queue_checked;
    }
  }
  return j;
}

// The Community ID of the flow as the line writes it: over the anonymized addresses with
// --anonymize, since the ID of the real ones would give them away (a SHA-1 over a known
// remote, port and protocol is searched through the whole IPv4 space in minutes). Zeek and
// Suricata hash real addresses, so anonymized lines join only logs anonymized alike.
std::string CommunityIdAsWritten(const capture::FlowKey& key,
                                 const capture::AddressFormatter& addresses) {
  if (!addresses.anonymized()) return capture::CommunityId(key);
  capture::FlowKey mapped = key;
  mapped.a = addresses.Map(key.a);
  mapped.b = addresses.Map(key.b);
  return capture::CommunityId(mapped);
}
}  // namespace

std::string FlowVerdictToJson(const FlowVerdict& v, const capture::AddressFormatter& addresses) {
  Json j;
  j["schema"] = kEventSchemaVersion;
  j["record"] = "flow";
  j["flow_id"] = v.info.id;
  j["flow"] = FlowToJson(v.info, addresses);
  // The protocols without an ID (ICMP, SCTP) have no flow lines today; the field is left out
  // rather than written empty should they get some.
  if (std::string id = CommunityIdAsWritten(v.info.key, addresses); !id.empty()) {
    j["community_id"] = std::move(id);
  }
  // The service: the server's name when one was seen, else its address (written through
  // `addresses` like every address).
  j["service"] = v.server_name.empty() ? addresses.Format(v.info.remote()) : v.server_name;
  if (!v.quic_version.empty()) j["quic_version"] = v.quic_version;
  j["direction"] = DirectionName(v.dir);
  const bool judged = v.kind != VerdictKind::kNotJudged;
  if (judged) j["vantage"] = v.receiver_vantage ? "receiver" : "sender";
  j["start"] = Rounded(double(v.first_ns) * 1e-9, 3);
  j["duration_s"] = Rounded(double(v.last_ns - v.first_ns) * 1e-9, 3);
  j["bytes"] = v.payload_bytes;
  j["wire_bytes"] = v.wire_bytes;
  j["goodput_bps"] = Rounded(v.goodput_bps, 0);
  j["verdict"] = VerdictName(v.kind);
  if (!judged) return DumpLine(j);  // a UDP flow: listed, not judged
  j["retrans_rate"] = Rounded(v.retrans_rate, 4);
  if (v.rtt_median_s >= 0) {
    j["rtt_min_ms"] = Rounded(v.rtt_floor_s * 1e3, 1);
    j["rtt_median_ms"] = Rounded(v.rtt_median_s * 1e3, 1);
  }
  if (v.kind == VerdictKind::kPoliced || v.kind == VerdictKind::kShaped) {
    j["scope"] = ScopeName(v.scope);
    j["rate_bps"] = Rounded(v.rate_bps, 0);
    if (v.kind == VerdictKind::kPoliced) j["burst_bytes"] = Rounded(v.burst_bytes, 0);
    j["limited_since"] = Rounded(v.limited_since, 3);
    if (v.scope == EventScope::kRemoteHost) j["service_flows"] = v.host_flows;
  }
  j["confidence"] = Rounded(v.confidence, 2);
  if (v.truncated) j["truncated"] = true;
  if (v.event_id != 0) j["event_id"] = v.event_id;
  Json& evidence = j["evidence"];
  evidence["queue_delay_ms"] = Rounded(v.queue_delay_s * 1e3, 1);
  evidence["policer_test"] = Evidence(v.fit);
  if (v.host_flows > 0) evidence["service_policer_test"] = Evidence(v.host_fit);
  return DumpLine(j);
}

}  // namespace tw::detector
