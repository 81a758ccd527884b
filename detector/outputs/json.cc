#include "detector/outputs/json.h"

#include <cmath>
#include <cstdint>

namespace tw::detector {

Json Rounded(double v, int decimals) {
  if (!std::isfinite(v)) v = 0;
  if (decimals <= 0) {
    const double r = std::round(v);
    // Beyond 2^63 an integer has no exact int64; such a figure is nonsense anyway.
    if (std::fabs(r) < 9.2e18) return Json(int64_t(r));
    return Json(r);
  }
  const double scale = std::pow(10.0, decimals);
  const double r = std::round(v * scale) / scale;
  return Json(r == 0 ? 0.0 : r);  // no "-0.0"
}

std::string DumpLine(const Json& j) {
  return j.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

}  // namespace tw::detector
