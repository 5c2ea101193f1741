// The AVX512_VNNI micro-kernel of the int8 GEMM: vpdpbusd multiplies four u8
// activations by four s8 weights and adds the sum to an i32 lane exactly (the
// non-saturating form). Weights are packed in quads of consecutive k.
#include "runtime/cpu/GemmInt8Kernels.h"
#include "runtime/cpu/Int8TileAvx512.h"

#include <immintrin.h>

namespace qcc::rt::detail {
namespace {

/// Quads of k: 16 columns x 4 s8 weights per vector, used as they are.
struct QuadStep {
  static constexpr int64_t kStepBytes = kInt8Panel * 4;
  static __m512i load(const int8_t *step, int v) {
    return _mm512_load_si512(step + 64 * v);
  }
  static __m512i accumulate(__m512i c, __m512i a, __m512i w) {
    return _mm512_dpbusd_epi32(c, a, w);
  }
};

} // namespace

void int8TileAvx512Vnni(const uint32_t *a, int64_t aStride, int rows,
                        const int8_t *b, int64_t kSteps, int32_t *acc) {
  int8TileRows<QuadStep>(a, aStride, rows, b, kSteps, acc);
}

} // namespace qcc::rt::detail
