#include "capture/address.h"

#include <arpa/inet.h>

#include <bit>
#include <charconv>
#include <cstring>

#include "util/hash.h"

namespace tw::capture {
namespace {

// Longest text inet_pton() may accept ("ffff:...:255.255.255.255" is 45 characters).
constexpr size_t kMaxAddressText = 46;

// The ::ffff:0:0/96 prefix that marks an IPv4-mapped address.
constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void AppendV4(const uint8_t* four_bytes, std::string* out) {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) out->push_back('.');
    out->append(std::to_string(four_bytes[i]));
  }
}

void AppendHex16(uint16_t word, std::string* out) {
  static constexpr char kDigits[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    const int digit = (word >> shift) & 0xf;
    if (digit != 0 || started || shift == 0) {
      out->push_back(kDigits[digit]);
      started = true;
    }
  }
}

// RFC 5952 section 4: lowercase, no leading zeros, the first longest run of two or more zero
// groups replaced by "::".
void AppendV6(const std::array<uint8_t, 16>& bytes, std::string* out) {
  uint16_t words[8];
  for (int i = 0; i < 8; ++i) {
    words[i] = static_cast<uint16_t>((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  }
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (words[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && words[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best_start = -1;
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out->append("::");
      i += best_len - 1;
      continue;
    }
    if (i > 0 && i != best_start + best_len) out->push_back(':');
    AppendHex16(words[i], out);
  }
}

// Zeroes every bit of `a` after the first `bits`.
void MaskHostBits(Address* a, int bits) {
  for (int i = 0; i < 16; ++i) {
    const int keep = bits - 8 * i;
    if (keep >= 8) continue;
    a->bytes[i] &= keep <= 0 ? uint8_t{0} : static_cast<uint8_t>(0xff << (8 - keep));
  }
}

}  // namespace

std::optional<Address> Address::Parse(std::string_view text) {
  // inet_pton() stops at a NUL, which would accept "1.2.3.4\0junk".
  if (text.empty() || text.size() >= kMaxAddressText || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  char buf[kMaxAddressText];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t raw[16];
  if (text.find(':') != std::string_view::npos) {
    if (inet_pton(AF_INET6, buf, raw) != 1) return std::nullopt;
    return FromV6(raw);
  }
  if (inet_pton(AF_INET, buf, raw) != 1) return std::nullopt;
  return FromV4(raw);
}

bool Address::IsV4() const {
  return std::memcmp(bytes.data(), kV4MappedPrefix, sizeof(kV4MappedPrefix)) == 0;
}

std::string Address::ToString() const {
  std::string out;
  if (IsV4()) {
    AppendV4(bytes.data() + 12, &out);
  } else {
    AppendV6(bytes, &out);
  }
  return out;
}

bool Address::IsPrivate() const {
  if (IsV4()) {
    const uint8_t a = bytes[12], b = bytes[13];
    return a == 10 || (a == 172 && (b & 0xf0) == 16) || (a == 192 && b == 168) ||
           (a == 100 && (b & 0xc0) == 64) || a == 127 || (a == 169 && b == 254);
  }
  static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return (bytes[0] & 0xfe) == 0xfc ||                        // fc00::/7 unique local
         (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) ||  // fe80::/10 link-local
         std::memcmp(bytes.data(), kLoopback, 16) == 0;      // ::1
}

size_t AddressHash::operator()(const Address& a) const {
  uint64_t w[2];
  std::memcpy(w, a.bytes.data(), sizeof(w));
  return size_t(util::HashWords(w));
}

bool Address::IsRoutableUnicast() const {
  if (IsV4()) {
    const uint8_t a = bytes[12], b = bytes[13];
    const bool zero = a == 0;                      // 0/8 "this network"
    const bool loopback = a == 127;                // 127/8
    const bool link_local = a == 169 && b == 254;  // 169.254/16
    const bool multicast = (a & 0xf0) == 0xe0;     // 224/4
    const bool reserved = (a & 0xf0) == 0xf0;      // 240/4 and 255.255.255.255
    return !(zero || loopback || link_local || multicast || reserved);
  }
  static constexpr uint8_t kZero[16] = {};
  static constexpr uint8_t kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return !(bytes[0] == 0xff ||                                 // ff00::/8 multicast
           (bytes[0] == 0xfe && (bytes[1] & 0xc0) == 0x80) ||  // fe80::/10 link-local
           std::memcmp(bytes.data(), kZero, 16) == 0 ||        // ::
           std::memcmp(bytes.data(), kLoopback, 16) == 0);     // ::1
}

bool Address::IsBogon() const {
  if (IsPrivate() || !IsRoutableUnicast()) return true;
  const auto& b = bytes;
  if (IsV4()) {
    const bool protocol = b[12] == 192 && b[13] == 0 && b[14] == 0 && b[15] != 9 && b[15] != 10;
    const bool benchmarking = b[12] == 198 && (b[13] & 0xfe) == 18;
    return protocol || benchmarking;
  }
  static constexpr uint8_t kDiscard[8] = {0x01, 0, 0, 0, 0, 0, 0, 0};        // 100::/64
  static constexpr uint8_t kLocalNat64[6] = {0, 0x64, 0xff, 0x9b, 0, 0x01};  // 64:ff9b:1::/48
  return std::memcmp(b.data(), kDiscard, 8) == 0 || std::memcmp(b.data(), kLocalNat64, 6) == 0;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  const size_t slash = text.find('/');
  const std::optional<Address> addr = Address::Parse(text.substr(0, slash));
  if (!addr) return std::nullopt;
  const bool v4_text = text.substr(0, slash).find(':') == std::string_view::npos;
  const int max_len = v4_text ? 32 : 128;
  int len = max_len;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 || digits[0] < '0' || digits[0] > '9') {
      return std::nullopt;
    }
    const char* end = digits.data() + digits.size();
    const auto [ptr, ec] = std::from_chars(digits.data(), end, len);
    if (ec != std::errc() || ptr != end || len < 0 || len > max_len) return std::nullopt;
  }
  Cidr c;
  c.network = *addr;
  c.prefix_len = v4_text ? 96 + len : len;
  MaskHostBits(&c.network, c.prefix_len);
  return c;
}

bool Cidr::Contains(const Address& a) const {
  if (prefix_len < 0 || prefix_len > 128) return false;
  // Two masked 64-bit compares (this runs twice per packet).
  uint64_t n[2], x[2];
  std::memcpy(n, network.bytes.data(), 16);
  std::memcpy(x, a.bytes.data(), 16);
  auto be = [](uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
    return v;
  };
  const int hi_bits = prefix_len < 64 ? prefix_len : 64;
  const int lo_bits = prefix_len - hi_bits;
  const uint64_t mh = hi_bits == 0 ? 0 : ~uint64_t{0} << (64 - hi_bits);
  const uint64_t ml = lo_bits == 0 ? 0 : ~uint64_t{0} << (64 - lo_bits);
  return ((be(n[0]) ^ be(x[0])) & mh) == 0 && ((be(n[1]) ^ be(x[1])) & ml) == 0;
}

std::string Cidr::ToString() const {
  const bool v4 = network.IsV4() && prefix_len >= 96;
  return network.ToString() + "/" + std::to_string(v4 ? prefix_len - 96 : prefix_len);
}

}  // namespace tw::capture
