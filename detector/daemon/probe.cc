#include "detector/daemon/probe.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <random>
#include <utility>  // before Asio (GCC 12)

namespace tw::detector {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;

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

bool ParseProbe(const std::string& text, ProbeSpec* out, std::string* error) {
  *out = ProbeSpec{};
  if (text.rfind("dns:", 0) != 0) return ParseProbeTarget(text, &out->host, &out->port, error);
  out->kind = ProbeSpec::Kind::kDns;
  const std::string rest = text.substr(4);
  const bool bracketed = !rest.empty() && rest[0] == '[';
  if (bracketed ? rest.find("]:") == std::string::npos : rest.find(':') == std::string::npos) {
    // No port: 53.
    std::string host = rest;
    if (bracketed) {
      if (rest.size() < 3 || rest.back() != ']') {
        *error = "probe target '" + text + "' is not dns:[ADDR] or dns:[ADDR]:PORT";
        return false;
      }
      host = rest.substr(1, rest.size() - 2);
    }
    if (host.empty()) {
      *error = "probe target '" + text + "' names no server";
      return false;
    }
    out->host = host;
    out->port = "53";
    return true;
  }
  if (!ParseProbeTarget(rest, &out->host, &out->port, error)) {
    *error = "probe target '" + text + "' is not dns:HOST[:PORT]";
    return false;
  }
  return true;
}

std::string ProbeLabel(const std::string& target, const capture::AddressFormatter& addresses) {
  ProbeSpec spec;
  std::string error;
  if (!addresses.anonymized() || !ParseProbe(target, &spec, &error)) return target;
  const auto address = capture::Address::Parse(spec.host);
  if (!address) return target;
  const std::string host = addresses.Format(*address);
  return std::string(spec.kind == ProbeSpec::Kind::kDns ? "dns:" : "") +
         (address->IsV4() ? host : "[" + host + "]") + ":" + spec.port;
}

size_t MakeDnsProbeQuery(uint16_t id, uint8_t (&out)[17]) {
  const uint8_t q[17] = {uint8_t(id >> 8),
                         uint8_t(id),
                         0x01,
                         0x00,  // id, RD
                         0,
                         1,
                         0,
                         0,
                         0,
                         0,
                         0,
                         0,     // 1 question
                         0x00,  // the root
                         0,
                         2,
                         0,
                         1};  // NS, IN
  std::memcpy(out, q, sizeof q);
  return sizeof q;
}

bool IsDnsProbeAnswer(const uint8_t* data, size_t len, uint16_t id) {
  return len >= 12 && data[0] == uint8_t(id >> 8) && data[1] == uint8_t(id) &&
         (data[2] & 0x80) != 0;
}

class Prober::Impl {
 public:
  struct Target {
    explicit Target(asio::io_context& io)
        : resolver(io), socket(io), udp_resolver(io), udp_socket(io), timeout(io) {}
    ProbeSpec spec;
    tcp::resolver resolver;
    tcp::socket socket;
    udp::resolver udp_resolver;
    udp::socket udp_socket;
    uint8_t query[17] = {};
    uint8_t answer[512] = {};
    uint16_t id = 0;
    asio::steady_timer timeout;
    std::chrono::steady_clock::time_point started;
    bool busy = false;

    void Cancel() {
      resolver.cancel();
      udp_resolver.cancel();
      boost::system::error_code ignored;
      socket.close(ignored);
      udp_socket.close(ignored);
    }
  };

  Impl(asio::io_context& io, std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
       Callback cb)
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
      if (!ec) t.Cancel();  // the pending resolve, connect or receive fails: Finish(false)
    });
    if (t.spec.kind == ProbeSpec::Kind::kDns) return AttemptDns(i);
    t.resolver.async_resolve(
        t.spec.host, t.spec.port, tcp::resolver::numeric_service,
        [this, i, &t](const boost::system::error_code& ec, tcp::resolver::results_type results) {
          if (ec || stopped_) return Finish(i, false);
          asio::async_connect(t.socket, results,
                              [this, i](const boost::system::error_code& cec,
                                        const tcp::endpoint&) { Finish(i, !cec); });
        });
  }

  void AttemptDns(size_t i) {
    Target& t = *targets_[i];
    t.udp_resolver.async_resolve(
        t.spec.host, t.spec.port, udp::resolver::numeric_service,
        [this, i, &t](const boost::system::error_code& ec, udp::resolver::results_type results) {
          if (ec || stopped_ || results.empty()) return Finish(i, false);
          const udp::endpoint server = *results.begin();
          boost::system::error_code oec;
          t.udp_socket.open(server.protocol(), oec);
          if (!oec) t.udp_socket.connect(server, oec);  // only the server's datagrams come in
          if (oec) return Finish(i, false);
          t.id = uint16_t(rng_());
          const size_t n = MakeDnsProbeQuery(t.id, t.query);
          t.udp_socket.async_send(asio::buffer(t.query, n),
                                  [this, i](const boost::system::error_code& sec, size_t) {
                                    if (sec) return Finish(i, false);
                                    ReceiveDns(i);
                                  });
        });
  }

  void ReceiveDns(size_t i) {
    Target& t = *targets_[i];
    t.udp_socket.async_receive(
        asio::buffer(t.answer), [this, i, &t](const boost::system::error_code& ec, size_t n) {
          if (ec || stopped_) return Finish(i, false);
          if (IsDnsProbeAnswer(t.answer, n, t.id)) return Finish(i, true);
          ReceiveDns(i);  // a stray or late datagram: keep waiting until the timeout
        });
  }

  void Finish(size_t i, bool ok) {
    Target& t = *targets_[i];
    const double rtt =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t.started).count();
    t.timeout.cancel();
    t.Cancel();
    t.busy = false;
    if (!stopped_) cb_(i, ok, rtt);
  }

  asio::io_context& io_;
  std::chrono::milliseconds interval_, timeout_;
  Callback cb_;
  asio::steady_timer tick_;
  std::vector<std::unique_ptr<Target>> targets_;
  std::minstd_rand rng_{std::random_device{}()};
  bool stopped_ = false;
};

Prober::Prober(asio::io_context& io, std::vector<std::string> targets,
               std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
               Callback on_result)
    : impl_(std::make_unique<Impl>(io, interval, timeout, std::move(on_result))) {
  for (const std::string& text : targets) {
    auto t = std::make_unique<Impl::Target>(io);
    std::string error;
    if (!ParseProbe(text, &t->spec, &error)) {
      t->spec.host = text;  // reported as failures; the CLI validates targets before this
      t->spec.port = "0";
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
    t->Cancel();
  }
}

}  // namespace tw::detector
