#ifndef THROTTLEWATCH_CAPTURE_ANONYMIZER_H_
#define THROTTLEWATCH_CAPTURE_ANONYMIZER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "capture/address.h"

namespace tw::capture {

// Prefix-preserving address anonymization, Crypto-PAn (Xu, Fan, Ammar, Moon, ICNP 2002) with
// AES-128 as the pseudorandom function, compatible with the reference implementation for IPv4
// and with the usual 128-bit extension for IPv6: two addresses that share a k-bit prefix map to
// two addresses that share a k-bit prefix, and no longer one. Keyed and deterministic: the same
// 32-byte key (16 bytes of AES key, 16 bytes that make the pad) gives the same mapping in every
// run, on every machine. IPv4 (stored IPv4-mapped) stays IPv4.
//
// What it does not hide: which addresses share prefixes (the network structure), how many
// there are; ports, times and volumes are untouched. Anyone holding the key can reverse it by
// trying prefixes. See SECURITY.md.
//
// Immutable after construction: Anonymize() is const and safe to call from several threads.
// Costs one AES block per address bit (32 for IPv4, 128 for IPv6): cheap for events and
// reports, not meant for every packet.
class Anonymizer {
 public:
  static constexpr size_t kKeySize = 32;

  explicit Anonymizer(std::span<const uint8_t, kKeySize> key);

  // Reads a key file of exactly 32 bytes that only its owner can read (no group or other
  // permission bits, checked by ReadSecretFile like every secret: create it with
  // `(umask 077; head -c 32 /dev/urandom > KEYFILE)`).
  // Returns nullptr and sets *error (naming the file) on a missing, unreadable, wrongly sized
  // or too widely readable file.
  static std::unique_ptr<Anonymizer> FromKeyFile(const std::string& path, std::string* error);

  Address Anonymize(const Address& a) const;
  // The anonymized network of a prefix: the network address anonymized, the length kept.
  Cidr Anonymize(const Cidr& c) const;

 private:
  // One AES-128 block encryption under the expanded key (FIPS-197).
  void EncryptBlock(const uint8_t in[16], uint8_t out[16]) const;
  // The Crypto-PAn one-time pad for the first `bits` bits of `addr` (bits = 32 or 128),
  // XORed into a copy of it.
  void AnonymizeBits(const uint8_t* addr, int bits, uint8_t* out) const;

  std::array<uint8_t, 176> round_keys_{};
  std::array<uint8_t, 16> pad_{};
};

// The AES-128 block cipher on its own, for the FIPS-197 test vector. Exposed for tests.
void Aes128EncryptForTest(const uint8_t key[16], const uint8_t in[16], uint8_t out[16]);

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_ANONYMIZER_H_
