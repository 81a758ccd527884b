// The report's markup: ReportModel (report_model.h) as one self-contained HTML page.
#include <algorithm>
#include <string>

#include "detector/outputs/report.h"
#include "detector/outputs/report_model.h"
#include "detector/outputs/svg_chart.h"
#include "detector/outputs/text_units.h"
#include "util/utc_time.h"

namespace tw::detector {

namespace {

const char kStyle[] = R"CSS(
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--down:#1f6feb;--up:#e8590c;
--flow:#0b4fc4;--ref:#8c959f;--rtt:#8250df;--retrans:#cf222e;--thr:rgba(212,140,0,.18);
--out:rgba(207,34,46,.16);--blk:#6639ba}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1040px;padding:16px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",
Roboto,"Noto Sans",Arial,sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid
var(--line);padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .3em}
.sub{color:var(--muted);margin:0 0 1em}.headline{font-size:1.1em;padding:.6em .8em;
background:#f6f8fa;border-left:4px solid var(--flow);margin:1em 0}
dl.ov{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1em;margin:0}
dl.ov dt{color:var(--muted)}dl.ov dd{margin:0;overflow-wrap:anywhere}
.tw{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.num,th.num{text-align:right;white-space:nowrap}
td.who{overflow-wrap:anywhere;min-width:10em}td.time{min-width:7em}small{color:var(--muted)}.nw{white-space:nowrap}tr.throttle td:first-child{border-left:3px solid #d48c00}
tr.outage td:first-child{border-left:3px solid var(--retrans)}
tr.block td:first-child{border-left:3px solid var(--blk)}tr.block td{border-bottom:0}
tr.block-ev td{padding-top:0}ul.ev{margin:0;padding-left:1.2em;color:var(--muted)}
a{color:var(--flow)}figure{margin:.5em 0 1.5em;break-inside:avoid}
svg.chart{width:100%;height:auto;display:block;font-size:12px}
svg .grid line{stroke:#eaeef2}svg .frame{fill:none;stroke:var(--line)}
svg .xlab line{stroke:var(--muted)}svg text{fill:var(--muted)}
svg .ylab text{text-anchor:end}svg .xlab text{text-anchor:middle}svg .xlab .unit{text-anchor:end}
path{fill:none;stroke-width:1.6;stroke-linejoin:round}
path.down{stroke:var(--down)}path.up{stroke:var(--up)}
path.flow{stroke:var(--flow);stroke-width:2.4}path.ref{stroke:var(--ref);stroke-width:1.2}
path.ref2{stroke:var(--ref);stroke-width:1.2;stroke-dasharray:5 3}
path.ref3{stroke:var(--ref);stroke-width:1.2;stroke-dasharray:1 3}
path.rtt{stroke:var(--rtt);stroke-width:1.4;stroke-dasharray:4 2}
path.retrans{fill:var(--retrans);stroke:none;opacity:.75}
rect.throttle{fill:var(--thr)}rect.outage{fill:var(--out)}
line.mark{stroke:#1f2328;stroke-width:1.2;stroke-dasharray:3 3}text.marklab{fill:#1f2328}
ul.legend{list-style:none;padding:0;margin:.2em 0 0;display:flex;flex-wrap:wrap;gap:.3em 1.2em;
font-size:.88em;color:var(--muted)}
.sw{display:inline-block;width:22px;height:10px;margin-right:.4em;vertical-align:middle}
.sw.down{border-top:3px solid var(--down)}.sw.up{border-top:3px solid var(--up)}
.sw.flow{border-top:3px solid var(--flow)}.sw.ref{border-top:2px solid var(--ref)}
.sw.ref2{border-top:2px dashed var(--ref)}.sw.ref3{border-top:2px dotted var(--ref)}
.sw.rtt{border-top:2px dashed var(--rtt)}.sw.retrans{background:var(--retrans);opacity:.75}
.sw.throttle{background:var(--thr);border:1px solid #d48c00}
.sw.outage{background:var(--out);border:1px solid var(--retrans)}
.sw.mark{border-left:2px dashed #1f2328;width:2px}
.facts{color:var(--muted);font-size:.92em;margin:.2em 0 .4em}
footer{margin-top:2em;color:var(--muted);font-size:.85em;border-top:1px solid var(--line);
padding-top:.6em}
.cw{overflow-x:auto}
@media (max-width:640px){body{padding:10px;font-size:14px}th,td{padding:.3em}
svg.chart{min-width:620px}}
@media print{body{max-width:none;padding:0;font-size:10pt}a{color:inherit;text-decoration:none}
h2{break-after:avoid}tr{break-inside:avoid}.headline{border:1px solid #999}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}@page{margin:14mm}}
)CSS";

// Only in the reports of captures with gaps (the others carry no unused style).
const char kGapStyle[] =
    "rect.gap{fill:#e3e7eb}.sw.gap{background:#e3e7eb;"
    "border:1px solid var(--ref)}\n";

void WriteHead(const ReportData& data, const ReportModel& m, std::string* o) {
  *o +=
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'\">"
      "<meta name=\"referrer\" content=\"no-referrer\">"
      "<meta name=\"generator\" content=\"throttlewatch " +
      Esc(data.version) + "\"><title>" + Esc(data.title) + "</title><style>";
  *o += kStyle;
  if (!m.gaps.empty()) *o += kGapStyle;
  *o += "</style></head><body>\n";
}

// The title, the capture's span and the headline: what was found.
void WriteHeadline(const ReportData& data, const ReportModel& m, std::string* o) {
  *o += "<header><h1>" + Esc(data.title) + "</h1><p class=\"sub\">" +
        Esc(util::UtcText(m.cap_t0, util::UtcStyle::kSeconds)) + " to " +
        Esc(util::UtcText(m.cap_t1, util::UtcStyle::kSeconds)) + " (" +
        Duration(std::max(0.0, m.cap_t1 - m.cap_t0)) +
        "). All times UTC (offset +00:00); rates in bits per second on the wire.</p>";
  *o += "<p class=\"headline\">";
  const size_t blocks = m.blocks.size();
  if (m.episodes.empty() && blocks == 0) {
    *o += "No throttling, no outage and no blocking was found in this capture.";
  } else {
    *o += std::to_string(m.throttles) + (m.throttles == 1 ? " throttle" : " throttles");
    if (m.throttles > 0) *o += " (" + std::to_string(m.targeted) + " targeted)";
    *o += ", " + std::to_string(m.outages) + (m.outages == 1 ? " outage" : " outages") + " and " +
          std::to_string(blocks) + (blocks == 1 ? " blocked service" : " blocked services") +
          " found. <a href=\"#events\">Event table</a>, <a href=\"#blocking\">blocking</a>.";
  }
  *o += "</p></header>\n";
}

void WriteOverview(const ReportModel& m, std::string* o) {
  *o += "<section id=\"overview\"><h2>Capture</h2><dl class=\"ov\">";
  for (const OverviewItem& item : m.overview) {
    *o += "<dt>" + Esc(item.label) + "</dt><dd>" + item.html + "</dd>";
  }
  *o += "</dl></section>\n";
}

void WriteLinkChart(const ReportModel& m, std::string* o) {
  *o += "<section id=\"link\"><h2>Link throughput</h2><figure>";
  DrawChart(m.link_chart, o);
  Legend(m.link_chart, o);
  *o += "</figure></section>\n";
}

// The detector's mechanism and, when the event carries them, the numbers it judged on.
std::string MechanismCell(Mechanism m, const std::string& numbers) {
  std::string cell = MechanismName(m);
  if (!numbers.empty()) cell += "<br><small>" + Esc(numbers) + "</small>";
  return cell;
}

void WriteEventRow(const ReportEpisode& ep, std::string* o) {
  const Event& s = *ep.start;
  const std::string id = std::to_string(s.id);
  const bool thr = s.kind == EventKind::kThrottle;
  std::string dur =
      ep.end != nullptr ? Duration(ep.end->ts - s.ts) : "open at the end of the capture";
  if (ep.end != nullptr && !ep.end->reason.empty()) dur += " (" + ep.end->reason + ")";
  *o += std::string("<tr class=\"") + (thr ? "throttle" : "outage") + "\" id=\"row-" + id +
        "\"><td><a href=\"#ev-" + id + "\">" + id + "</a></td><td class=\"time\">" +
        Esc(util::UtcText(s.ts, util::UtcStyle::kMillisNoOffset)) + "</td><td>" + Esc(dur) +
        "</td><td>" + KindName(s.kind) + "<br><small>" + ScopeName(s.scope) + ", " +
        DirectionName(s.direction) + "</small></td><td class=\"who\"><a href=\"#ev-" + id + "\">" +
        Esc(ep.who) + "</a></td><td>" + "<span class=\"nw\">" + Esc(HumanRate(s.rate_before_bps)) +
        "</span> → <span " + "class=\"nw\">" + (thr ? Esc(HumanRate(s.rate_after_bps)) : "0") +
        "</span>" + "</td><td>" +
        (thr ? (!s.targeted_known ? "unknown"
                : s.targeted      ? "yes"
                                  : "no")
             : "—") +
        "</td><td>" + (thr ? MechanismCell(s.mechanism, ep.mechanism_numbers) : "—") +
        "</td><td class=\"num\">" + Fmt("%.0f %%", 100 * s.confidence) + "</td></tr>";
}

void WriteEventTable(const ReportModel& m, std::string* o) {
  *o += "<section id=\"events\"><h2>Events</h2>";
  if (m.episodes.empty()) {
    *o += "<p>No throttle and no outage.</p>";
  } else {
    *o +=
        "<div class=\"tw\"><table id=\"event-table\"><thead><tr><th>#</th>"
        "<th>Start (UTC +00:00)</th><th>Duration</th><th>Kind</th><th>Who</th>"
        "<th>Rate before → after</th><th>Targeted</th><th>Mechanism</th>"
        "<th class=\"num\">Conf.</th></tr></thead><tbody>";
    for (const ReportEpisode& ep : m.episodes) WriteEventRow(ep, o);
    *o += "</tbody></table></div>";
  }
  *o += "</section>\n";
}

// What makes a block, said where blocks are listed, or where none is: how the detector would
// have shown one.
const char kBlockRule[] =
    "a service is blocked when three or more of its connections in a row fail one way while "
    "other services' connections complete: reset by a packet the server did not send "
    "(tcp_rst), the TLS ClientHello that names the site left unanswered after a TCP handshake "
    "(sni_blackhole), SYNs to its address unanswered (ip_blackhole), QUIC Initials "
    "unanswered (quic_blackhole), or a plain HTTP request answered by another sender than the "
    "server (http_blockpage); or when three lookups of its name in a row are answered twice, "
    "a forged answer first (dns_injection), or, by a resolver that had answered the name with "
    "public addresses, with an address no server has (dns_bogon) or \"no such name\" "
    "(dns_nxdomain), while other names resolve. The OONI category is the \"blocking\" value "
    "of OONI's Web Connectivity test.";

// One blocked service: a row of its facts, and one of its evidence in words.
void WriteBlockRows(const ReportModel& m, const ReportBlock& b, std::string* o) {
  const Event& s = *b.start;
  const BlockEvidence& c = *b.counts;
  const std::string id = std::to_string(s.id);
  const char* transport = s.block.transport == BlockTransport::kQuic  ? "QUIC"
                          : s.block.transport == BlockTransport::kDns ? "DNS"
                                                                      : "TCP";
  const std::string service =
      s.server_name.empty()
          ? Esc(b.endpoint) + "<br><small>" + transport + ", no name seen</small>"
          : Esc(b.service) + "<br><small>" + Esc(b.endpoint) + ", " + transport + "</small>";
  std::string until = b.end != nullptr
                          ? Esc(util::UtcText(b.end->ts, util::UtcStyle::kMillisNoOffset))
                          : "still blocked at the end of the capture";
  // Lifted: a connection to it completed; another reason (a restart) says why it ended.
  if (b.end != nullptr && !b.end->reason.empty() && b.end->reason != "lifted") {
    until += "<br><small>" + Esc(b.end->reason) + "</small>";
  }
  const std::string duration =
      b.end != nullptr ? Duration(b.end->ts - s.ts) : "at least " + Duration(m.cap_t1 - s.ts);
  *o += "<tr class=\"block\" id=\"block-" + id + "\"><td>" + id + "</td><td class=\"who\">" +
        service + "</td><td>" + Esc(BlockMethodName(c.method)) +
        "<br><small>OONI: " + Esc(BlockOoniCategory(c)) + "</small></td><td class=\"time\">" +
        Esc(util::UtcText(s.ts, util::UtcStyle::kMillisNoOffset)) + "</td><td class=\"time\">" +
        until + "</td><td>" + Esc(duration) + "</td><td class=\"num\">" +
        std::to_string(c.failures) + " of " + std::to_string(c.attempts) +
        (b.end != nullptr ? "" : "<br><small>by its start</small>") + "</td><td class=\"num\">" +
        Fmt("%.0f %%", 100 * s.confidence) + "</td></tr><tr class=\"block-ev\"><td></td>" +
        "<td colspan=\"7\"><ul class=\"ev\">";
  for (const std::string& line : b.evidence) *o += "<li>" + Esc(line) + "</li>";
  *o += "</ul></td></tr>";
}

// The blocked services; when there are none, a sentence saying so and what would have shown one
// (so that a reader knows it was looked for).
void WriteBlocking(const ReportModel& m, std::string* o) {
  *o += "<section id=\"blocking\"><h2>Blocking</h2>";
  if (m.blocks.empty()) {
    *o += std::string("<p>No blocked service was seen in this capture: ") + kBlockRule +
          "</p></section>\n";
    return;
  }
  *o += std::string("<p class=\"facts\">From the connections and lookups of the local side: ") +
        kBlockRule +
        "</p><div class=\"tw\"><table id=\"block-table\"><thead><tr><th>#</th>"
        "<th>Service</th><th>Method</th><th>Since (UTC +00:00)</th><th>Until</th>"
        "<th>Duration</th><th class=\"num\">Connections failed</th>"
        "<th class=\"num\">Conf.</th></tr></thead><tbody>";
  for (const ReportBlock& b : m.blocks) WriteBlockRows(m, b, o);
  *o += "</tbody></table></div></section>\n";
}

// An event's facts in a sentence or three: when, how long, the rates, targeted, the mechanism.
void WriteEventFacts(const ReportEpisode& ep, std::string* o) {
  const Event& s = *ep.start;
  *o += "<p class=\"facts\">" + Esc(util::UtcText(s.ts)) + ", " +
        (ep.end != nullptr ? "lasted " + Duration(ep.t1 - s.ts)
                           : std::string("still open when the capture ended")) +
        ". ";
  if (s.kind == EventKind::kThrottle) {
    *o += Esc(DirectionName(s.direction)) + std::string(": ") + Esc(HumanRate(s.rate_before_bps)) +
          " → " + Esc(HumanRate(s.rate_after_bps));
    if (ep.end != nullptr && ep.end->reason == "recovered") {
      *o += ", back to " + Esc(HumanRate(ep.end->rate_after_bps));
    }
    *o += !s.targeted_known
              ? ". Targeted: unknown, there was no concurrent traffic in the same direction to "
                "compare with."
          : s.targeted ? ". Targeted: concurrent flows in the same direction kept their rates."
                       : ". Not shown to be targeted: concurrent flows slowed down too.";
    *o += " Mechanism: " + std::string(MechanismName(s.mechanism)) +
          (ep.mechanism_numbers.empty() ? "" : " (" + Esc(ep.mechanism_numbers) + ")") + ".";
  } else {
    *o += "Inbound traffic stopped while the local side kept asking (link rate before: " +
          Esc(HumanRate(s.rate_before_bps)) + ").";
  }
  *o += Fmt(" Confidence %.0f %%.", 100 * s.confidence) + " <a href=\"#row-" +
        std::to_string(s.id) + "\">↑ table</a></p>";
}

void WriteEventArticle(const ReportEpisode& ep, std::string* o) {
  const Event& s = *ep.start;
  *o += "<article id=\"ev-" + std::to_string(s.id) + "\"><h3>#" + std::to_string(s.id) + " " +
        KindName(s.kind) + " — " + Esc(ep.who) + "</h3>";
  WriteEventFacts(ep, o);
  switch (ep.chart_state) {
    case ReportEpisode::ChartState::kOverCap:
      *o += "<p>No chart: the report draws at most " + std::to_string(kMaxEventCharts) +
            " event charts (use --series for all data).</p></article>";
      return;
    case ReportEpisode::ChartState::kNotRecorded:
      *o += "<p>No chart: this flow's series was not recorded.</p></article>";
      return;
    case ReportEpisode::ChartState::kDrawn:
      break;
  }
  if (s.kind == EventKind::kThrottle && ep.references.empty()) {
    *o +=
        "<p class=\"facts\">No concurrent flow in the same direction was recorded to "
        "compare with.</p>";
  }
  *o += "<figure>";
  DrawChart(ep.chart, o);
  Legend(ep.chart, o);
  *o += "</figure></article>\n";
}

void WriteTopTables(const ReportData& data, const ReportModel& m, std::string* o) {
  *o += "<section id=\"top\"><h2>Top flows by bytes</h2>";
  if (data.totals_since_ns >= 0) {
    *o += "<p class=\"facts\">Flows that ended since " +
          Esc(util::UtcText(double(data.totals_since_ns) * 1e-9)) + ".</p>";
  }
  *o +=
      "<div class=\"tw\"><table id=\"top-flows\">"
      "<thead><tr><th>Flow</th><th class=\"num\">Down</th><th class=\"num\">Up</th>"
      "<th class=\"num\">Total</th></tr></thead><tbody>";
  for (const TopRow& t : m.top_flows) {
    *o += "<tr><td class=\"who\">" + Esc(t.label) + "</td><td class=\"num\">" +
          Esc(HumanBytes(double(t.down))) + "</td><td class=\"num\">" +
          Esc(HumanBytes(double(t.up))) + "</td><td class=\"num\">" +
          Esc(HumanBytes(double(t.total))) + "</td></tr>";
  }
  *o +=
      "</tbody></table></div><h2>Top services by bytes</h2><p class=\"facts\">A service is the "
      "server end of its flows (address, port, protocol).</p><div class=\"tw\">"
      "<table id=\"top-services\"><thead><tr><th>Service</th><th class=\"num\">Flows</th>"
      "<th class=\"num\">Down</th><th class=\"num\">Up</th><th class=\"num\">Total</th></tr>"
      "</thead><tbody>";
  for (const TopRow& t : m.top_services) {
    *o += "<tr><td class=\"who\">" + Esc(t.label) + "</td><td class=\"num\">" +
          std::to_string(t.flows) + "</td><td class=\"num\">" + Esc(HumanBytes(double(t.down))) +
          "</td><td class=\"num\">" + Esc(HumanBytes(double(t.up))) + "</td><td class=\"num\">" +
          Esc(HumanBytes(double(t.total))) + "</td></tr>";
  }
  *o += "</tbody></table></div></section>\n";
}

void WriteFooter(const ReportData& data, std::string* o) {
  *o += "<footer>Written by throttlewatch " + Esc(data.version) + ". " +
        (data.anonymized ? "Addresses are anonymized (prefix-preserving)."
                         : "Addresses are shown as captured.") +
        " Rates include link-layer headers. RTT is measured passively from TCP timestamps at the "
        "capture point (to the remote side and back). This file fetches nothing.</footer>\n"
        "</body></html>\n";
}

}  // namespace

bool WriteReport(const ReportData& data, std::ostream& out) {
  const ReportModel m = BuildReportModel(data);
  std::string o;
  o.reserve(1 << 18);
  WriteHead(data, m, &o);
  WriteHeadline(data, m, &o);
  WriteOverview(m, &o);
  WriteLinkChart(m, &o);
  WriteEventTable(m, &o);
  WriteBlocking(m, &o);
  if (!m.episodes.empty()) {
    o += "<section id=\"event-charts\"><h2>Event details</h2>";
    for (const ReportEpisode& ep : m.episodes) WriteEventArticle(ep, &o);
    o += "</section>\n";
  }
  WriteTopTables(data, m, &o);
  WriteFooter(data, &o);
  out << o;
  out.flush();
  return bool(out);
}

}  // namespace tw::detector
