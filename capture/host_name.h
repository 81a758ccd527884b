#ifndef THROTTLEWATCH_CAPTURE_HOST_NAME_H_
#define THROTTLEWATCH_CAPTURE_HOST_NAME_H_

#include <string>
#include <string_view>

namespace tw::capture {

// Names learned from the wire (a DNS question, a TLS or QUIC server name) are chosen by whoever
// controls the link's traffic, the very party throttlewatch watches. Only a name that is a
// plain host name is kept; everything else is dropped (and counted by the caller), so no
// learned name can carry a quote, a control byte, markup or an address into an output.
//
// A host name here: 1 to 253 characters, dot-separated labels of 1 to 63 characters each,
// made of ASCII letters, digits, '-' and '_' (underscores appear in real service names, e.g.
// "_dmarc"), no label starting or ending with '-'; an internationalised name arrives in its
// ASCII form ("xn--..."). One trailing dot (the root) is allowed and removed. The last label is
// not all digits: RFC 6066 forbids an address literal as a server name, and "192.0.2.7" must not
// pass for a name (it would carry a real address past --anonymize).
//
// Returns the name in lower case (names are case-insensitive), or an empty string when `raw`
// is not a host name.
std::string CanonicalHostName(std::string_view raw);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_HOST_NAME_H_
