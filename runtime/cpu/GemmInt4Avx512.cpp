// AVX-512 kernel of the weight-only 4-bit matmul. For each group, each weight
// row gets a 16-entry table (levels - zero point) * scale in one register;
// vpermps looks up 16 codes at once, using only the low 4 bits of each lane,
// so a shifted chunk needs no masking. The kernel is memory-bound: per 16
// weights (8 bytes) it spends one shift, one permute and one FMA.
#include "runtime/cpu/GemmInt4Kernels.h"

#include <immintrin.h>

#include <utility>

namespace qcc::rt::detail {
namespace {

/// The 16 dequantized values of weight row `row` in group `g`:
/// (levels - zeroPoint) * scale, the f32 values DequantizeLinear gives.
__m512 groupTable(const Int4Args &a, __m512 levels, int64_t row, int64_t g) {
  int64_t at = row * a.groups + g;
  if (a.zeroPoints)
    levels = _mm512_sub_ps(levels, _mm512_set1_ps(a.zeroPoints[at]));
  return _mm512_mul_ps(levels, _mm512_set1_ps(a.scales[at]));
}

/// Rows output columns at once, each against Batch rows of X: the decoded
/// weights are reused Batch times, and Rows*Batch accumulators hide the FMA
/// latency.
template <int Rows, int Batch>
void block(const Int4Args &a, int64_t n, int64_t m) {
  const int64_t rowBytes = a.kPadded / 2;
  const int64_t slices = a.kPadded / 16;
  const __m512 levels = _mm512_loadu_ps(a.levels);
  __m512 acc[Rows][Batch];
  for (int r = 0; r < Rows; ++r)
    for (int b = 0; b < Batch; ++b)
      acc[r][b] = _mm512_setzero_ps();
  const uint8_t *codes[Rows];
  for (int r = 0; r < Rows; ++r)
    codes[r] = a.codes + (n + r) * rowBytes;
  const int64_t perGroup = a.groupSize / 16;
  for (int64_t g = 0; g < a.groups; ++g) {
    __m512 table[Rows];
    for (int r = 0; r < Rows; ++r)
      table[r] = groupTable(a, levels, n + r, g);
    int64_t end = (g + 1) * perGroup < slices ? (g + 1) * perGroup : slices;
    for (int64_t s = g * perGroup; s < end; ++s) {
      const int64_t chunk = (s >> 3) * 64;
      const __m128i shift = _mm_cvtsi32_si128(static_cast<int>(4 * (s & 7)));
      __m512 x[Batch];
      for (int b = 0; b < Batch; ++b)
        x[b] = _mm512_load_ps(a.x + (m + b) * a.kPadded + 16 * s);
      for (int r = 0; r < Rows; ++r) {
        __m512i q =
            _mm512_srl_epi32(_mm512_load_si512(codes[r] + chunk), shift);
        __m512 w = _mm512_permutexvar_ps(q, table[r]);
        for (int b = 0; b < Batch; ++b)
          acc[r][b] = _mm512_fmadd_ps(w, x[b], acc[r][b]);
      }
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int b = 0; b < Batch; ++b)
      a.y[(m + b) * a.ldy + n + r] =
          _mm512_reduce_add_ps(acc[r][b]) + (a.bias ? a.bias[n + r] : 0.f);
}

/// The common group sizes, specialized: per chunk of 128 codes each row's
/// chunk is loaded once and shifted by immediates (a shift by a register
/// count costs SKX two uops on the busy port). Groups of 16..128 codes start
/// at slices known at compile time (SlicesPerGroup 1, 2, 4, 8); larger
/// multiples of 128 (SlicesPerGroup 0) start at chunk boundaries.
template <int Rows, int SlicesPerGroup>
void gemvChunks(const Int4Args &a, int64_t n) {
  const int64_t rowBytes = a.kPadded / 2;
  const int64_t chunks = a.kPadded / 128;
  const int64_t groupChunks = SlicesPerGroup == 0 ? a.groupSize / 128 : 1;
  const __m512 levels = _mm512_loadu_ps(a.levels);
  __m512 acc[Rows], table[Rows];
  const uint8_t *codes[Rows];
  for (int r = 0; r < Rows; ++r) {
    acc[r] = _mm512_setzero_ps();
    table[r] = _mm512_setzero_ps();
    codes[r] = a.codes + (n + r) * rowBytes;
  }
  auto rebuild = [&](int64_t g) {
    for (int r = 0; r < Rows; ++r)
      table[r] = groupTable(a, levels, n + r, g);
  };
  for (int64_t c = 0; c < chunks; ++c) {
    if constexpr (SlicesPerGroup == 0) {
      if (c % groupChunks == 0) {
        if (c / groupChunks >= a.groups)
          break; // the zero tail past the last group
        rebuild(c / groupChunks);
      }
    }
    __m512i q[Rows];
    for (int r = 0; r < Rows; ++r) {
      // Rows are short streams (2 KB for K = 4096) that the hardware
      // prefetcher picks up late; asking 1 KB ahead keeps DRAM busy.
      _mm_prefetch(reinterpret_cast<const char *>(codes[r] + 64 * c + 1024),
                   _MM_HINT_T0);
      q[r] = _mm512_load_si512(codes[r] + 64 * c);
    }
    const float *x = a.x + 128 * c;
    auto slice = [&](auto i) {
      constexpr int I = decltype(i)::value;
      if constexpr (SlicesPerGroup != 0 && I % SlicesPerGroup == 0) {
        int64_t g = (8 * c + I) / SlicesPerGroup;
        if (g >= a.groups)
          return false;
        rebuild(g);
      }
      __m512 xv = _mm512_load_ps(x + 16 * I);
      for (int r = 0; r < Rows; ++r) {
        __m512 w =
            _mm512_permutexvar_ps(_mm512_srli_epi32(q[r], 4 * I), table[r]);
        acc[r] = _mm512_fmadd_ps(w, xv, acc[r]);
      }
      return true;
    };
    [&]<int... I>(std::integer_sequence<int, I...>) {
      (void)(slice(std::integral_constant<int, I>{}) && ...);
    }
    (std::make_integer_sequence<int, 8>{});
  }
  for (int r = 0; r < Rows; ++r)
    a.y[n + r] = _mm512_reduce_add_ps(acc[r]) + (a.bias ? a.bias[n + r] : 0.f);
}

/// GEMV columns [n, end) with the fast path when the group size allows it.
/// Returns false when the caller must use the generic blocks.
template <int Rows> bool gemvFast(const Int4Args &a, int64_t n) {
  switch (a.groupSize) {
  case 16:
    return gemvChunks<Rows, 1>(a, n), true;
  case 32:
    return gemvChunks<Rows, 2>(a, n), true;
  case 64:
    return gemvChunks<Rows, 4>(a, n), true;
  case 128:
    return gemvChunks<Rows, 8>(a, n), true;
  default:
    if (a.groupSize % 128 == 0)
      return gemvChunks<Rows, 0>(a, n), true;
    return false;
  }
}

template <int Rows> void rowsForAllBatches(const Int4Args &a, int64_t n) {
  int64_t m = 0;
  // 8 rows of X share each decoded weight vector (Rows * 8 accumulators,
  // 8 inputs and Rows tables stay in the 32 registers).
  for (; m + 8 <= a.m; m += 8)
    block<Rows, 8>(a, n, m);
  for (; m + 4 <= a.m; m += 4)
    block<Rows, 4>(a, n, m);
  switch (a.m - m) {
  case 3:
    return block<Rows, 3>(a, n, m);
  case 2:
    return block<Rows, 2>(a, n, m);
  case 1:
    return block<Rows, 1>(a, n, m);
  default:
    return;
  }
}

} // namespace

void int4RowsAvx512(const Int4Args &a, int64_t n0, int64_t n1) {
  int64_t n = n0;
  if (a.m == 1) {
    for (; n + 4 <= n1; n += 4)
      if (!gemvFast<4>(a, n))
        block<4, 1>(a, n, 0);
    for (; n < n1; ++n)
      if (!gemvFast<1>(a, n))
        block<1, 1>(a, n, 0);
    return;
  } else {
    for (; n + 2 <= n1; n += 2)
      rowsForAllBatches<2>(a, n);
  }
  for (; n < n1; ++n)
    rowsForAllBatches<1>(a, n);
}

} // namespace qcc::rt::detail
