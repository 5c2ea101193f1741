// The 6 x 64 AVX-512 tile of the int8 GEMM, shared by the vpmaddwd
// (GemmInt8Avx512.cpp) and vpdpbusd (GemmInt8Vnni.cpp) kernels. Include it
// only from files compiled for AVX-512. `Step` is a type local to the
// including file, so each file's instantiations stay its own (no ISA mixing
// at link time). It provides
//   static constexpr int64_t kStepBytes;   // bytes of B per k-step
//   static __m512i load(const int8_t *step, int v);   // weights, columns 16v..
//   static __m512i accumulate(__m512i c, __m512i a, __m512i w);
#ifndef QCC_RUNTIME_CPU_INT8TILEAVX512_H
#define QCC_RUNTIME_CPU_INT8TILEAVX512_H

#include "runtime/cpu/GemmInt8Kernels.h"

#include <immintrin.h>

namespace qcc::rt::detail {

// Accumulators are named variables, not an array: GCC 12 keeps a 6x4 array
// of vectors in memory, which halves the kernel's speed.
#define QCC_ACC_ROW(r)                                                         \
  __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0,                 \
          c##r##2 = c##r##0, c##r##3 = c##r##0;
#define QCC_STEP_ROW(r)                                                        \
  if constexpr (Rows > r) {                                                    \
    __m512i x = _mm512_set1_epi32(static_cast<int>(a[r * aStride + s]));       \
    c##r##0 = Step::accumulate(c##r##0, x, w0);                                \
    c##r##1 = Step::accumulate(c##r##1, x, w1);                                \
    c##r##2 = Step::accumulate(c##r##2, x, w2);                                \
    c##r##3 = Step::accumulate(c##r##3, x, w3);                                \
  }
#define QCC_STORE_ROW(r)                                                       \
  if constexpr (Rows > r) {                                                    \
    _mm512_store_si512(acc + r * kInt8Panel, c##r##0);                         \
    _mm512_store_si512(acc + r * kInt8Panel + 16, c##r##1);                    \
    _mm512_store_si512(acc + r * kInt8Panel + 32, c##r##2);                    \
    _mm512_store_si512(acc + r * kInt8Panel + 48, c##r##3);                    \
  }

template <typename Step, int Rows>
void int8Tile(const uint32_t *a, int64_t aStride, const int8_t *b,
              int64_t kSteps, int32_t *acc) {
  QCC_ACC_ROW(0)
  QCC_ACC_ROW(1) QCC_ACC_ROW(2) QCC_ACC_ROW(3) QCC_ACC_ROW(4)
      QCC_ACC_ROW(5) for (int64_t s = 0; s < kSteps; ++s) {
    const int8_t *step = b + s * Step::kStepBytes;
    __m512i w0 = Step::load(step, 0), w1 = Step::load(step, 1),
            w2 = Step::load(step, 2), w3 = Step::load(step, 3);
    QCC_STEP_ROW(0)
    QCC_STEP_ROW(1) QCC_STEP_ROW(2) QCC_STEP_ROW(3) QCC_STEP_ROW(4)
        QCC_STEP_ROW(5)
  }
  QCC_STORE_ROW(0)
  QCC_STORE_ROW(1) QCC_STORE_ROW(2) QCC_STORE_ROW(3) QCC_STORE_ROW(4)
      QCC_STORE_ROW(5)
}

#undef QCC_ACC_ROW
#undef QCC_STEP_ROW
#undef QCC_STORE_ROW

/// Picks the instantiation for 1..kInt8TileRows rows.
template <typename Step>
void int8TileRows(const uint32_t *a, int64_t aStride, int rows, const int8_t *b,
                  int64_t kSteps, int32_t *acc) {
  static_assert(kInt8TileRows == 6, "one case per row count");
  switch (rows) {
  case 6:
    return int8Tile<Step, 6>(a, aStride, b, kSteps, acc);
  case 5:
    return int8Tile<Step, 5>(a, aStride, b, kSteps, acc);
  case 4:
    return int8Tile<Step, 4>(a, aStride, b, kSteps, acc);
  case 3:
    return int8Tile<Step, 3>(a, aStride, b, kSteps, acc);
  case 2:
    return int8Tile<Step, 2>(a, aStride, b, kSteps, acc);
  default:
    return int8Tile<Step, 1>(a, aStride, b, kSteps, acc);
  }
}

} // namespace qcc::rt::detail

#endif
