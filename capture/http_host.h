#ifndef THROTTLEWATCH_CAPTURE_HTTP_HOST_H_
#define THROTTLEWATCH_CAPTURE_HTTP_HOST_H_

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tw::capture {

// The first bytes of a TCP payload may be a plain HTTP/1.x request of one of the common
// methods (GET, HEAD, POST): a cheap test of its first bytes.
bool MayBeHttpRequest(const uint8_t* data, size_t len);

// Extracts the Host header's name from a plain HTTP/1.x request at the start of a TCP payload
// ("GET /path HTTP/1.1\r\n...Host: news.example:8080\r\n"), possibly cut short by the capture
// (only what was captured is searched, and a Host line cut before its end is not taken). The
// port, if any, is left out; a bracketed IPv6 literal, or a value with a space, a control
// character or a byte outside ASCII inside, is not a name (false). Header names are
// matched case-insensitively (RFC 9110); the search stops at the blank line that ends the
// headers. On success *host views into `data` (borrowed) and holds the bytes as sent: the
// sender chose them, so validate before use (CanonicalHostName; ServerNames does). Never reads
// outside [data, data + len), never allocates.
bool ParseHttpHost(const uint8_t* data, size_t len, std::string_view* host);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_HTTP_HOST_H_
