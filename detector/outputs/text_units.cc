#include "detector/outputs/text_units.h"

#include <cmath>
#include <cstdio>

#include "capture/ip_proto.h"

namespace tw::detector {

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, std::isfinite(v) ? v : 0.0);
  return buf;
}

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Duration(double s) {
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%.1f s", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%d min %02d s", int(s / 60), int(std::fmod(s, 60)));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof(buf), "%d h %02d min", int(s / 3600), int(std::fmod(s, 3600) / 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%d d %02d h", int(s / 86400), int(std::fmod(s, 86400) / 3600));
  }
  return buf;
}

std::string HumanRate(double bps) {
  if (!std::isfinite(bps) || bps < 0) bps = 0;
  if (bps >= 1e9) return Fmt("%.2f Gbit/s", bps / 1e9);
  if (bps >= 1e7) return Fmt("%.1f Mbit/s", bps / 1e6);
  if (bps >= 1e6) return Fmt("%.2f Mbit/s", bps / 1e6);
  if (bps >= 1e3) return Fmt("%.0f kbit/s", bps / 1e3);
  return Fmt("%.0f bit/s", bps);
}

std::string HumanBytes(double b) {
  if (!std::isfinite(b) || b < 0) b = 0;
  if (b >= 1e9) return Fmt("%.2f GB", b / 1e9);
  if (b >= 1e6) return Fmt("%.1f MB", b / 1e6);
  if (b >= 1e3) return Fmt("%.1f kB", b / 1e3);
  return Fmt("%.0f B", b);
}

std::string EndpointLabel(const capture::Address& a, uint16_t port, const AddressText& f) {
  const std::string s = f(a);
  if (port == 0) return s;
  return (a.IsV4() ? s : "[" + s + "]") + ":" + std::to_string(port);
}

std::string FlowLabel(const capture::FlowInfo& info, const AddressText& f) {
  return std::string(capture::ProtoName(info.proto())) + " " +
         EndpointLabel(info.local(), info.local_port(), f) + " <-> " +
         EndpointLabel(info.remote(), info.remote_port(), f);
}

std::string ServerEndLabel(const ServerEnd& k, const AddressText& f) {
  return std::string(capture::ProtoName(k.proto)) + " " + EndpointLabel(k.addr, k.port, f);
}

}  // namespace tw::detector
