#ifndef THROTTLEWATCH_CAPTURE_LOCAL_NETWORKS_H_
#define THROTTLEWATCH_CAPTURE_LOCAL_NETWORKS_H_

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "capture/address.h"
#include "capture/decode.h"

namespace tw::capture {

// The set of prefixes that are "our side" of the monitored link. Traffic leaving them is "up",
// traffic arriving to them is "down".
class LocalNetworks {
 public:
  LocalNetworks() = default;
  explicit LocalNetworks(std::vector<Cidr> cidrs);

  // Parses "CIDR[,CIDR...]". On malformed text returns false and sets *error.
  static bool Parse(std::string_view text, LocalNetworks* out, std::string* error);

  bool empty() const { return cidrs_.empty(); }
  // Runs twice per packet: masked compares of the address's two halves, in memory order.
  bool Contains(const Address& a) const {
    uint64_t x[2];
    std::memcpy(x, a.bytes.data(), 16);
    for (const Masked& m : masked_) {
      if (((x[0] & m.mask[0]) ^ m.net[0]) == 0 && ((x[1] & m.mask[1]) ^ m.net[1]) == 0) {
        return true;
      }
    }
    return false;
  }
  const std::vector<Cidr>& cidrs() const { return cidrs_; }
  std::string ToString() const;  // "10.0.0.0/24,fd00::/64"

 private:
  struct Masked {
    uint64_t net[2], mask[2];  // the prefix's bytes and mask as two words, as in memory
  };
  std::vector<Cidr> cidrs_;
  std::vector<Masked> masked_;  // one per valid entry of cidrs_
};

// Infers the local side from a sample of packets when the user gave no --local. Each address
// scores a point per flow it initiates (TCP SYN without ACK; first packet of a UDP/ICMP
// conversation) and half a point per distinct peer; private addresses facing public ones win
// outright. The winner's /24 (IPv4) or /64 (IPv6) is local, plus the best address of the other
// family if it initiated anything; the winner alone when all its peers are in that prefix (both
// ends of a router trace in one subnet). Link-local, multicast and broadcast traffic (neighbour
// discovery, DHCP, mDNS) is ignored. Observe() is cheap but allocates (it is for a sample, not for
// every packet of a long capture).
class LocalNetworkGuesser {
 public:
  void Observe(const DecodedPacket& p);
  // The inferred networks (empty when nothing was observed).
  LocalNetworks Guess() const;
  uint64_t observed() const { return observed_; }

 private:
  struct Score {
    double initiated = 0;
    std::vector<Address> peers;  // small: capped
  };
  std::map<Address, Score> scores_;
  std::map<std::pair<Address, Address>, bool> seen_pairs_;
  uint64_t observed_ = 0;
  bool saw_public_ = false;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_LOCAL_NETWORKS_H_
