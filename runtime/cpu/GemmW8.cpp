// Checks, threading, dispatch and the scalar kernel of the weight-only 8-bit
// matmul (W8A16).
#include "runtime/cpu/GemmW8.h"

#include "runtime/cpu/ThreadPool.h"

#include <algorithm>
#include <cmath>

namespace qcc::rt {

std::string checkW8Weights(const W8Weights &w) {
  if (w.n <= 0 || w.k <= 0 || w.groupSize <= 0 ||
      w.groups != (w.k + w.groupSize - 1) / w.groupSize)
    return "8-bit weights need positive sizes and ceil(K / group) groups";
  if (!w.codes || !w.scales)
    return "8-bit weights have no codes or scales";
  const int lo = w.isSigned ? -128 : 0, hi = w.isSigned ? 127 : 255;
  for (int64_t i = 0; i < w.n * w.groups; ++i) {
    if (!std::isfinite(w.scales[i]))
      return "scale " + std::to_string(i) + " is not finite";
    if (w.zeroPoints && (w.zeroPoints[i] < lo || w.zeroPoints[i] > hi))
      return "zero point " + std::to_string(w.zeroPoints[i]) + " at " +
             std::to_string(i) + " is outside the " +
             (w.isSigned ? "int8" : "uint8") + " range";
  }
  return {};
}

std::string gemmW8(const float *x, int64_t m, int64_t ldx, const W8Weights &w,
                   const float *bias, float *y, int64_t ldy, ThreadPool *pool) {
  if (!isaSupported(w.isa))
    return std::string("8-bit weights were prepared for ") + isaName(w.isa) +
           ", which this CPU does not support";
  if (w.n <= 0 || w.k <= 0 || w.groupSize <= 0 || !w.codes || !w.scales)
    return "8-bit weights are empty";
  if (m < 0 || ldx < w.k || ldy < w.n)
    return "8-bit matmul strides are smaller than the matrix widths";
  if (m == 0)
    return {};
  detail::W8RowsFn rows =
      w.isa >= Isa::Avx2 ? detail::w8RowsAvx2 : detail::w8RowsScalar;
  // Tasks are blocks of 16 output columns, as for the 4-bit kernel.
  forBlocks(pool, w.n, 16, [&](int64_t n0, int64_t n1) {
    rows(x, m, ldx, w, bias, y, ldy, n0, n1);
  });
  return {};
}

namespace detail {

void w8RowsScalar(const float *x, int64_t m, int64_t ldx, const W8Weights &w,
                  const float *bias, float *y, int64_t ldy, int64_t n0,
                  int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t *row = w.codes + n * w.k;
    for (int64_t r = 0; r < m; ++r) {
      const float *xr = x + r * ldx;
      float total = 0;
      for (int64_t g = 0; g < w.groups; ++g) {
        const int64_t at = n * w.groups + g;
        const float scale = w.scales[at];
        const float zero = w.zeroPoints ? w.zeroPoints[at] : 0.f;
        const int64_t end = std::min(w.k, (g + 1) * w.groupSize);
        for (int64_t k = g * w.groupSize; k < end; ++k)
          total += (w8Level(row[k], w.isSigned) - zero) * scale * xr[k];
      }
      y[r * ldy + n] = total + (bias ? bias[n] : 0.f);
    }
  }
}

} // namespace detail
} // namespace qcc::rt
