#ifndef THROTTLEWATCH_DETECTOR_DAEMON_PROBE_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_PROBE_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "capture/address_formatter.h"

namespace boost::asio {
class io_context;
}

namespace tw::detector {

// Splits "host:port" or "[v6addr]:port". False (*error says why) on anything else.
bool ParseProbeTarget(const std::string& text, std::string* host, std::string* port,
                      std::string* error);

// One probe target as given to --probe: "HOST:PORT" (a TCP connect) or "dns:HOST[:PORT]" (a DNS
// query over UDP, port 53 by default; IPv6 as "dns:[ADDR]" or "dns:[ADDR]:PORT").
struct ProbeSpec {
  enum class Kind : uint8_t { kTcp, kDns };
  Kind kind = Kind::kTcp;
  std::string host, port;
};
bool ParseProbe(const std::string& text, ProbeSpec* out, std::string* error);

// The target as written in the metrics (`target` label) and the log: the --probe text, but with
// an address for host written through `addresses`, so --anonymize hides it like every other
// address. A host name is kept: the operator chose it, like a server name.
std::string ProbeLabel(const std::string& target, const capture::AddressFormatter& addresses);

// The DNS probe's query: id `id`, recursion desired, one question ". IN NS" (the root's name
// servers: every resolver answers it from its hints, and it names no site). Returns its length.
size_t MakeDnsProbeQuery(uint16_t id, uint8_t (&out)[17]);
// True when `data` is a DNS response (QR set) to query `id`, whatever its rcode: any answer
// proves the path to the server works, which is all a probe asks.
bool IsDnsProbeAnswer(const uint8_t* data, size_t len, uint16_t id);

// Active probes for the quiet hours: every `interval`, each target is probed: a TCP connect
// (closed as soon as it is established) or a DNS query. Their packets cross the watched uplink,
// so the capture sees the demand (SYNs, queries) and the answers: an idle link still has
// inbound traffic, and a dead one has unanswered demand, which is what the outage detector
// needs. Each result (success, and the connect or answer time) is also reported to `on_result`
// for the metrics. Targets are ParseProbe() texts. Runs on `io`'s thread; Stop() there too.
class Prober {
 public:
  using Callback = std::function<void(size_t target, bool ok, double rtt_s)>;
  Prober(boost::asio::io_context& io, std::vector<std::string> targets,
         std::chrono::milliseconds interval, std::chrono::milliseconds timeout, Callback on_result);
  ~Prober();
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  void Start();
  void Stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_PROBE_H_
