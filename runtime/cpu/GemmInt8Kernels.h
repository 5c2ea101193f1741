// The per-ISA entry points of the int8 GEMM, shared by GemmInt8.cpp and the
// files compiled with -mavx2 / -mavx512* flags. Only plain pointers and
// scalars cross this boundary, so no inline library code is compiled for one
// ISA and linked into another's caller.
#ifndef QCC_RUNTIME_CPU_GEMMINT8KERNELS_H
#define QCC_RUNTIME_CPU_GEMMINT8KERNELS_H

#include "runtime/numerics/Numerics.h"

#include <cstdint>

namespace qcc::rt::detail {

/// The most rows one micro-kernel call computes.
constexpr int kInt8TileRows = 6;
constexpr int kInt8Panel = 64;

/// Everything the epilogue needs for one GEMM call.
struct Int8EpilogueArgs {
  int output;                ///< Int8Epilogue::Output as int
  const int32_t *columnTerm; ///< N: -za*colsum[n] + K*za*zb[n]
  const int32_t *zeroPoints; ///< N or null: zb[n]
  const int32_t *rowSums;    ///< M (with zeroPoints): sum_k A[m][k]
  const float *scale;
  bool perColumnScale;
  const float *bias;
  const int32_t *biasInt;
  float outputZeroPoint;
  float lo, hi; ///< clamp bounds in the output's units (storage range included)
  int activation;    ///< rt::Activation as int
  float outputScale; ///< divides act(y) for 8-bit outputs with an activation
  void *out;
  int64_t ldc; ///< elements
};

/// Computes rows x 64 accumulators of one panel into acc[rows][64]. `a` holds
/// one packed dword per (row, k-step) at stride aStride dwords; `b` is the
/// panel's first step. rows is 1..kInt8TileRows.
using Int8TileFn = void (*)(const uint32_t *a, int64_t aStride, int rows,
                            const int8_t *b, int64_t kSteps, int32_t *acc);
/// Applies the epilogue to acc[rows][64] for output rows row0.. and columns
/// col0..col0+cols-1 (cols <= 64).
using Int8EpilogueFn = void (*)(const int32_t *acc, int rows, int cols,
                                int64_t row0, int64_t col0,
                                const Int8EpilogueArgs &args);

void int8TileScalar(const uint32_t *, int64_t, int, const int8_t *, int64_t,
                    int32_t *);
void int8EpilogueScalar(const int32_t *, int, int, int64_t, int64_t,
                        const Int8EpilogueArgs &);
void int8TileAvx2(const uint32_t *, int64_t, int, const int8_t *, int64_t,
                  int32_t *);
void int8TileAvx512(const uint32_t *, int64_t, int, const int8_t *, int64_t,
                    int32_t *);
void int8TileAvx512Vnni(const uint32_t *, int64_t, int, const int8_t *, int64_t,
                        int32_t *);
void int8EpilogueAvx512(const int32_t *, int, int, int64_t, int64_t,
                        const Int8EpilogueArgs &);

/// One accumulator through the epilogue; the vector epilogues must agree
/// with this bit for bit, except for the activations, which they compute in
/// f32 within a few ulps of this.
inline void int8EpilogueElement(int32_t acc, int64_t row, int64_t col,
                                const Int8EpilogueArgs &e) {
  acc += e.columnTerm[col];
  if (e.zeroPoints)
    acc -= e.zeroPoints[col] * e.rowSums[row];
  char *base = static_cast<char *>(e.out);
  if (e.output == 0) { // Int32
    reinterpret_cast<int32_t *>(base)[row * e.ldc + col] = acc;
    return;
  }
  float scale = e.perColumnScale ? e.scale[col] : e.scale[0];
  if (e.activation != 0) {
    float y = e.bias
                  ? __builtin_fmaf(static_cast<float>(acc), scale, e.bias[col])
                  : static_cast<float>(acc) * scale;
    y = static_cast<float>(
        applyActivation(static_cast<Activation>(e.activation), y));
    if (e.output == 1) {
      y = y < e.lo ? e.lo : y;
      y = y > e.hi ? e.hi : y;
      reinterpret_cast<float *>(base)[row * e.ldc + col] = y;
      return;
    }
    float q = __builtin_nearbyintf(y / e.outputScale) + e.outputZeroPoint;
    q = q < e.lo ? e.lo : q;
    q = q > e.hi ? e.hi : q;
    if (e.output == 2)
      reinterpret_cast<uint8_t *>(base)[row * e.ldc + col] =
          static_cast<uint8_t>(static_cast<int32_t>(q));
    else
      reinterpret_cast<int8_t *>(base)[row * e.ldc + col] =
          static_cast<int8_t>(static_cast<int32_t>(q));
    return;
  }
  switch (e.output) {
  case 1: { // Float32
    float y = e.bias
                  ? __builtin_fmaf(static_cast<float>(acc), scale, e.bias[col])
                  : static_cast<float>(acc) * scale;
    y = y < e.lo ? e.lo : y;
    y = y > e.hi ? e.hi : y;
    reinterpret_cast<float *>(base)[row * e.ldc + col] = y;
    return;
  }
  default: { // Uint8, Int8
    if (e.biasInt)
      acc += e.biasInt[col];
    float q = __builtin_nearbyintf(static_cast<float>(acc) * scale) +
              e.outputZeroPoint;
    q = q < e.lo ? e.lo : q;
    q = q > e.hi ? e.hi : q;
    int32_t v = static_cast<int32_t>(q);
    if (e.output == 2)
      reinterpret_cast<uint8_t *>(base)[row * e.ldc + col] =
          static_cast<uint8_t>(v);
    else
      reinterpret_cast<int8_t *>(base)[row * e.ldc + col] =
          static_cast<int8_t>(v);
    return;
  }
  }
}

} // namespace qcc::rt::detail

#endif
