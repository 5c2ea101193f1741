// AVX2 micro-kernel of the int8 GEMM, for CPUs without AVX-512: the same
// vpmaddwd pair scheme on 256-bit registers, a 64-column panel in two halves
// of 32 columns so that 12 accumulators, 3 broadcasts and a weight vector fit
// in the 16 YMM registers.
#include "runtime/cpu/GemmInt8Kernels.h"

#include <immintrin.h>

namespace qcc::rt::detail {
namespace {

template <int Rows>
void halfPanel(const uint32_t *a, int64_t aStride, const int8_t *b,
               int64_t kSteps, int half, int32_t *acc) {
  __m256i c[Rows][4];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < 4; ++v)
      c[r][v] = _mm256_setzero_si256();
  for (int64_t s = 0; s < kSteps; ++s) {
    const int8_t *step = b + s * kInt8Panel * 2 + half * 64;
    __m256i x[Rows];
    for (int r = 0; r < Rows; ++r)
      x[r] = _mm256_set1_epi32(static_cast<int>(a[r * aStride + s]));
    for (int v = 0; v < 4; ++v) {
      __m256i w = _mm256_cvtepi8_epi16(
          _mm_load_si128(reinterpret_cast<const __m128i *>(step + 16 * v)));
      for (int r = 0; r < Rows; ++r)
        c[r][v] = _mm256_add_epi32(c[r][v], _mm256_madd_epi16(x[r], w));
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < 4; ++v)
      _mm256_store_si256(
          reinterpret_cast<__m256i *>(acc + r * kInt8Panel + half * 32 + 8 * v),
          c[r][v]);
}

template <int Rows>
void panel(const uint32_t *a, int64_t aStride, const int8_t *b, int64_t kSteps,
           int32_t *acc) {
  halfPanel<Rows>(a, aStride, b, kSteps, 0, acc);
  halfPanel<Rows>(a, aStride, b, kSteps, 1, acc);
}

} // namespace

void int8TileAvx2(const uint32_t *a, int64_t aStride, int rows, const int8_t *b,
                  int64_t kSteps, int32_t *acc) {
  // Rows come in threes; a tile of up to six is two calls.
  for (int r0 = 0; r0 < rows; r0 += 3) {
    int n = rows - r0 < 3 ? rows - r0 : 3;
    const uint32_t *ar = a + r0 * aStride;
    int32_t *accr = acc + r0 * kInt8Panel;
    if (n == 3)
      panel<3>(ar, aStride, b, kSteps, accr);
    else if (n == 2)
      panel<2>(ar, aStride, b, kSteps, accr);
    else
      panel<1>(ar, aStride, b, kSteps, accr);
  }
}

} // namespace qcc::rt::detail
