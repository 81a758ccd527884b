#include "detector/probe.h"

#include <utility>  // before Asio (GCC 12)

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace tw::detector {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool ParseProbeTarget(const std::string& text, std::string* host, std::string* port,
                      std::string* error) {
  size_t colon = std::string::npos;
  if (!text.empty() && text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      *error = "probe target '" + text + "' is not [ADDR]:PORT";
      return false;
    }
    *host = text.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0 || text.find(':') != colon) {
      *error = "probe target '" + text + "' is not HOST:PORT";
      return false;
    }
    *host = text.substr(0, colon);
  }
  *port = text.substr(colon + 1);
  int n = 0;
  for (char c : *port) {
    if (c < '0' || c > '9' || n > 65535) {
      n = -1;
      break;
    }
    n = n * 10 + (c - '0');
  }
  if (port->empty() || n < 1 || n > 65535) {
    *error = "probe target '" + text + "' has no valid port";
    return false;
  }
  return true;
}

class Prober::Impl {
 public:
  struct Target {
    explicit Target(asio::io_context& io) : resolver(io), socket(io), timeout(io) {}
    std::string host, port;
    tcp::resolver resolver;
    tcp::socket socket;
    asio::steady_timer timeout;
    std::chrono::steady_clock::time_point started;
    bool busy = false;
  };

  Impl(asio::io_context& io, std::chrono::milliseconds interval,
       std::chrono::milliseconds timeout, Callback cb)
      : io_(io), interval_(interval), timeout_(timeout), cb_(std::move(cb)), tick_(io) {}

  void Tick() {
    if (stopped_) return;
    for (size_t i = 0; i < targets_.size(); ++i) Attempt(i);
    tick_.expires_after(interval_);
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Tick();
    });
  }

  void Attempt(size_t i) {
    Target& t = *targets_[i];
    if (t.busy) return;  // the previous one is still waiting for its timeout
    t.busy = true;
    t.started = std::chrono::steady_clock::now();
    t.timeout.expires_after(timeout_);
    t.timeout.async_wait([&t](const boost::system::error_code& ec) {
      if (!ec) {
        t.resolver.cancel();
        boost::system::error_code ignored;
        t.socket.close(ignored);
      }
    });
    t.resolver.async_resolve(
        t.host, t.port, tcp::resolver::numeric_service,
        [this, i, &t](const boost::system::error_code& ec, tcp::resolver::results_type results) {
          if (ec || stopped_) return Finish(i, false);
          asio::async_connect(t.socket, results,
                              [this, i](const boost::system::error_code& cec, const tcp::endpoint&) {
                                Finish(i, !cec);
                              });
        });
  }

  void Finish(size_t i, bool ok) {
    Target& t = *targets_[i];
    const double rtt =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t.started).count();
    t.timeout.cancel();
    boost::system::error_code ignored;
    t.socket.close(ignored);
    t.busy = false;
    if (!stopped_) cb_(i, ok, rtt);
  }

  asio::io_context& io_;
  std::chrono::milliseconds interval_, timeout_;
  Callback cb_;
  asio::steady_timer tick_;
  std::vector<std::unique_ptr<Target>> targets_;
  bool stopped_ = false;
};

Prober::Prober(asio::io_context& io, std::vector<std::string> targets,
               std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
               Callback on_result)
    : impl_(std::make_unique<Impl>(io, interval, timeout, std::move(on_result))) {
  for (const std::string& text : targets) {
    auto t = std::make_unique<Impl::Target>(io);
    std::string error;
    if (!ParseProbeTarget(text, &t->host, &t->port, &error)) {
      t->host = text;  // reported as failures; the CLI validates targets before this
      t->port = "0";
    }
    impl_->targets_.push_back(std::move(t));
  }
}

Prober::~Prober() = default;

void Prober::Start() { impl_->Tick(); }

void Prober::Stop() {
  impl_->stopped_ = true;
  impl_->tick_.cancel();
  for (auto& t : impl_->targets_) {
    t->timeout.cancel();
    t->resolver.cancel();
    boost::system::error_code ignored;
    t->socket.close(ignored);
  }
}

}  // namespace tw::detector
