// Packing, checks, threading and dispatch of the weight-only 4-bit matmul,
// and its scalar kernel.
#include "runtime/cpu/GemmInt4.h"

#include "runtime/cpu/GemmInt4Kernels.h"
#include "runtime/cpu/ThreadPool.h"

#include <algorithm>
#include <cstring>

namespace qcc::rt {

std::array<float, 16> uint4Levels() {
  std::array<float, 16> levels;
  for (int c = 0; c < 16; ++c)
    levels[c] = static_cast<float>(c);
  return levels;
}

std::array<float, 16> int4Levels() {
  std::array<float, 16> levels;
  for (int c = 0; c < 16; ++c)
    levels[c] = static_cast<float>(c < 8 ? c : c - 16);
  return levels;
}

PackedInt4Weights packInt4Weights(const uint8_t *codes, int64_t n, int64_t k,
                                  int64_t groupSize, const float *scales,
                                  const int8_t *zeroPoints,
                                  const std::array<float, 16> &levels, Isa isa,
                                  std::string &error) {
  PackedInt4Weights w;
  if (groupSize <= 0 || groupSize % 16 != 0) {
    error = "4-bit weight group size " + std::to_string(groupSize) +
            " is not a positive multiple of 16";
    return w;
  }
  if (n <= 0 || k <= 0) {
    error = "4-bit weights need positive dimensions";
    return w;
  }
  w.isa = isa;
  w.n = n;
  w.k = k;
  w.kPadded = (k + PackedInt4Weights::kChunk - 1) / PackedInt4Weights::kChunk *
              PackedInt4Weights::kChunk;
  w.groupSize = groupSize;
  w.groups = (k + groupSize - 1) / groupSize;
  w.levels = levels;
  w.codes.resize(static_cast<size_t>(n * w.rowBytes()));
  for (int64_t r = 0; r < n; ++r) {
    uint8_t *row = w.codes.data() + r * w.rowBytes();
    for (int64_t kk = 0; kk < k; ++kk) {
      uint8_t code = codes[r * k + kk];
      if (code > 15) {
        error = "4-bit code " + std::to_string(code) + " at row " +
                std::to_string(r) + ", column " + std::to_string(kk) +
                " is out of range";
        return PackedInt4Weights{};
      }
      int64_t c = kk / 128, i = (kk % 128) / 16, j = kk % 16;
      row[c * 64 + 4 * j + i / 2] |= (i % 2 == 0) ? code : code << 4;
    }
  }
  w.scales.assign(scales, scales + n * w.groups);
  if (zeroPoints)
    w.zeroPoints.assign(zeroPoints, zeroPoints + n * w.groups);
  return w;
}

std::string gemmWeightInt4(const float *x, int64_t m, int64_t ldx,
                           const PackedInt4Weights &w, const float *bias,
                           float *y, int64_t ldy, ThreadPool *pool) {
  if (!isaSupported(w.isa))
    return std::string("weights were packed for ") + isaName(w.isa) +
           ", which this CPU does not support";
  if (w.n == 0)
    return "4-bit weights are empty";
  if (m < 0 || ldx < w.k || ldy < w.n)
    return "4-bit matmul strides are smaller than the matrix widths";
  if (m == 0)
    return {};
  // A zero-padded, aligned copy of X lets the kernels read whole chunks.
  AlignedBuffer<float> padded(static_cast<size_t>(m * w.kPadded));
  for (int64_t r = 0; r < m; ++r)
    std::memcpy(padded.data() + r * w.kPadded, x + r * ldx,
                static_cast<size_t>(w.k) * sizeof(float));

  detail::Int4Args args{};
  args.x = padded.data();
  args.m = m;
  args.kPadded = w.kPadded;
  args.groupSize = w.groupSize;
  args.groups = w.groups;
  args.codes = w.codes.data();
  args.scales = w.scales.data();
  args.zeroPoints = w.zeroPoints.empty() ? nullptr : w.zeroPoints.data();
  args.levels = w.levels.data();
  args.bias = bias;
  args.y = y;
  args.ldy = ldy;
  detail::Int4RowsFn rows = w.isa >= Isa::Avx512 ? detail::int4RowsAvx512
                            : w.isa == Isa::Avx2 ? detail::int4RowsAvx2
                                                 : detail::int4RowsScalar;
  // Tasks are blocks of 16 output columns, enough to keep both cores busy
  // for N of a few hundred and coarse enough to amortize the wake-up.
  forBlocks(pool, w.n, 16, [&](int64_t n0, int64_t n1) { rows(args, n0, n1); });
  return {};
}

namespace detail {

void int4RowsScalar(const Int4Args &a, int64_t n0, int64_t n1) {
  int64_t rowBytes = a.kPadded / 2;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t *row = a.codes + n * rowBytes;
    for (int64_t m = 0; m < a.m; ++m) {
      const float *x = a.x + m * a.kPadded;
      float total = 0;
      for (int64_t g = 0; g < a.groups; ++g) {
        float scale = a.scales[n * a.groups + g];
        float zero = a.zeroPoints ? a.zeroPoints[n * a.groups + g] : 0.f;
        int64_t end = std::min(a.kPadded, (g + 1) * a.groupSize);
        for (int64_t k = g * a.groupSize; k < end; ++k)
          total += (a.levels[int4CodeAt(row, k)] - zero) * scale * x[k];
      }
      a.y[m * a.ldy + n] = total + (a.bias ? a.bias[n] : 0.f);
    }
  }
}

} // namespace detail
} // namespace qcc::rt
