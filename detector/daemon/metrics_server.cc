#include "detector/daemon/metrics_server.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <openssl/evp.h>

#include <string_view>
#include <utility>
#include <vector>

namespace tw::detector {

namespace {

// Equal without telling, through the time it takes, how much of a guess was right.
bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) diff |= uint8_t(a[i] ^ b[i]);
  return diff == 0;
}

void Reply(mg_connection* conn, const char* status, const char* extra_headers,
           std::string_view body) {
  mg_printf(conn,
            "HTTP/1.1 %s\r\n%sContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
            status, extra_headers, body.size());
  mg_write(conn, body.data(), body.size());
}

}  // namespace

std::string BasicAuthorization(const std::string& user, const std::string& password) {
  const std::string in = user + ":" + password;
  std::string out((in.size() + 2) / 3 * 4 + 1, '\0');  // EVP_EncodeBlock writes a final NUL
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), int(in.size()));
  out.resize(size_t(n));
  return "Basic " + out;
}

class MetricsServer::Impl final : public CivetHandler {
 public:
  Impl(std::string authorization, Render render)
      : authorization_(std::move(authorization)), render_(std::move(render)) {}

  bool handleGet(CivetServer*, mg_connection* conn) override {
    if (!authorization_.empty()) {
      const char* given = mg_get_header(conn, "Authorization");
      if (given == nullptr || !SameSecret(given, authorization_)) {
        Reply(conn, "401 Unauthorized", "WWW-Authenticate: Basic realm=\"throttlewatch\"\r\n", "");
        return true;
      }
    }
    Reply(conn, "200 OK", "", render_());
    return true;
  }

  std::string authorization_;  // the whole expected header value; empty: no auth
  Render render_;
  std::unique_ptr<CivetServer> server_;  // last: stopped before the handler goes
};

std::unique_ptr<MetricsServer> MetricsServer::Start(const std::string& bind,
                                                    const std::string& user,
                                                    const std::string& password, Render render,
                                                    std::string* error) {
  auto impl = std::make_unique<Impl>(user.empty() ? "" : BasicAuthorization(user, password),
                                     std::move(render));
  try {
    impl->server_ = std::make_unique<CivetServer>(
        std::vector<std::string>{"listening_ports", bind, "num_threads", "1"});
  } catch (const std::exception& e) {
    *error = "cannot serve metrics on " + bind + ": " + e.what();
    return nullptr;
  }
  impl->server_->addHandler("/metrics", impl.get());
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  if (impl_->server_) impl_->server_->close();
}

int MetricsServer::port() const {
  const std::vector<int> ports = impl_->server_->getListeningPorts();
  return ports.empty() ? 0 : ports.front();
}

}  // namespace tw::detector
