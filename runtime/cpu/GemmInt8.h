// Integer GEMM for quantized layers: C = (A - za) x (B - zb) accumulated
// exactly in i32 (DESIGN.md section 3), followed by a fused epilogue that
// stores i32, dequantizes to f32 (scale, bias, activation clamp), or
// requantizes to 8 bits. A holds u8 or s8 activations, B s8 weights packed
// once for the micro-kernels of one instruction set.
#ifndef QCC_RUNTIME_CPU_GEMMINT8_H
#define QCC_RUNTIME_CPU_GEMMINT8_H

#include "runtime/cpu/AlignedBuffer.h"
#include "runtime/cpu/CpuFeatures.h"
#include "runtime/numerics/Numerics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qcc::rt {

class ThreadPool;

/// Weights of a K x N int8 matmul, repacked for the micro-kernels. Columns
/// are grouped in panels of 64; within a panel, consecutive k are interleaved
/// in pairs (AVX2/AVX-512: vpmaddwd on i16) or quads (VNNI: vpdpbusd).
struct PackedInt8Weights {
  Isa isa = Isa::Scalar;
  int64_t k = 0, n = 0;
  int64_t kSteps = 0; ///< K rounded up to the interleave, divided by it
  int interleave = 2; ///< 2 (pairs) or 4 (quads)
  AlignedBuffer<int8_t> data;
  std::vector<int32_t> columnSums; ///< sum over k of B[k][n]
  std::vector<int32_t> zeroPoints; ///< per column; empty when all zero
  static constexpr int64_t kPanel = 64;
  int64_t panels() const { return (n + kPanel - 1) / kPanel; }
};

/// Packs row-major B (K x N, s8). `zeroPoints` is null or holds N values in
/// [-128, 127]; u8 weights with zero point z are passed as (w - 128) with
/// z - 128, which is exact.
PackedInt8Weights packInt8Weights(const int8_t *b, int64_t k, int64_t n,
                                  const int32_t *zeroPoints, Isa isa);

/// What happens to each i32 accumulator before it is stored.
struct Int8Epilogue {
  enum class Output { Int32, Float32, Uint8, Int8 };
  Output output = Output::Int32;
  /// Float32: y = fma(float(acc), scale[n], bias[n]), then clamped to
  /// [lo, hi] (ReLU is lo = 0). Uint8/Int8: q = round_half_even(
  /// float(acc + biasInt[n]) * scale[n]) + outputZeroPoint, clamped to the
  /// storage range intersected with [lo, hi] (ReLU is lo = zero point).
  /// `scale` has N values, or one when `perColumnScale` is false.
  const float *scale = nullptr;
  bool perColumnScale = true;
  const float *bias = nullptr;      ///< Float32 only, N values or null
  const int32_t *biasInt = nullptr; ///< Uint8/Int8 only, N values or null
  int32_t outputZeroPoint = 0;
  float lo = -__builtin_inff(), hi = __builtin_inff();
  /// With an activation, bias is the f32 one for every output: y =
  /// act(fma(float(acc), scale[n], bias[n])) (rt::applyActivation, rounded
  /// to f32; the AVX-512 kernels compute it in f32, within a few ulps), then
  /// Float32 clamps y to [lo, hi] and Uint8/Int8 store round_half_even(y /
  /// outputScale) + outputZeroPoint, clamped as above.
  Activation activation = Activation::None;
  float outputScale = 1.0f;
};

/// Activations: M rows of K values at stride `lda` bytes, u8 with zero point
/// `aZeroPoint`, or s8 when `aSigned` (then the zero point is in s8 units).
struct Int8Activations {
  const void *data = nullptr;
  int64_t m = 0, lda = 0;
  int32_t zeroPoint = 0;
  bool isSigned = false;
};

/// C[m][n] for all m < M, n < N into `out` (row stride `ldc` elements of the
/// output type). Uses `pool` when non-null. Returns an empty string, or why
/// the call is invalid (the weights were packed for an ISA this CPU lacks,
/// a missing scale).
std::string gemmInt8(const Int8Activations &a, const PackedInt8Weights &b,
                     const Int8Epilogue &epilogue, void *out, int64_t ldc,
                     ThreadPool *pool = nullptr);

/// The definition the kernels must match, written as plain loops over the
/// unpacked matrices: used by tests and by the scalar path of nothing else.
void gemmInt8Reference(const Int8Activations &a, const int8_t *b, int64_t k,
                       int64_t n, const int32_t *zeroPoints,
                       const Int8Epilogue &epilogue, void *out, int64_t ldc);

} // namespace qcc::rt

#endif
