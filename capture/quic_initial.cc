#include "capture/quic_initial.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tw::capture {

namespace {

// How a version protects and frames its Initial packets.
struct VersionSpec {
  const uint8_t* salt = nullptr;  // null: clear text (Google QUIC before Q050)
  bool v2 = false;                // RFC 9369: "quicv2 " labels, Initial type bits 0b01
  uint8_t crypto_frame = 0x06;    // Google's Q050/T05x use 0x08
  QuicHandshake handshake = QuicHandshake::kTls;
};

constexpr uint8_t kSaltV1[20] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr uint8_t kSaltV2[20] = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                                 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
constexpr uint8_t kSaltDraft22[20] = {0x7f, 0xbc, 0xdb, 0x0e, 0x7c, 0x66, 0xbb, 0xe9, 0x19, 0x3a,
                                      0x96, 0xcd, 0x21, 0x51, 0x9e, 0xbd, 0x7a, 0x02, 0x64, 0x4a};
constexpr uint8_t kSaltDraft23[20] = {0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7,
                                      0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65, 0xbe, 0xf9, 0xf5, 0x02};
constexpr uint8_t kSaltDraft29[20] = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97,
                                      0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};
constexpr uint8_t kSaltQ050[20] = {0x50, 0x45, 0x74, 0xef, 0xd0, 0x66, 0xfe, 0x2f, 0x9d, 0x94,
                                   0x5c, 0xfc, 0xdb, 0xd3, 0xa7, 0xf0, 0xd3, 0xb5, 0x6b, 0x45};
constexpr uint8_t kSaltT050[20] = {0x7f, 0xf5, 0x79, 0xe5, 0xac, 0xd0, 0x72, 0x91, 0x55, 0x80,
                                   0x30, 0x4c, 0x43, 0xa2, 0x36, 0x7c, 0x60, 0x48, 0x83, 0x10};
constexpr uint8_t kSaltT051[20] = {0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50,
                                   0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc, 0xda, 0x6e, 0x03, 0x3d};

uint32_t Be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

bool IsGoogle(uint32_t v) {
  return (v >> 24 == 'Q' || v >> 24 == 'T') && ((v >> 16) & 0xff) == '0';
}

// The spec of `v` and its name as expected.tsv and nDPI spell it; false for versions not read.
bool Spec(uint32_t v, VersionSpec* s, QuicInitial* out) {
  char* t = out->version_text.data();
  const size_t cap = out->version_text.size();
  if (v == 1) {
    *s = {kSaltV1};
    std::snprintf(t, cap, "V-1");
  } else if (v == 0x6b3343cf) {
    *s = {kSaltV2, true};
    std::snprintf(t, cap, "V-2");
  } else if ((v >> 8) == 0xff0000 && (v & 0xff) >= 22 && (v & 0xff) <= 34) {
    const uint32_t d = v & 0xff;
    *s = {d == 22 ? kSaltDraft22 : d <= 28 ? kSaltDraft23 : d <= 32 ? kSaltDraft29 : kSaltV1};
    std::snprintf(t, cap, "Draft-%u", unsigned(d));
  } else if (v == 0xfaceb001) {
    *s = {kSaltDraft22};
    std::snprintf(t, cap, "MVFST-22");
  } else if (v == 0xfaceb002 || v == 0xfaceb00e) {
    // nDPI and Wireshark derive mvfst's experimental version with the draft-23 salt as well.
    *s = {kSaltDraft23};
    std::snprintf(t, cap, v == 0xfaceb002 ? "MVFST-27" : "MVFST-EXP");
  } else if (v == 0x51303530 || v == 0x54303530 || v == 0x54303531) {
    *s = {v == 0x51303530   ? kSaltQ050
          : v == 0x54303530 ? kSaltT050
                            : kSaltT051,
          false, 0x08, v == 0x51303530 ? QuicHandshake::kChlo : QuicHandshake::kTls};
  } else if (IsGoogle(v) && (v >> 24) == 'Q') {
    const int n = int((v >> 8) & 0xff) - '0', m = int(v & 0xff) - '0';
    if (n < 2 || n > 4 || m < 0 || m > 9) return false;  // Q024..Q046
    *s = {nullptr, false, 0, QuicHandshake::kChlo};
  } else {
    return false;
  }
  if (IsGoogle(v)) {
    const char g[5] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v), 0};
    std::memcpy(t, g, sizeof(g));
  }
  out->version = t;
  out->handshake = s->handshake;
  return true;
}

// A bounds-checked reader of QUIC's variable-length integers and fixed fields.
struct Cursor {
  const uint8_t* p;
  size_t n;
  size_t i = 0;
  bool Var(uint64_t* v) {
    if (i >= n) return false;
    const size_t k = size_t(1) << (p[i] >> 6);
    if (k > n - i) return false;
    uint64_t x = p[i] & 0x3f;
    for (size_t j = 1; j < k; ++j) x = (x << 8) | p[i + j];
    i += k;
    *v = x;
    return true;
  }
  bool Skip(uint64_t k) {
    if (k > n - i) return false;
    i += size_t(k);
    return true;
  }
  size_t left() const { return n - i; }
};

// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, through OpenSSL's HKDF.
bool ExpandLabel(const uint8_t* secret, size_t secret_len, const char* label, uint8_t* out,
                 size_t out_len) {
  uint8_t info[64];
  const size_t l = std::strlen(label);
  if (6 + l + 4 > sizeof(info)) return false;
  info[0] = uint8_t(out_len >> 8);
  info[1] = uint8_t(out_len);
  info[2] = uint8_t(6 + l);
  std::memcpy(info + 3, "tls13 ", 6);
  std::memcpy(info + 9, label, l);
  info[9 + l] = 0;
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return false;
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf),
                                                                &EVP_KDF_CTX_free);
  int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
                               OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_octet_string(
                                   OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(secret), secret_len),
                               OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, 10 + l),
                               OSSL_PARAM_construct_end()};
  return ctx != nullptr && EVP_KDF_derive(ctx.get(), out, out_len, params) == 1;
}

// HKDF-Extract(salt, ikm) into prk[32].
bool Extract(const uint8_t* salt, const uint8_t* ikm, size_t ikm_len, uint8_t* prk) {
  static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return false;
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> ctx(EVP_KDF_CTX_new(kdf),
                                                                &EVP_KDF_CTX_free);
  int mode = EVP_KDF_HKDF_MODE_EXTRACT_ONLY;
  char digest[] = "SHA256";
  uint8_t empty = 0;
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode),
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                        ikm_len ? const_cast<uint8_t*>(ikm) : &empty, ikm_len),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(salt), 20),
      OSSL_PARAM_construct_end()};
  return ctx != nullptr && EVP_KDF_derive(ctx.get(), prk, 32, params) == 1;
}

struct Keys {
  uint8_t key[16], iv[12], hp[16];
};

// RFC 9001 §5.2 (RFC 9369 §3.3.1 for v2's labels): the client's Initial keys for `dcid`.
bool DeriveKeys(const VersionSpec& s, const uint8_t* dcid, size_t dcid_len, Keys* k) {
  uint8_t initial[32], client[32];
  return Extract(s.salt, dcid, dcid_len, initial) &&
         ExpandLabel(initial, 32, "client in", client, 32) &&
         ExpandLabel(client, 32, s.v2 ? "quicv2 key" : "quic key", k->key, 16) &&
         ExpandLabel(client, 32, s.v2 ? "quicv2 iv" : "quic iv", k->iv, 12) &&
         ExpandLabel(client, 32, s.v2 ? "quicv2 hp" : "quic hp", k->hp, 16);
}

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

// AES-128-ECB of one block: the header protection mask (RFC 9001 §5.4.3).
bool Mask(const uint8_t* hp, const uint8_t* sample, uint8_t* mask) {
  CipherCtx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int n = 0;
  return c && EVP_EncryptInit_ex(c.get(), EVP_aes_128_ecb(), nullptr, hp, nullptr) == 1 &&
         EVP_CIPHER_CTX_set_padding(c.get(), 0) == 1 &&
         EVP_EncryptUpdate(c.get(), mask, &n, sample, 16) == 1 && n == 16;
}

// AES-128-GCM open of `ct` (`ct_len` bytes, tag after them) into `pt`.
bool Open(const Keys& k, uint64_t pn, const uint8_t* aad, size_t aad_len, const uint8_t* ct,
          size_t ct_len, uint8_t* pt) {
  uint8_t nonce[12];
  std::memcpy(nonce, k.iv, 12);
  for (int i = 0; i < 8; ++i) nonce[11 - i] ^= uint8_t(pn >> (8 * i));
  CipherCtx c(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int n = 0, fin = 0;
  return c && EVP_DecryptInit_ex(c.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
         EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
         EVP_DecryptInit_ex(c.get(), nullptr, nullptr, k.key, nonce) == 1 &&
         EVP_DecryptUpdate(c.get(), nullptr, &n, aad, int(aad_len)) == 1 &&
         EVP_DecryptUpdate(c.get(), pt, &n, ct, int(ct_len)) == 1 &&
         EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, 16,
                             const_cast<uint8_t*>(ct + ct_len)) == 1 &&
         EVP_DecryptFinal_ex(c.get(), pt + n, &fin) == 1;
}

bool AddChunk(QuicInitial* out, uint64_t offset, size_t at, size_t len) {
  if (out->chunks >= QuicInitial::kMaxChunks || offset > UINT32_MAX || len == 0) return false;
  out->chunk[out->chunks++] = {uint32_t(offset), uint16_t(at), uint16_t(len)};
  return true;
}

// Skips an ACK frame's fields (RFC 9000 §19.3) after its type byte.
bool SkipAck(Cursor* c, bool ecn) {
  uint64_t largest, delay, count, first;
  if (!c->Var(&largest) || !c->Var(&delay) || !c->Var(&count) || !c->Var(&first)) return false;
  if (count > 256) return false;
  for (uint64_t i = 0; i < 2 * count + (ecn ? 3 : 0); ++i) {
    uint64_t x;
    if (!c->Var(&x)) return false;
  }
  return true;
}

// The CRYPTO frames of a decrypted Initial payload at out->bytes[at, at + len).
void Frames(const VersionSpec& s, size_t at, size_t len, QuicInitial* out) {
  Cursor c{out->bytes.data() + at, len};
  while (c.left() > 0) {
    const uint8_t type = c.p[c.i++];
    if (type == 0x00 || type == 0x01) continue;  // PADDING, PING
    if (s.crypto_frame == 0x08 && (type == 0x40 || type == 0x60)) {
      // Google's ACK frames: skip as nDPI does (its layout is not worth parsing here).
      if (!c.Skip(type == 0x40 ? 5 : 8)) return;
      continue;
    }
    if (s.crypto_frame == 0x06 && (type == 0x02 || type == 0x03)) {
      if (!SkipAck(&c, type == 0x03)) return;
      continue;
    }
    if (type != s.crypto_frame) return;  // anything else ends what we read of this packet
    uint64_t offset, n;
    if (!c.Var(&offset) || !c.Var(&n) || n > c.left()) return;
    if (!AddChunk(out, offset, at + c.i, size_t(n))) return;
    c.Skip(n);
  }
}

// Unprotects one long-header Initial whose packet number starts at d[pn_at] and which ends at
// d[end], decrypting it into out->bytes. False when it does not authenticate or fit.
bool Unprotect(const VersionSpec& s, const uint8_t* d, size_t pn_at, size_t end,
               const uint8_t* dcid, size_t dcid_len, size_t* used, QuicInitial* out) {
  if (pn_at + 4 + 16 > end) return false;
  Keys k;
  uint8_t mask[16];
  if (!DeriveKeys(s, dcid, dcid_len, &k) || !Mask(k.hp, d + pn_at + 4, mask)) return false;
  uint8_t header[1 + 4 + 1 + 20 + 1 + 20 + 8 + 8 + 4 + 4096];
  if (pn_at + 4 > sizeof(header)) return false;  // absurd tokens: not worth reading
  std::memcpy(header, d, pn_at);
  header[0] = uint8_t(d[0] ^ (mask[0] & 0x0f));
  const size_t pn_len = (header[0] & 3) + 1;
  uint64_t pn = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    header[pn_at + i] = uint8_t(d[pn_at + i] ^ mask[1 + i]);
    pn = (pn << 8) | header[pn_at + i];
  }
  const size_t ct_at = pn_at + pn_len;
  if (ct_at + 16 >= end) return false;
  const size_t ct_len = end - ct_at - 16;
  if (ct_len > QuicInitial::kMaxBytes - *used) return false;
  if (!Open(k, pn, header, ct_at, d + ct_at, ct_len, out->bytes.data() + *used)) return false;
  Frames(s, *used, ct_len, out);
  *used += ct_len;
  return true;
}

// IETF-style long headers (QUIC, mvfst, Q050, T05x), coalesced: each Initial is decrypted,
// other long-header packets skipped; a short header ends the datagram's long-header part.
bool LongHeaders(const uint8_t* data, size_t len, QuicInitial* out) {
  size_t at = 0, used = 0;
  bool any = false;
  for (int guard = 0; guard < 8 && len - at >= 7 && (data[at] & 0x80) != 0; ++guard) {
    const uint8_t* d = data + at;
    VersionSpec s;
    if (!Spec(Be32(d + 1), &s, out) || s.salt == nullptr) break;
    Cursor c{d, len - at, 5};
    const size_t dcid_len = d[5];
    if (dcid_len > 20 || !c.Skip(1 + dcid_len) || c.left() < 1) break;
    const size_t scid_len = d[c.i];
    if (scid_len > 20 || !c.Skip(1 + scid_len)) break;
    const bool initial = ((d[0] >> 4) & 3) == (s.v2 ? 1 : 0);
    uint64_t token = 0, length = 0;
    if (initial && (!c.Var(&token) || !c.Skip(token))) break;
    if (!c.Var(&length) || length > c.left()) break;
    const size_t end = c.i + size_t(length);
    if (initial) any = Unprotect(s, d, c.i, end, d + 6, dcid_len, &used, out) || any;
    at += end;
  }
  return any && out->chunks > 0;
}

// Google QUIC before Q050: clear text. Q046 has a long header with both connection id lengths
// in one byte; older ones the public header (flags, 8-byte connection id, version, packet
// number), and up to Q033 a private flags byte. Then a 12-byte hash and the frames.
bool ClearText(const uint8_t* d, size_t len, QuicInitial* out) {
  VersionSpec s;
  size_t at = 0;
  uint32_t v = 0;
  if ((d[0] & 0x80) != 0) {
    if (len < 6 || !Spec(v = Be32(d + 1), &s, out) || s.salt != nullptr || d[5] != 0x50) {
      return false;
    }
    at = 6 + 8 + (d[0] & 3) + 1;
  } else {
    if ((d[0] & 0x09) != 0x09 || len < 13 || !Spec(v = Be32(d + 9), &s, out) || s.salt != nullptr) {
      return false;
    }
    static constexpr size_t kPnLen[4] = {1, 2, 4, 6};
    at = 1 + 8 + 4 + kPnLen[(d[0] >> 4) & 3];  // a client sends no diversification nonce
  }
  const int minor = (int((v >> 8) & 0xff) - '0') * 10 + int(v & 0xff) - '0';
  at += 12 + (minor <= 33 ? 1 : 0);
  Cursor c{d, len, 0};
  if (!c.Skip(at)) return false;
  while (c.left() > 0 && c.p[c.i] == 0) ++c.i;  // padding
  if (c.left() > 0 && (c.p[c.i] == 0x40 || c.p[c.i] == 0x60)) c.Skip(c.p[c.i] == 0x40 ? 6 : 9);
  if (c.left() < 1 || (c.p[c.i] & 0xc0) != 0x80) return false;  // STREAM frame: 0b10dooo ss
  const uint8_t type = c.p[c.i++];
  const size_t id_len = (type & 3) + 1, ooo = (type >> 2) & 7, off_len = ooo ? ooo + 1 : 0;
  if (c.left() < id_len + off_len + 2) return false;
  uint64_t id = 0, offset = 0;
  for (size_t i = 0; i < id_len; ++i) id = (id << 8) | c.p[c.i++];
  for (size_t i = 0; i < off_len; ++i) offset = (offset << 8) | c.p[c.i++];
  if (id != 1) return false;  // the crypto stream
  size_t n = c.left();
  if (type & 0x20) {
    const uint8_t a = c.p[c.i], b = c.p[c.i + 1];
    n = minor >= 39 ? size_t(a) << 8 | b : size_t(b) << 8 | a;
    c.i += 2;
  }
  n = std::min({n, c.left(), QuicInitial::kMaxBytes});
  std::memcpy(out->bytes.data(), c.p + c.i, n);
  // A gQUIC CHLO always fits in one packet, and a client's second CHLO (after the server's
  // REJ) comes at a later stream offset: each is a whole message, so it is handed on as the
  // start of the stream, replacing the one before.
  (void)offset;
  return AddChunk(out, 0, 0, n);
}

}  // namespace

bool ParseQuicInitial(const uint8_t* data, size_t len, QuicInitial* out) {
  out->chunks = 0;
  out->version = {};
  if (data == nullptr || !MayBeQuicInitial(data, len)) return false;
  if ((data[0] & 0x80) != 0 && Be32(data + 1) != 0x51303436) return LongHeaders(data, len, out);
  return ClearText(data, len, out);
}

bool ParseChloSni(const uint8_t* d, size_t len, std::string_view* name) {
  if (len < 8 || std::memcmp(d, "CHLO", 4) != 0) return false;
  const size_t tags = size_t(d[4]) | size_t(d[5]) << 8;  // little-endian, as gQUIC writes it
  const size_t values = 8 + 8 * tags;
  uint32_t prev = 0;
  for (size_t i = 0; i < tags && 8 + 8 * i + 8 <= len; ++i) {
    const uint8_t* t = d + 8 + 8 * i;
    const uint32_t end =
        uint32_t(t[4]) | uint32_t(t[5]) << 8 | uint32_t(t[6]) << 16 | uint32_t(t[7]) << 24;
    if (end < prev) return false;
    if (std::memcmp(t, "SNI\0", 4) == 0) {
      if (values + end > len || end - prev == 0 || end - prev > 255) return false;
      *name = std::string_view(reinterpret_cast<const char*>(d + values + prev), end - prev);
      return true;
    }
    prev = end;
  }
  return false;
}

}  // namespace tw::capture
