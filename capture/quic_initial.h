#ifndef THROTTLEWATCH_CAPTURE_QUIC_INITIAL_H_
#define THROTTLEWATCH_CAPTURE_QUIC_INITIAL_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tw::capture {

// What a QUIC client's handshake stream carries: a TLS ClientHello (IETF QUIC, mvfst, Google's
// T05x) or a Google QUIC CHLO message (Q0xx).
enum class QuicHandshake : uint8_t { kTls, kChlo };

// One piece of the handshake stream found in a datagram: `len` bytes at stream offset
// `offset`, stored at `at` in QuicInitial::bytes.
struct QuicCryptoChunk {
  uint32_t offset = 0;
  uint16_t at = 0;
  uint16_t len = 0;
};

// What ParseQuicInitial found in one UDP datagram. Fixed size (about 4.5 KiB, fine on the
// stack): a datagram whose handshake bytes do not fit is read only as far as they do.
struct QuicInitial {
  static constexpr size_t kMaxBytes = 4096;
  static constexpr size_t kMaxChunks = 32;
  std::string_view version;  // "V-1", "V-2", "Draft-29", "MVFST-22", "Q050", "T051", ...
  QuicHandshake handshake = QuicHandshake::kTls;
  uint8_t chunks = 0;
  std::array<QuicCryptoChunk, kMaxChunks> chunk;
  std::array<uint8_t, kMaxBytes> bytes;  // decrypted (or clear) handshake bytes
  std::array<char, 12> version_text{};   // backing store of `version`
};

// Reads the client's Initial packet(s) in one UDP payload and returns the pieces of its
// handshake stream (CRYPTO frames; Google QUIC: stream 1 or its CRYPTO frames):
// - IETF QUIC v1 (RFC 9001), v2 (RFC 9369), drafts 22-34 and Facebook's mvfst: each
//   coalesced long-header Initial is unprotected with the keys derived from its destination
//   connection id and the version's salt (the ones a passive observer can derive), other
//   long-header packets are skipped;
// - Google QUIC Q050, T050, T051: the same with Google's salts (their CRYPTO frame is 0x08);
// - Google QUIC Q024-Q046: clear text, the CHLO in the first STREAM frame of stream 1.
// Returns false when the payload is none of these, does not authenticate (not a client's
// Initial, or forged), or holds no handshake bytes. The payload was chosen by whoever sent
// it: never reads outside [data, data + len), never throws, keeps no state (thread-safe) and
// allocates nothing itself; OpenSSL's KDF and cipher contexts allocate briefly, only for a
// long-header packet with a version it reads (about 10 us each, debug build).
bool ParseQuicInitial(const uint8_t* data, size_t len, QuicInitial* out);

// The server name (SNI tag) of a Google QUIC CHLO message at the start of `data` (possibly a
// prefix of it: false until the name is wholly inside). *name views into data, bytes as sent.
bool ParseChloSni(const uint8_t* data, size_t len, std::string_view* name);

// Whether a UDP payload could be a QUIC client's Initial: a long header with a version this
// file reads, or Google QUIC's public header with a version. A few comparisons, for every UDP
// packet; ParseQuicInitial decides.
inline bool MayBeQuicInitial(const uint8_t* d, size_t n) {
  if (n < 13) return false;
  if ((d[0] & 0x80) != 0) {
    const uint32_t v = uint32_t(d[1]) << 24 | uint32_t(d[2]) << 16 | uint32_t(d[3]) << 8 | d[4];
    return v == 1 || v == 0x6b3343cf || (v >> 8) == 0xff0000 || (v >> 8) == 0xfaceb0 ||
           ((d[1] == 'Q' || d[1] == 'T') && d[2] == '0');
  }
  // Google QUIC's public header: version flag, an 8-byte connection id, then "Q0..".
  return (d[0] & 0x89) == 0x09 && d[9] == 'Q' && d[10] == '0';
}

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_QUIC_INITIAL_H_
