#ifndef THROTTLEWATCH_DETECTOR_DAEMON_METRICS_SERVER_H_
#define THROTTLEWATCH_DETECTOR_DAEMON_METRICS_SERVER_H_
// The HTTP endpoint of the daemon's metrics: GET /metrics answers with the text a render
// function returns (Prometheus' text exposition format), and with nothing else. It is civetweb,
// which prometheus-cpp's Exposer wraps, used directly: the Exposer adds metrics of its own to
// every scrape, among them a summary of request latencies whose quantiles are NaN whenever no
// scrape fell in its last minute (the first scrape, an idle daemon).

#include <functional>
#include <memory>
#include <string>

namespace tw::detector {

class MetricsServer {
 public:
  using Render = std::function<std::string()>;
  // Listens on `bind` ("ADDR:PORT"; port 0 picks a free one) with one HTTP thread, and answers
  // with HTTP basic auth when `user` is not empty (401 without the right credentials).
  // nullptr with *error set when it cannot listen. `render` is called on the HTTP thread.
  static std::unique_ptr<MetricsServer> Start(const std::string& bind, const std::string& user,
                                              const std::string& password, Render render,
                                              std::string* error);
  ~MetricsServer();  // stops serving; returns when no request is being answered
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const;  // the port listened on

 private:
  class Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The value of an Authorization header that carries `user`:`password` (RFC 7617):
// "Basic " and their base64.
std::string BasicAuthorization(const std::string& user, const std::string& password);

}  // namespace tw::detector

#endif  // THROTTLEWATCH_DETECTOR_DAEMON_METRICS_SERVER_H_
