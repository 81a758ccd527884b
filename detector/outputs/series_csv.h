#ifndef THROTTLEWATCH_DETECTOR_OUTPUTS_SERIES_CSV_H_
#define THROTTLEWATCH_DETECTOR_OUTPUTS_SERIES_CSV_H_

#include <ostream>

#include "detector/outputs/address_text.h"
#include "detector/outputs/series_recorder.h"

namespace tw::detector {

// The recorded series as CSV, one row per series, recorded bin and direction (the bins with
// packets and the drop to zero right after each stretch of them; see RecordedSeries):
//   series,scope,direction,start_epoch_s,time_utc,width_s,rate_bps,retrans_bps,rtt_ms
// series "link", "flow <proto> <local>:<port> <-> <remote>:<port>" (flagged and reference flows)
// or "service <proto> <addr>:<port>"; scope "link", "flow", "reference" or "service"; rtt_ms is
// empty where no sample was taken. Returns false if the stream failed.
[[nodiscard]] bool WriteSeriesCsv(const SeriesRecorder& series, const AddressText& format,
                                  std::ostream& out);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_OUTPUTS_SERIES_CSV_H_
