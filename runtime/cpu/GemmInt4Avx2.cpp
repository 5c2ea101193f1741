// AVX2 kernel of the weight-only 4-bit matmul. vpermps on YMM looks up 8
// entries, so the 16-entry table is two registers: both are looked up and
// bit 3 of the code (moved to the sign bit) picks between them.
#include "runtime/cpu/GemmInt4Kernels.h"

#include <immintrin.h>

namespace qcc::rt::detail {

void int4RowsAvx2(const Int4Args &a, int64_t n0, int64_t n1) {
  const int64_t rowBytes = a.kPadded / 2;
  const int64_t slices = a.kPadded / 16;
  const int64_t perGroup = a.groupSize / 16;
  const __m256 levelsLo = _mm256_loadu_ps(a.levels);
  const __m256 levelsHi = _mm256_loadu_ps(a.levels + 8);
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t *codes = a.codes + n * rowBytes;
    for (int64_t m = 0; m < a.m; ++m) {
      const float *x = a.x + m * a.kPadded;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
      for (int64_t g = 0; g < a.groups; ++g) {
        int64_t at = n * a.groups + g;
        __m256 zero = _mm256_set1_ps(a.zeroPoints ? a.zeroPoints[at] : 0.f);
        __m256 scale = _mm256_set1_ps(a.scales[at]);
        __m256 lo = _mm256_mul_ps(_mm256_sub_ps(levelsLo, zero), scale);
        __m256 hi = _mm256_mul_ps(_mm256_sub_ps(levelsHi, zero), scale);
        int64_t end = (g + 1) * perGroup < slices ? (g + 1) * perGroup : slices;
        for (int64_t s = g * perGroup; s < end; ++s) {
          const uint8_t *chunk = codes + (s >> 3) * 64;
          const __m128i shift =
              _mm_cvtsi32_si128(static_cast<int>(4 * (s & 7)));
          for (int half = 0; half < 2; ++half) {
            __m256i q = _mm256_srl_epi32(
                _mm256_load_si256(
                    reinterpret_cast<const __m256i *>(chunk + 32 * half)),
                shift);
            __m256 pick = _mm256_castsi256_ps(_mm256_slli_epi32(q, 28));
            __m256 w = _mm256_blendv_ps(_mm256_permutevar8x32_ps(lo, q),
                                        _mm256_permutevar8x32_ps(hi, q), pick);
            __m256 xv = _mm256_load_ps(x + 16 * s + 8 * half);
            if (half == 0)
              acc0 = _mm256_fmadd_ps(w, xv, acc0);
            else
              acc1 = _mm256_fmadd_ps(w, xv, acc1);
          }
        }
      }
      __m256 sum = _mm256_add_ps(acc0, acc1);
      __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(sum),
                             _mm256_extractf128_ps(sum, 1));
      s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
      s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
      a.y[m * a.ldy + n] = _mm_cvtss_f32(s4) + (a.bias ? a.bias[n] : 0.f);
    }
  }
}

} // namespace qcc::rt::detail
