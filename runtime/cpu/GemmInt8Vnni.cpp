// The AVX512_VNNI micro-kernel of the int8 GEMM: vpdpbusd multiplies four u8
// activations by four s8 weights and adds the sum to an i32 lane exactly (the
// non-saturating form). Weights are packed in quads of consecutive k.
#include "runtime/cpu/GemmInt8Kernels.h"

#include <immintrin.h>

namespace qcc::rt::detail {
namespace {

template <int Rows>
void tileQuads(const uint32_t *a, int64_t aStride, const int8_t *b,
               int64_t kSteps, int32_t *acc) {
  __m512i c[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < 4; ++v)
      c[r][v] = _mm512_setzero_si512();
  for (int64_t s = 0; s < kSteps; ++s) {
    const int8_t *step = b + s * kInt8Panel * 4;
    __m512i w[4];
    for (int v = 0; v < 4; ++v)
      w[v] = _mm512_load_si512(step + 64 * v);
    for (int r = 0; r < Rows; ++r) {
      __m512i x = _mm512_set1_epi32(static_cast<int>(a[r * aStride + s]));
      for (int v = 0; v < 4; ++v)
        c[r][v] = _mm512_dpbusd_epi32(c[r][v], x, w[v]);
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < 4; ++v)
      _mm512_store_si512(acc + r * kInt8Panel + 16 * v, c[r][v]);
}

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
