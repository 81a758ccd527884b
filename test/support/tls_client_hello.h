#ifndef THROTTLEWATCH_TEST_SUPPORT_TLS_CLIENT_HELLO_H_
#define THROTTLEWATCH_TEST_SUPPORT_TLS_CLIENT_HELLO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tw::testing {

inline void Put16(std::vector<uint8_t>* v, size_t n) {
  v->push_back(uint8_t(n >> 8));
  v->push_back(uint8_t(n));
}

// Appends one TLS extension (type, length, body) to `exts`.
inline void TlsExtension(std::vector<uint8_t>* exts, uint16_t type,
                         const std::vector<uint8_t>& body) {
  Put16(exts, type);
  Put16(exts, body.size());
  exts->insert(exts->end(), body.begin(), body.end());
}

// The body of a server_name extension naming `host`.
inline std::vector<uint8_t> SniExtensionBody(const std::string& host) {
  std::vector<uint8_t> sni;
  Put16(&sni, host.size() + 3);  // server name list length
  sni.push_back(0);              // host_name
  Put16(&sni, host.size());
  sni.insert(sni.end(), host.begin(), host.end());
  return sni;
}

// A TLS handshake record holding a ClientHello with these cipher suites (2 bytes each), a
// session id of `session_id_len` bytes, null compression and the extensions `exts`.
inline std::vector<uint8_t> ClientHelloRecord(const std::vector<uint8_t>& cipher_suites,
                                              size_t session_id_len,
                                              const std::vector<uint8_t>& exts) {
  std::vector<uint8_t> body = {3, 3};
  body.insert(body.end(), 32, 0xab);  // random
  body.push_back(uint8_t(session_id_len));
  body.insert(body.end(), session_id_len, 0xcd);
  Put16(&body, cipher_suites.size());
  body.insert(body.end(), cipher_suites.begin(), cipher_suites.end());
  body.insert(body.end(), {1, 0});  // compression: null
  Put16(&body, exts.size());
  body.insert(body.end(), exts.begin(), exts.end());
  std::vector<uint8_t> hs = {1, 0, uint8_t(body.size() >> 8), uint8_t(body.size())};
  hs.insert(hs.end(), body.begin(), body.end());
  std::vector<uint8_t> rec = {22, 3, 1};
  Put16(&rec, hs.size());
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

// A minimal TLS 1.2-style ClientHello record naming `host`, with an ALPN-like extension before
// the SNI (so a parser must walk the extensions).
inline std::vector<uint8_t> ClientHello(const std::string& host) {
  std::vector<uint8_t> exts;
  TlsExtension(&exts, 16, {0, 1, 'h'});  // ALPN (type 16) with 3 bytes of junk
  TlsExtension(&exts, 0, SniExtensionBody(host));
  return ClientHelloRecord({0x13, 0x01}, 0, exts);
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_TLS_CLIENT_HELLO_H_
