// The AVX512_VNNI micro-kernel of the int8 GEMM: vpdpbusd multiplies four u8
// activations by four s8 weights and adds the sum to an i32 lane exactly (the
// non-saturating form). Weights are packed in quads of consecutive k.
#include "runtime/cpu/GemmInt8Kernels.h"

#include <immintrin.h>

namespace qcc::rt::detail {
namespace {

// Accumulators are named variables, not an array: GCC 12 keeps a 6x4
// array of vectors in memory, which halves the kernel's speed.
#define QCC_ACC_ROW(r)                                                         \
  __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0,                 \
          c##r##2 = c##r##0, c##r##3 = c##r##0;
#define QCC_STEP_ROW(r)                                                        \
  if constexpr (Rows > r) {                                                    \
    __m512i x = _mm512_set1_epi32(static_cast<int>(a[r * aStride + s]));       \
    c##r##0 = OP(c##r##0, x, w0);                                              \
    c##r##1 = OP(c##r##1, x, w1);                                              \
    c##r##2 = OP(c##r##2, x, w2);                                              \
    c##r##3 = OP(c##r##3, x, w3);                                              \
  }
#define QCC_STORE_ROW(r)                                                       \
  if constexpr (Rows > r) {                                                    \
    _mm512_store_si512(acc + r * kInt8Panel, c##r##0);                         \
    _mm512_store_si512(acc + r * kInt8Panel + 16, c##r##1);                    \
    _mm512_store_si512(acc + r * kInt8Panel + 32, c##r##2);                    \
    _mm512_store_si512(acc + r * kInt8Panel + 48, c##r##3);                    \
  }
#define OP(c, x, w) _mm512_dpbusd_epi32(c, x, w)

template <int Rows>
void tileQuads(const uint32_t *a, int64_t aStride, const int8_t *b,
               int64_t kSteps, int32_t *acc) {
  QCC_ACC_ROW(0)
  QCC_ACC_ROW(1)
  QCC_ACC_ROW(2) QCC_ACC_ROW(3) QCC_ACC_ROW(4)
      QCC_ACC_ROW(5) for (int64_t s = 0; s < kSteps; ++s) {
    const int8_t *step = b + s * 256;
    __m512i w0 = _mm512_load_si512(step + 64 * 0),
            w1 = _mm512_load_si512(step + 64 * 1),
            w2 = _mm512_load_si512(step + 64 * 2),
            w3 = _mm512_load_si512(step + 64 * 3);
    QCC_STEP_ROW(0)
    QCC_STEP_ROW(1)
    QCC_STEP_ROW(2) QCC_STEP_ROW(3) QCC_STEP_ROW(4) QCC_STEP_ROW(5)
  }
  QCC_STORE_ROW(0)
  QCC_STORE_ROW(1)
  QCC_STORE_ROW(2) QCC_STORE_ROW(3) QCC_STORE_ROW(4) QCC_STORE_ROW(5)
}
#undef OP
#undef QCC_ACC_ROW
#undef QCC_STEP_ROW
#undef QCC_STORE_ROW

} // namespace

void int8TileAvx512Vnni(const uint32_t *a, int64_t aStride, int rows,
                        const int8_t *b, int64_t kSteps, int32_t *acc) {
  switch (rows) {
  case 6:
    return tileQuads<6>(a, aStride, b, kSteps, acc);
  case 5:
    return tileQuads<5>(a, aStride, b, kSteps, acc);
  case 4:
    return tileQuads<4>(a, aStride, b, kSteps, acc);
  case 3:
    return tileQuads<3>(a, aStride, b, kSteps, acc);
  case 2:
    return tileQuads<2>(a, aStride, b, kSteps, acc);
  default:
    return tileQuads<1>(a, aStride, b, kSteps, acc);
  }
}

} // namespace qcc::rt::detail
