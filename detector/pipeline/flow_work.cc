#include "detector/pipeline/flow_work.h"

#include <algorithm>

#include "capture/flow_key.h"
#include "capture/ip_proto.h"

namespace tw::detector {

FlowWork::FlowWork(const capture::BinnerParams& binner, capture::LocalNetworks local,
                   capture::BinSink* sink, NameTarget names, const VerdictParams* verdicts,
                   OutcomeSinks outcomes)
    : sink_(sink), names_(names), outcomes_(outcomes), binner_(binner, std::move(local), this) {
  if (verdicts != nullptr) verdicts_.emplace(*verdicts);
  if (outcomes.openings != nullptr) openings_.emplace();
  if (outcomes.dns != nullptr) dns_.emplace();
}

namespace {

// The captured bytes of the packet's layer-4 payload: where they start (null: none) and how many.
std::pair<const uint8_t*, uint32_t> Payload(const capture::DecodedPacket& d, const uint8_t* data,
                                            uint32_t caplen) {
  if (d.payload_offset >= caplen) return {nullptr, 0};
  return {data + d.payload_offset, std::min(caplen - d.payload_offset, d.payload_len)};
}

}  // namespace

capture::BinnedPacket FlowWork::OnPacket(int64_t ts_ns, uint32_t wire_len,
                                         const capture::DecodedPacket& d, const uint8_t* data,
                                         uint32_t caplen, uint64_t index) {
  const capture::BinnedPacket bp = binner_.OnPacket(ts_ns, wire_len, d, index);
  if (dns_in_main_) FollowDns(ts_ns, d, data, caplen, bp);  // a local resolver's too
  if (bp.info == nullptr) {  // not analysed (no local side, or the table is full)
    if (!answered_.empty()) PassOutcomes();
    return bp;
  }
  if (names_.observe != nullptr) {
    names_.observe->Observe(data, caplen, d, bp);
  } else if (names_.found != nullptr) {
    found_.clear();
    capture::ServerNames::Find(data, caplen, d, bp, &found_);
    for (capture::LearnedName& n : found_) names_.found->emplace_back(index, std::move(n));
  }
  if (verdicts_) verdicts_->OnPacket(ts_ns, wire_len, d, bp);
  if (openings_) {
    const auto [payload, n] = Payload(d, data, caplen);
    openings_->OnPacket(ts_ns, d, payload, n, *bp.info, bp.dir, &decided_);
  }
  if (!decided_.empty() || !answered_.empty()) PassOutcomes();
  return bp;
}

void FlowWork::OnDnsPacket(int64_t ts_ns, const capture::DecodedPacket& d, const uint8_t* data,
                           uint32_t caplen) {
  if (!dns_ || dns_in_main_) return;
  FollowDns(ts_ns, d, data, caplen, binner_.Lookup(d));
  if (!answered_.empty()) PassOutcomes();
}

void FlowWork::FollowDns(int64_t ts_ns, const capture::DecodedPacket& d, const uint8_t* data,
                         uint32_t caplen, const capture::BinnedPacket& bp) {
  if (!dns_ || d.ip_proto != capture::kIpProtoUdp) return;
  if (d.src_port != capture::kDnsPort && d.dst_port != capture::kDnsPort) return;
  const auto [payload, n] = Payload(d, data, caplen);
  if (bp.info != nullptr) {
    dns_->OnPacket(ts_ns, d, payload, n, *bp.info, bp.dir, &answered_);
    return;
  }
  // A resolver on the local side (the office router's forwarder, a LAN server): its exchanges
  // with the clients never cross the uplink, so the Binner keeps no flow of them, but what the
  // clients were answered is what they got. Followed under a flow of its own: the client (the
  // side that is not port 53) is "local", and its id, the key's hash with the top bit set, is
  // apart from the Binner's (counts from 1) and the same for both directions. Such a flow never
  // ends: its queries are decided by time (Expire).
  const capture::LocalNetworks& local = binner_.local();
  if (!local.Contains(d.src) || !local.Contains(d.dst)) return;
  capture::FlowInfo info;
  bool src_is_a = false;
  info.key = capture::MakeFlowKey(d, &src_is_a);
  const bool query = d.dst_port == capture::kDnsPort;  // from the client
  info.local_is_a = src_is_a == query;
  info.local_initiated = true;
  info.id = capture::HashFlowKey(info.key) | (uint64_t(1) << 63);
  dns_->OnPacket(ts_ns, d, payload, n, info, query ? capture::kUp : capture::kDown, &answered_);
}

void FlowWork::PassOutcomes() {
  for (const capture::Opening& o : decided_) outcomes_.openings->OnOpening(o);
  decided_.clear();
  for (const capture::DnsOutcome& o : answered_) outcomes_.dns->OnDnsOutcome(o);
  answered_.clear();
}

void FlowWork::OnBin(int64_t start_ns, int64_t width_ns, std::span<const capture::FlowBin> flows,
                     const capture::LinkBin& link) {
  if (openings_) openings_->Expire(start_ns + width_ns, &decided_);
  if (dns_) dns_->Expire(start_ns + width_ns, &answered_);
  PassOutcomes();
  sink_->OnBin(start_ns, width_ns, flows, link);
}

std::vector<FlowVerdict> FlowWork::TakeVerdicts() {
  return verdicts_ ? verdicts_->Finish() : std::vector<FlowVerdict>{};
}

void FlowWork::OnFlowEnd(const capture::FlowInfo& info, const capture::FlowTotals& totals) {
  if (openings_) openings_->OnFlowEnd(info.id, &decided_);
  if (dns_) dns_->OnFlowEnd(info.id, &answered_);
  PassOutcomes();
  sink_->OnFlowEnd(info, totals);
  if (verdicts_) verdicts_->OnFlowEnd(info);
}

}  // namespace tw::detector
