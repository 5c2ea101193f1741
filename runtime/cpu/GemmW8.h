// Weight-only 8-bit matmul (W8A16): Y = X W^T + bias with f32 activations and
// uint8/int8 weights that are dequantized in registers. Each weight is
// exactly the f32 value DequantizeLinear gives, (code - zeroPoint) * scale
// (DESIGN.md section 3), so the kernels differ from the reference
// interpreter's matmul only in the order of the f32 sums.
#ifndef QCC_RUNTIME_CPU_GEMMW8_H
#define QCC_RUNTIME_CPU_GEMMW8_H

#include "runtime/cpu/CpuFeatures.h"

#include <cstdint>
#include <string>

namespace qcc::rt {

class ThreadPool;

/// The weights as the package stores them, borrowed (no copy: the point of
/// W8A16 is that the weights stay 8-bit in memory). W[n][k] is codes[n * k
/// + k]; groups of groupSize run along k (groupSize = k: per channel).
struct W8Weights {
  Isa isa = Isa::Scalar;
  int64_t n = 0, k = 0, groupSize = 0, groups = 0;
  bool isSigned = false;               ///< int8 codes, else uint8
  const uint8_t *codes = nullptr;      ///< n rows of k bytes
  const float *scales = nullptr;       ///< n * groups, row n contiguous
  const int16_t *zeroPoints = nullptr; ///< as many, or null for none
};

/// Checks the sizes and that every zero point fits the format and every
/// scale is finite: an empty string, or what is wrong.
std::string checkW8Weights(const W8Weights &w);

/// Y[m][n] = sum_k X[m][k] * W[n][k] + bias[n] for m < M (bias may be null).
/// Returns an empty string or why the call is invalid.
std::string gemmW8(const float *x, int64_t m, int64_t ldx, const W8Weights &w,
                   const float *bias, float *y, int64_t ldy,
                   ThreadPool *pool = nullptr);

namespace detail {
/// Output columns [n0, n1) of all m rows, per ISA.
using W8RowsFn = void (*)(const float *x, int64_t m, int64_t ldx,
                          const W8Weights &w, const float *bias, float *y,
                          int64_t ldy, int64_t n0, int64_t n1);
void w8RowsScalar(const float *, int64_t, int64_t, const W8Weights &,
                  const float *, float *, int64_t, int64_t, int64_t);
void w8RowsAvx2(const float *, int64_t, int64_t, const W8Weights &,
                const float *, float *, int64_t, int64_t, int64_t);
/// The level of code c: c as uint8 or int8.
inline float w8Level(uint8_t c, bool isSigned) {
  return isSigned ? static_cast<float>(static_cast<int8_t>(c))
                  : static_cast<float>(c);
}
} // namespace detail

} // namespace qcc::rt

#endif
