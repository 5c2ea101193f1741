// Weight-only 4-bit matmul: Y = X W^T + bias with f32 activations and 4-bit
// weights that are dequantized in registers. One kernel covers uint4 and
// int4 with per-group zero points and NF4: every format is a table of 16
// levels, and a weight is (levels[code] - zeroPoint[g]) * scale[g], which is
// exactly the f32 value DequantizeLinear gives (DESIGN.md section 3).
#ifndef QCC_RUNTIME_CPU_GEMMINT4_H
#define QCC_RUNTIME_CPU_GEMMINT4_H

#include "runtime/cpu/AlignedBuffer.h"
#include "runtime/cpu/CpuFeatures.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace qcc::rt {

class ThreadPool;

/// N rows of K codes (the weight is W[n][k], groups run along k). Each row is
/// cut into chunks of 128 codes stored in 64 bytes: nibble i of dword j holds
/// k = 128 c + 16 i + j, so shifting a chunk right by 4 i puts the codes of
/// 16 consecutive k in the low bits of 16 lanes, ready for a table lookup.
struct PackedInt4Weights {
  Isa isa = Isa::Scalar;
  int64_t n = 0, k = 0, kPadded = 0, groupSize = 0, groups = 0;
  AlignedBuffer<uint8_t> codes;   ///< n * kPadded / 2 bytes
  std::vector<float> scales;      ///< n * groups
  std::vector<int8_t> zeroPoints; ///< n * groups, or empty for none
  std::array<float, 16> levels{};
  static constexpr int64_t kChunk = 128;
  int64_t rowBytes() const { return kPadded / 2; }
};

/// The 16 levels of uint4 (0..15) and int4 (two's-complement nibbles, -8..7);
/// NF4's are rt::nf4Levels() in runtime/numerics.
std::array<float, 16> uint4Levels();
std::array<float, 16> int4Levels();

/// `codes` holds n x k codes, one per byte (0..15). `scales` has
/// n x ceil(k / groupSize) values; `zeroPoints` as many, or null. groupSize
/// must be a positive multiple of 16. Returns the packed weights, or an
/// error in `error`.
PackedInt4Weights packInt4Weights(const uint8_t *codes, int64_t n, int64_t k,
                                  int64_t groupSize, const float *scales,
                                  const int8_t *zeroPoints,
                                  const std::array<float, 16> &levels, Isa isa,
                                  std::string &error);

/// Y[m][n] = sum_k X[m][k] * W[n][k] + bias[n] for m < M (bias may be null).
/// Returns an empty string or why the call is invalid.
std::string gemmWeightInt4(const float *x, int64_t m, int64_t ldx,
                           const PackedInt4Weights &w, const float *bias,
                           float *y, int64_t ldy, ThreadPool *pool = nullptr);

} // namespace qcc::rt

#endif
