// AVX-512 micro-kernels of the int8 GEMM. Built with -mavx512f/bw/vl/dq;
// GemmInt8Vnni.cpp adds the vpdpbusd variant. Called only after CPUID says
// the CPU has these instructions. The epilogue's GELU and SiLU call SLEEF's
// AVX-512 f32 functions.
//
// Without VNNI the exact product path is vpmaddwd on i16: u8 activations and
// s8 weights are widened, and each i32 lane gains a0*w0 + a1*w1 with no
// intermediate rounding or saturation. (vpmaddubsw would do twice the work
// per instruction but saturates pair sums above 32767, which u8 x s8 pairs
// reach: 255*127*2 = 64770.)
#include "runtime/cpu/GemmInt8Kernels.h"
#include "runtime/cpu/Int8TileAvx512.h"

#include <immintrin.h>
#include <sleef.h>

namespace qcc::rt::detail {
namespace {

/// Pairs of k: 16 columns x 2 s8 weights widened to i16 per vector.
struct PairStep {
  static constexpr int64_t kStepBytes = kInt8Panel * 2;
  static __m512i load(const int8_t *step, int v) {
    return _mm512_cvtepi8_epi16(
        _mm256_load_si256(reinterpret_cast<const __m256i *>(step + 32 * v)));
  }
  static __m512i accumulate(__m512i c, __m512i a, __m512i w) {
    return _mm512_add_epi32(c, _mm512_madd_epi16(a, w));
  }
};

} // namespace

void int8TileAvx512(const uint32_t *a, int64_t aStride, int rows,
                    const int8_t *b, int64_t kSteps, int32_t *acc) {
  int8TileRows<PairStep>(a, aStride, rows, b, kSteps, acc);
}

namespace {

/// act(y) on 16 lanes in f32 with SLEEF's vector functions (erf within 1
/// ulp, exp within 1 ulp): within a few f32 ulps of rt::applyActivation
/// (more, relatively, where GELU's 1 + erf(x) cancels at negative x and the
/// value is tiny). SLEEF's double functions would round like the reference
/// but cost three times as much (erfc: about 20 ns a value here).
__m512 activate(__m512 x, int activation) {
  const __m512 one = _mm512_set1_ps(1.0f);
  switch (static_cast<Activation>(activation)) {
  case Activation::Gelu: {
    __m512 e =
        Sleef_erff16_u10avx512f(_mm512_mul_ps(x, _mm512_set1_ps(0.707106781f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x),
                         _mm512_add_ps(one, e));
  }
  case Activation::GeluTanh: {
    __m512 cube = _mm512_mul_ps(
        _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), x), x), x);
    __m512 e = Sleef_expf16_u10avx512f(
        _mm512_mul_ps(_mm512_set1_ps(-1.59576912f), _mm512_add_ps(x, cube)));
    return _mm512_div_ps(x, _mm512_add_ps(one, e));
  }
  case Activation::Silu: {
    __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_setzero_ps(), x));
    return _mm512_div_ps(x, _mm512_add_ps(one, e));
  }
  case Activation::None:
    break;
  }
  return x;
}

} // namespace

void int8EpilogueAvx512(const int32_t *acc, int rows, int cols, int64_t row0,
                        int64_t col0, const Int8EpilogueArgs &e) {
  for (int r = 0; r < rows; ++r) {
    int64_t row = row0 + r;
    __m512i rowSum = _mm512_set1_epi32(e.zeroPoints ? e.rowSums[row] : 0);
    for (int c = 0; c < cols; c += 16) {
      __mmask16 mask = cols - c >= 16
                           ? static_cast<__mmask16>(0xffff)
                           : static_cast<__mmask16>((1u << (cols - c)) - 1);
      int64_t col = col0 + c;
      __m512i x = _mm512_load_si512(acc + r * kInt8Panel + c);
      x = _mm512_add_epi32(x,
                           _mm512_maskz_loadu_epi32(mask, e.columnTerm + col));
      if (e.zeroPoints)
        x = _mm512_sub_epi32(
            x, _mm512_mullo_epi32(
                   _mm512_maskz_loadu_epi32(mask, e.zeroPoints + col), rowSum));
      int64_t at = row * e.ldc + col;
      if (e.output == 0) {
        _mm512_mask_storeu_epi32(static_cast<int32_t *>(e.out) + at, mask, x);
        continue;
      }
      __m512 scale = e.perColumnScale
                         ? _mm512_maskz_loadu_ps(mask, e.scale + col)
                         : _mm512_set1_ps(e.scale[0]);
      __m512 lo = _mm512_set1_ps(e.lo), hi = _mm512_set1_ps(e.hi);
      // The float value: the whole result for f32 outputs, and what the
      // activation reads.
      __m512 y;
      if (e.output == 1 || e.activation != 0) {
        __m512 xf = _mm512_cvtepi32_ps(x);
        y = e.bias ? _mm512_fmadd_ps(xf, scale,
                                     _mm512_maskz_loadu_ps(mask, e.bias + col))
                   : _mm512_mul_ps(xf, scale);
        if (e.activation != 0)
          y = activate(y, e.activation);
        if (e.output == 1) {
          y = _mm512_min_ps(_mm512_max_ps(y, lo), hi);
          _mm512_mask_storeu_ps(static_cast<float *>(e.out) + at, mask, y);
          continue;
        }
        y = _mm512_div_ps(y, _mm512_set1_ps(e.outputScale));
      } else {
        if (e.biasInt)
          x = _mm512_add_epi32(x,
                               _mm512_maskz_loadu_epi32(mask, e.biasInt + col));
        y = _mm512_mul_ps(_mm512_cvtepi32_ps(x), scale);
      }
      __m512 q = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT |
                                             _MM_FROUND_NO_EXC);
      q = _mm512_add_ps(q, _mm512_set1_ps(e.outputZeroPoint));
      q = _mm512_min_ps(_mm512_max_ps(q, lo), hi);
      __m512i qi = _mm512_cvttps_epi32(q);
      if (e.output == 2)
        _mm512_mask_cvtusepi32_storeu_epi8(static_cast<uint8_t *>(e.out) + at,
                                           mask, qi);
      else
        _mm512_mask_cvtsepi32_storeu_epi8(static_cast<int8_t *>(e.out) + at,
                                          mask, qi);
    }
  }
}

} // namespace qcc::rt::detail
