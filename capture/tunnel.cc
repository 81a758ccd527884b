#include "capture/tunnel.h"

#include <iterator>

namespace tw::capture {
namespace {
constexpr Tunnel kAllTunnels[] = {Tunnel::kPppoe,  Tunnel::kMpls,  Tunnel::kGre,    Tunnel::kPptp,
                                  Tunnel::kErspan, Tunnel::kVxlan, Tunnel::kGeneve, Tunnel::kGtpu,
                                  Tunnel::kTeredo, Tunnel::k4in4,  Tunnel::k6in4,   Tunnel::k4in6,
                                  Tunnel::k6in6};
}  // namespace

std::string_view TunnelName(Tunnel t) {
  switch (t) {
    case Tunnel::kNone:
      return "";
    case Tunnel::kPppoe:
      return "pppoe";
    case Tunnel::kMpls:
      return "mpls";
    case Tunnel::kGre:
      return "gre";
    case Tunnel::kPptp:
      return "pptp";
    case Tunnel::kErspan:
      return "erspan";
    case Tunnel::kVxlan:
      return "vxlan";
    case Tunnel::kGeneve:
      return "geneve";
    case Tunnel::kGtpu:
      return "gtpu";
    case Tunnel::kTeredo:
      return "teredo";
    case Tunnel::k4in4:
      return "4in4";
    case Tunnel::k6in4:
      return "6in4";
    case Tunnel::k4in6:
      return "4in6";
    case Tunnel::k6in6:
      return "6in6";
  }
  return "";
}

std::string TunnelPathName(const TunnelPath& path) {
  std::string s;
  for (int i = 0; i < path.depth(); ++i) {
    if (i > 0) s += '/';
    s += TunnelName(path.at(i));
  }
  return s;
}

bool ParseTunnelPath(std::string_view text, TunnelPath* path) {
  TunnelPath parsed;
  while (!text.empty()) {
    const size_t slash = text.find('/');
    const std::string_view name = text.substr(0, slash);
    const Tunnel* t = kAllTunnels;
    while (t != std::end(kAllTunnels) && TunnelName(*t) != name) ++t;
    if (t == std::end(kAllTunnels) || !parsed.Push(*t)) return false;
    if (slash == std::string_view::npos) break;
    text.remove_prefix(slash + 1);
    if (text.empty()) return false;  // a trailing '/'
  }
  *path = parsed;
  return true;
}

}  // namespace tw::capture
