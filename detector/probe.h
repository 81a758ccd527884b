#ifndef THROTTLEWATCH_DETECTOR_PROBE_H_
#define THROTTLEWATCH_DETECTOR_PROBE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace boost::asio {
class io_context;
}

namespace tw::detector {

// Splits "host:port" or "[v6addr]:port". False (*error says why) on anything else.
bool ParseProbeTarget(const std::string& text, std::string* host, std::string* port,
                      std::string* error);

// Active probes for the quiet hours: every `interval`, a TCP connect to each target (closed as
// soon as it is established). Their packets cross the watched uplink, so the capture sees the
// demand (SYNs) and the answers: an idle link still has inbound traffic, and a dead one has
// unanswered SYNs, which is what the outage detector needs. Each result (success and connect
// time) is also reported to `on_result` for the metrics. Runs on `io`'s thread; Stop() there too.
class Prober {
 public:
  using Callback = std::function<void(size_t target, bool ok, double rtt_s)>;
  Prober(boost::asio::io_context& io, std::vector<std::string> targets,
         std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
         Callback on_result);
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

#endif  // THROTTLEWATCH_DETECTOR_PROBE_H_
