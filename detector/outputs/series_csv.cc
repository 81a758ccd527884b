#include "detector/outputs/series_csv.h"

#include <string>
#include <string_view>

#include "detector/outputs/text_units.h"
#include "util/utc_time.h"

namespace tw::detector {

bool WriteSeriesCsv(const SeriesRecorder& rec, const AddressText& fa, std::ostream& out) {
  const double w = double(rec.width_ns()) * 1e-9;
  out << "series,scope,direction,start_epoch_s,time_utc,width_s,rate_bps,retrans_bps,rtt_ms\n";
  auto write = [&](const RecordedSeries& s, const std::string& name, const char* scope) {
    std::string buf;
    s.ForEach([&](int64_t bin, const SeriesPoint& p) {
      const double t = double(rec.origin_ns() + bin * rec.width_ns()) * 1e-9;
      std::string iso = util::IsoTime(t);
      for (capture::Direction d : {capture::kDown, capture::kUp}) {
        buf.clear();
        buf += name;
        buf += ',';
        buf += scope;
        buf += ',';
        buf += DirectionName(d);
        buf += ',' + Fmt("%.3f", t) + ',' + iso + ',' + Fmt("%g", w) + ',' +
               Fmt("%.0f", double(p.wire[d]) * 8 / w) + ',' +
               Fmt("%.0f", double(p.retrans[d]) * 8 / w) + ',';
        if (p.rtt_ms >= 0 && std::string_view(scope) != "link" &&
            std::string_view(scope) != "service") {
          buf += Fmt("%.2f", p.rtt_ms);
        }
        buf += '\n';
        out << buf;
      }
    });
  };
  write(rec.link(), "link", "link");
  for (const RecordedSeries& s : rec.series()) {
    if (s.role == RecordedSeries::Role::kServerEnd) {
      write(s, "service " + ServerEndLabel(s.server_end, fa), "service");
    } else {
      write(s, "flow " + FlowLabel(s.flow, fa),
            s.role == RecordedSeries::Role::kFlagged ? "flow" : "reference");
    }
  }
  out.flush();
  return bool(out);
}

}  // namespace tw::detector
