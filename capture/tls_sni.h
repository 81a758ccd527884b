#ifndef THROTTLEWATCH_CAPTURE_TLS_SNI_H_
#define THROTTLEWATCH_CAPTURE_TLS_SNI_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tw::capture {

// Extracts the server name (SNI, RFC 6066) from a TLS ClientHello at the start of a TCP
// payload: one TLS record of type handshake carrying a ClientHello, possibly cut short by the
// capture (then only what was captured is searched). Returns false when the bytes are not a
// ClientHello or carry no host name. On success *name views into `data` (borrowed: valid while
// data is) and holds the name's bytes as sent, whatever they are: the sender chose them, so
// validate before use (CanonicalHostName in capture/host_name.h; ServerNames does). Never
// reads outside [data, data + len), never allocates.
bool ParseTlsSni(const uint8_t* data, size_t len, std::string_view* name);

// The same for a bare handshake message (type 1, 3-byte length, body) without the record
// header: what QUIC's CRYPTO stream carries. ParseTlsSni uses it for the record's contents, so
// both read a ClientHello alike. `data` may be a prefix of the message (a stream still being
// reassembled): false until the name is wholly inside it.
bool ParseClientHelloSni(const uint8_t* data, size_t len, std::string_view* name);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_TLS_SNI_H_
