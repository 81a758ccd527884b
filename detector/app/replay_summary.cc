#include "detector/app/replay_summary.h"

#include <map>
#include <set>
#include <string>
#include <string_view>

#include "capture/connection_opening.h"
#include "capture/ip_proto.h"
#include "detector/outputs/text_units.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

// Packets, flows and events in one line.
void PrintTotals(const ReplayResult& r, std::FILE* out) {
  const double span = r.last_ns > r.first_ns ? double(r.last_ns - r.first_ns) * 1e-9 : 0;
  std::set<uint64_t> flows_with_events;
  for (const Event& e : r.events) {
    if (e.has_flow) flows_with_events.insert(e.flow.id);
  }
  std::fprintf(out,
               "throttlewatch: %llu packets over %.1f s; %llu flows seen, %llu carried data, "
               "%zu with events; %zu events\n",
               static_cast<unsigned long long>(r.packets), span,
               static_cast<unsigned long long>(r.binner.flows_created),
               static_cast<unsigned long long>(r.engine.flows_with_data), flows_with_events.size(),
               r.events.size());
}

// What was read and not analysed, or analysed and not reported, one line per kind.
void PrintNotAnalysed(const ReplayResult& r, std::FILE* out) {
  uint64_t undecoded = 0;
  for (size_t i = 1; i < r.decode.size(); ++i) undecoded += r.decode[i];
  if (undecoded > 0) {
    std::fprintf(out, "  not analysed:");
    for (size_t i = 1; i < r.decode.size(); ++i) {
      if (r.decode[i] == 0) continue;
      std::fprintf(out, " %s %llu", capture::DecodeStatusName(capture::DecodeStatus(i)).data(),
                   static_cast<unsigned long long>(r.decode[i]));
    }
    std::fprintf(out, "\n");
  }
  for (const std::string& n : r.notes) std::fprintf(out, "  %s\n", n.c_str());
  if (!r.dismissed.empty()) {
    std::fprintf(out, "  drops not reported:");
    for (const auto& [cls, n] : r.dismissed) {
      std::fprintf(out, " %s %llu", DropClassName(cls), static_cast<unsigned long long>(n));
    }
    std::fprintf(out, "\n");
  }
  if (r.binner.not_local > 0) {
    std::fprintf(out, "  %llu packets had no local endpoint (check --local)\n",
                 static_cast<unsigned long long>(r.binner.not_local));
  }
  if (r.binner.local_to_local > 0) {
    std::fprintf(out, "  %llu packets had both ends local (traffic inside the local side)\n",
                 static_cast<unsigned long long>(r.binner.local_to_local));
  }
  if (r.packets > 0 && r.binner.flows_created == 0) {
    std::fprintf(out,
                 "  nothing was analysed: no packet had exactly one end in the local side %s. "
                 "Give the side of the link you watch with --local (an address or CIDR)\n",
                 r.local.empty() ? "(none found)" : r.local.c_str());
  }
  if (r.names_rejected > 0) {
    std::fprintf(out,
                 "  %llu names in DNS answers or TLS ClientHellos dropped: not host names "
                 "(forged or broken)\n",
                 static_cast<unsigned long long>(r.names_rejected));
  }
  if (r.silences > 0) {
    std::fprintf(out,
                 "  no packet at all for %.1f s after %s (%llu silence%s of %.0f s or more): a "
                 "capture that stopped, or a link with nothing to say; no event is judged "
                 "without packets\n",
                 double(r.longest_silence_ns) * 1e-9,
                 util::IsoTime(double(r.longest_silence_from_ns) * 1e-9).c_str(),
                 static_cast<unsigned long long>(r.silences), r.silences == 1 ? "" : "s",
                 double(kNotedSilenceNs) * 1e-9);
  }
  if (r.binner.gaps_skipped > 0) {
    std::fprintf(out,
                 "  %llu capture gap%s too long to fill with empty bins skipped: flows started "
                 "afresh after %s\n",
                 static_cast<unsigned long long>(r.binner.gaps_skipped),
                 r.binner.gaps_skipped == 1 ? "" : "s", r.binner.gaps_skipped == 1 ? "it" : "each");
  }
  if (r.binner.flows_evicted > 0) {
    std::fprintf(out, "  %llu flows evicted (flow table full; raise --max-flows)\n",
                 static_cast<unsigned long long>(r.binner.flows_evicted));
  }
}

// A block's service: its name and port with the address ("news.example:443 (203.0.113.5)"), or
// the address and port alone.
std::string BlockWho(const Event& e, const capture::AddressFormatter& addresses) {
  const AddressText format = [&addresses](const capture::Address& a) {
    return addresses.Format(a);
  };
  if (!e.has_remote) return e.server_name + ":" + std::to_string(e.block.remote_port);
  if (e.server_name.empty()) return EndpointLabel(e.remote, e.block.remote_port, format);
  return e.server_name + ":" + std::to_string(e.block.remote_port) + " (" + format(e.remote) + ")";
}

// A block's method and counts (the end's: the whole block), and at its start until when it
// lasted, or that it was still on when the capture ended.
std::string BlockDetail(const Event& e, const std::map<uint64_t, double>& ends) {
  std::string d = std::string(BlockMethodName(e.block.method)) + ", " +
                  std::to_string(e.block.failures) + " of " + std::to_string(e.block.attempts) +
                  " connections failed";
  if (e.state == EventState::kEnd) return d + (e.reason.empty() ? "" : ", " + e.reason);
  d += ", " + std::to_string(e.block.witnesses) + " other service" +
       (e.block.witnesses == 1 ? "" : "s") + " worked";
  const auto end = ends.find(e.id);
  return d + (end != ends.end() ? ", until " + util::IsoTime(end->second)
                                : ", still blocked at the end of the capture");
}

// One line per event: when, what, whom, how much. Blocks: the service, and their transport where
// the others have their direction.
void PrintEvents(const ReplayResult& r, std::FILE* out,
                 const capture::AddressFormatter& addresses) {
  std::map<uint64_t, double> ended;  // id -> the end's time
  for (const Event& e : r.events) {
    if (e.state == EventState::kEnd) ended[e.id] = e.ts;
  }
  for (const Event& e : r.events) {
    const bool block = e.kind == EventKind::kBlock;
    std::string who = e.scope == EventScope::kLink ? "whole link" : "";
    if (e.has_remote) {
      who = "service " + addresses.Format(e.remote) + " (" + std::to_string(e.flows) + " flows)";
    }
    if (e.has_flow) {
      who = std::string(capture::ProtoName(e.flow.proto())) + " " +
            addresses.Format(e.flow.local()) + ":" + std::to_string(e.flow.local_port()) + " <-> " +
            addresses.Format(e.flow.remote()) + ":" + std::to_string(e.flow.remote_port());
    }
    if (block) who = BlockWho(e, addresses);
    std::string detail;
    if (block) detail = BlockDetail(e, ended);
    if (e.kind == EventKind::kThrottle) {
      detail = HumanRate(e.rate_before_bps) + " -> " + HumanRate(e.rate_after_bps);
      if (e.state == EventState::kStart) {
        detail += !e.targeted_known ? ", targeted unknown (no concurrent traffic to compare with)"
                  : e.targeted      ? ", targeted"
                                    : ", not targeted";
      }
    }
    if (e.state == EventState::kStart && ended.count(e.id) == 0 && !block) {
      detail += detail.empty() ? "still open at the end of the capture"
                               : ", still open at the end of the capture";
    }
    if (e.duration_s >= 0) {
      char dur[48];
      std::snprintf(dur, sizeof(dur), "%slasted %.1f s", detail.empty() ? "" : ", ", e.duration_s);
      detail += dur;
    }
    if (e.kind == EventKind::kThrottle && e.state == EventState::kStart && e.rate_before_bps == 0 &&
        e.mechanism != Mechanism::kNone) {
      detail += std::string(", ") + MechanismName(e.mechanism) + " from the flow's start";
    }
    std::fprintf(out, "  %s  %-8s %-5s %-4s %s  %s (confidence %.2f)\n",
                 util::IsoTime(e.ts).c_str(), KindName(e.kind), StateName(e.state),
                 block ? BlockTransportName(e.block.transport) : DirectionName(e.direction),
                 who.c_str(), detail.c_str(), e.confidence);
  }
}

// The verdict counts, and one line per limited flow.
void PrintVerdicts(const ReplayResult& r, std::FILE* out,
                   const capture::AddressFormatter& addresses) {
  size_t counts[6] = {};
  for (const FlowVerdict& v : r.verdicts) ++counts[size_t(v.kind)];
  if (!r.verdicts.empty()) {
    std::fprintf(out, "  TCP flow verdicts:");
    for (size_t k = 0; k < 6; ++k) {
      if (counts[k] > 0) std::fprintf(out, " %s %zu", VerdictName(VerdictKind(k)), counts[k]);
    }
    std::fprintf(out, "\n");
  }
  for (const FlowVerdict& v : r.verdicts) {
    if (!IsLimited(v.kind)) continue;
    std::string what = std::string(VerdictName(v.kind)) + " at " + HumanRate(v.rate_bps);
    if (v.kind == VerdictKind::kPoliced) {
      char b[48];
      std::snprintf(b, sizeof(b), ", burst %.0f kB", v.burst_bytes / 1e3);
      what += b;
    }
    if (v.scope == EventScope::kRemoteHost) {
      what += ", shared by " + std::to_string(v.host_flows) + " flows of " +
              addresses.Format(v.info.remote());
    }
    std::fprintf(out, "  %-4s %s %s:%u <-> %s:%u  %s (confidence %.2f)\n", DirectionName(v.dir),
                 capture::ProtoName(v.info.proto()), addresses.Format(v.info.local()).c_str(),
                 unsigned(v.info.local_port()), addresses.Format(v.info.remote()).c_str(),
                 unsigned(v.info.remote_port()), what.c_str(), v.confidence);
  }
}

// How the connections the local side started opened: a count per outcome.
void PrintOpenings(const ReplayResult& r, std::FILE* out) {
  if (r.openings.empty()) return;
  size_t counts[capture::kOpeningOutcomes] = {};
  for (const capture::Opening& o : r.openings) ++counts[size_t(o.outcome)];
  std::fprintf(out, "  connection openings:");
  for (size_t k = 0; k < capture::kOpeningOutcomes; ++k) {
    if (counts[k] == 0) continue;
    const std::string_view name = capture::OpeningOutcomeName(capture::OpeningOutcome(k));
    std::fprintf(out, " %.*s %zu", int(name.size()), name.data(), counts[k]);
  }
  std::fprintf(out, "\n");
}

// How the DNS queries the local side sent were answered: a count per outcome.
void PrintDnsOutcomes(const ReplayResult& r, std::FILE* out) {
  uint64_t total = 0;
  for (uint64_t n : r.dns_outcomes) total += n;
  if (total == 0) return;
  std::fprintf(out, "  dns queries:");
  for (size_t k = 0; k < capture::kDnsOutcomeKinds; ++k) {
    if (r.dns_outcomes[k] == 0) continue;
    const std::string_view name = capture::DnsOutcomeKindName(capture::DnsOutcomeKind(k));
    std::fprintf(out, " %.*s %llu", int(name.size()), name.data(),
                 static_cast<unsigned long long>(r.dns_outcomes[k]));
  }
  std::fprintf(out, "\n");
}

}  // namespace

void PrintSummary(const ReplayResult& r, const std::string& chain_head, std::FILE* out,
                  const capture::AddressFormatter& addresses) {
  PrintTotals(r, out);
  PrintNotAnalysed(r, out);
  PrintEvents(r, out, addresses);
  if (!chain_head.empty()) {
    std::fprintf(out, "  event chain head %s (publish it elsewhere to pin these events)\n",
                 chain_head.c_str());
  }
  PrintVerdicts(r, out, addresses);
  PrintOpenings(r, out);
  PrintDnsOutcomes(r, out);
}

}  // namespace tw::detector
