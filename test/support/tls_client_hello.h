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

// A minimal TLS 1.2-style ClientHello record naming `host`, with an ALPN-like extension before
// the SNI (so a parser must walk the extensions).
inline std::vector<uint8_t> ClientHello(const std::string& host) {
  std::vector<uint8_t> sni_ext;
  Put16(&sni_ext, host.size() + 3);  // server name list length
  sni_ext.push_back(0);              // host_name
  Put16(&sni_ext, host.size());
  sni_ext.insert(sni_ext.end(), host.begin(), host.end());
  std::vector<uint8_t> exts;
  Put16(&exts, 16);  // ALPN (type 16) with 3 bytes of junk
  Put16(&exts, 3);
  exts.insert(exts.end(), {0, 1, 'h'});
  Put16(&exts, 0);  // server_name
  Put16(&exts, sni_ext.size());
  exts.insert(exts.end(), sni_ext.begin(), sni_ext.end());
  std::vector<uint8_t> body = {3, 3};
  body.insert(body.end(), 32, 0xab);  // random
  body.push_back(0);                  // session id
  Put16(&body, 2);
  body.insert(body.end(), {0x13, 0x01});  // one cipher suite
  body.insert(body.end(), {1, 0});        // compression: null
  Put16(&body, exts.size());
  body.insert(body.end(), exts.begin(), exts.end());
  std::vector<uint8_t> hs = {1, 0, uint8_t(body.size() >> 8), uint8_t(body.size())};
  hs.insert(hs.end(), body.begin(), body.end());
  std::vector<uint8_t> rec = {22, 3, 1};
  Put16(&rec, hs.size());
  rec.insert(rec.end(), hs.begin(), hs.end());
  return rec;
}

}  // namespace tw::testing

#endif  // THROTTLEWATCH_TEST_SUPPORT_TLS_CLIENT_HELLO_H_
