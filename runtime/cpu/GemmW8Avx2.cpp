// AVX2 kernel of the weight-only 8-bit matmul: eight codes widen to eight
// floats (vpmovsxbd / vpmovzxbd, vcvtdq2ps), become weights with one
// subtract and one multiply per group's zero point and scale, and meet x in
// one fused multiply-add. AVX-512 machines run it too: at batch 1 the layer
// is bound by reading the weights, not by the vector width.
#include "runtime/cpu/GemmW8.h"

#include <immintrin.h>

namespace qcc::rt::detail {

namespace {
inline __m256 levels8(const uint8_t *p, bool isSigned) {
  const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i *>(p));
  return _mm256_cvtepi32_ps(isSigned ? _mm256_cvtepi8_epi32(bytes)
                                     : _mm256_cvtepu8_epi32(bytes));
}

inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
} // namespace

void w8RowsAvx2(const float *x, int64_t m, int64_t ldx, const W8Weights &w,
                const float *bias, float *y, int64_t ldy, int64_t n0,
                int64_t n1) {
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t *row = w.codes + n * w.k;
    for (int64_t r = 0; r < m; ++r) {
      const float *xr = x + r * ldx;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
      float tail = 0.f;
      for (int64_t g = 0; g < w.groups; ++g) {
        const int64_t at = n * w.groups + g;
        const float zero = w.zeroPoints ? w.zeroPoints[at] : 0.f;
        const __m256 zv = _mm256_set1_ps(zero);
        const __m256 sv = _mm256_set1_ps(w.scales[at]);
        const int64_t begin = g * w.groupSize;
        const int64_t end =
            begin + w.groupSize < w.k ? begin + w.groupSize : w.k;
        int64_t k = begin;
        for (; k + 16 <= end; k += 16) {
          const __m256 w0 = _mm256_mul_ps(
              _mm256_sub_ps(levels8(row + k, w.isSigned), zv), sv);
          const __m256 w1 = _mm256_mul_ps(
              _mm256_sub_ps(levels8(row + k + 8, w.isSigned), zv), sv);
          acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(xr + k), acc0);
          acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(xr + k + 8), acc1);
        }
        for (; k < end; ++k)
          tail += (w8Level(row[k], w.isSigned) - zero) * w.scales[at] * xr[k];
      }
      y[r * ldy + n] =
          sum8(_mm256_add_ps(acc0, acc1)) + tail + (bias ? bias[n] : 0.f);
    }
  }
}

} // namespace qcc::rt::detail
