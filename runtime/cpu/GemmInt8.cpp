// Packing, argument checks, threading and ISA dispatch of the int8 GEMM, and
// the scalar kernels every machine can run.
#include "runtime/cpu/GemmInt8.h"

#include "runtime/cpu/GemmInt8Kernels.h"
#include "runtime/cpu/ThreadPool.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace qcc::rt {
namespace {

using detail::Int8EpilogueArgs;
using detail::kInt8Panel;
using detail::kInt8TileRows;

/// Largest K for which every intermediate of the zero-point correction fits
/// in i32: |acc| + |za * colsum| + |K za zb| + |zb * rowsum| <= 4 * 255 * 128
/// K.
constexpr int64_t kMaxDepth = 16384;

int interleaveFor(Isa isa) { return isa == Isa::Avx512Vnni ? 4 : 2; }

struct IsaKernels {
  detail::Int8TileFn tile;
  detail::Int8EpilogueFn epilogue;
};

IsaKernels kernelsFor(Isa isa) {
  switch (isa) {
  case Isa::Avx512Vnni:
    return {detail::int8TileAvx512Vnni, detail::int8EpilogueAvx512};
  case Isa::Avx512:
    return {detail::int8TileAvx512, detail::int8EpilogueAvx512};
  case Isa::Avx2:
    return {detail::int8TileAvx2, detail::int8EpilogueScalar};
  case Isa::Scalar:
    break;
  }
  return {detail::int8TileScalar, detail::int8EpilogueScalar};
}

} // namespace

PackedInt8Weights packInt8Weights(const int8_t *b, int64_t k, int64_t n,
                                  const int32_t *zeroPoints, Isa isa) {
  PackedInt8Weights w;
  w.isa = isa;
  w.k = k;
  w.n = n;
  w.interleave = interleaveFor(isa);
  w.kSteps = (k + w.interleave - 1) / w.interleave;
  int64_t stepBytes = kInt8Panel * w.interleave;
  w.data.resize(static_cast<size_t>(w.panels() * w.kSteps * stepBytes));
  w.columnSums.assign(static_cast<size_t>(n), 0);
  for (int64_t kk = 0; kk < k; ++kk) {
    int64_t step = kk / w.interleave, lane = kk % w.interleave;
    for (int64_t col = 0; col < n; ++col) {
      int8_t v = b[kk * n + col];
      int64_t panel = col / kInt8Panel, c = col % kInt8Panel;
      w.data[static_cast<size_t>((panel * w.kSteps + step) * stepBytes +
                                 c * w.interleave + lane)] = v;
      w.columnSums[static_cast<size_t>(col)] += v;
    }
  }
  if (zeroPoints &&
      std::any_of(zeroPoints, zeroPoints + n, [](int32_t z) { return z != 0; }))
    w.zeroPoints.assign(zeroPoints, zeroPoints + n);
  return w;
}

std::string gemmInt8(const Int8Activations &a, const PackedInt8Weights &b,
                     const Int8Epilogue &epilogue, void *out, int64_t ldc,
                     ThreadPool *pool) {
  using Output = Int8Epilogue::Output;
  if (!isaSupported(b.isa))
    return std::string("weights were packed for ") + isaName(b.isa) +
           ", which this CPU does not support (it has " + isaName(detectIsa()) +
           ")";
  if (b.k > kMaxDepth)
    return "int8 GEMM depth " + std::to_string(b.k) +
           " exceeds the supported maximum of " + std::to_string(kMaxDepth);
  if (epilogue.output != Output::Int32 && !epilogue.scale)
    return "the int8 GEMM epilogue needs a scale for this output type";
  if (a.m < 0 || a.lda < b.k || ldc < b.n)
    return "int8 GEMM strides are smaller than the matrix widths";
  if (a.m == 0 || b.n == 0)
    return {};
  int32_t za = a.zeroPoint + (a.isSigned ? 128 : 0);
  if (za < 0 || za > 255)
    return "activation zero point " + std::to_string(a.zeroPoint) +
           " is outside the storage range";

  // Activations: one dword per (row, k-step): two u8 values widened to i16
  // (pairs) or four u8 bytes (quads). Signed values are moved to u8 by
  // flipping the top bit, i.e. adding 128 to value and zero point alike.
  int64_t steps = b.kSteps, m = a.m;
  uint8_t flip = a.isSigned ? 0x80 : 0;
  AlignedBuffer<uint32_t> packedA(static_cast<size_t>(m * steps));
  std::vector<int32_t> rowSums(static_cast<size_t>(m), 0);
  const uint8_t *src = static_cast<const uint8_t *>(a.data);
  const int il = b.interleave;
  const int64_t full = b.k / il; // steps with every value inside K
  for (int64_t r = 0; r < m; ++r) {
    const uint8_t *row = src + r * a.lda;
    uint32_t *dst = packedA.data() + r * steps;
    int32_t sum = 0;
    if (il == 2) {
      for (int64_t s = 0; s < full; ++s) {
        uint32_t v0 = static_cast<uint8_t>(row[2 * s] ^ flip),
                 v1 = static_cast<uint8_t>(row[2 * s + 1] ^ flip);
        sum += static_cast<int32_t>(v0 + v1);
        dst[s] = v0 | v1 << 16;
      }
    } else {
      for (int64_t s = 0; s < full; ++s) {
        uint32_t word;
        std::memcpy(&word, row + 4 * s, 4);
        word ^= flip * 0x01010101u;
        sum += static_cast<int32_t>((word & 0xff) + (word >> 8 & 0xff) +
                                    (word >> 16 & 0xff) + (word >> 24));
        dst[s] = word;
      }
    }
    for (int64_t s = full; s < steps; ++s) {
      uint32_t word = 0;
      for (int j = 0; j < il; ++j) {
        int64_t kk = s * il + j;
        uint32_t v = kk < b.k ? static_cast<uint8_t>(row[kk] ^ flip) : 0;
        sum += static_cast<int32_t>(v);
        word |= il == 2 ? v << (16 * j) : v << (8 * j);
      }
      dst[s] = word;
    }
    rowSums[static_cast<size_t>(r)] = sum;
  }

  std::vector<int32_t> columnTerm(static_cast<size_t>(b.n));
  for (int64_t c = 0; c < b.n; ++c) {
    int32_t zb = b.zeroPoints.empty() ? 0 : b.zeroPoints[c];
    columnTerm[c] = -za * b.columnSums[c] + static_cast<int32_t>(b.k) * za * zb;
  }

  Int8EpilogueArgs args{};
  args.output = static_cast<int>(epilogue.output);
  args.columnTerm = columnTerm.data();
  args.zeroPoints = b.zeroPoints.empty() ? nullptr : b.zeroPoints.data();
  args.rowSums = rowSums.data();
  args.scale = epilogue.scale;
  args.perColumnScale = epilogue.perColumnScale;
  args.bias = epilogue.bias;
  args.biasInt = epilogue.biasInt;
  args.outputZeroPoint = static_cast<float>(epilogue.outputZeroPoint);
  args.lo = epilogue.lo;
  args.hi = epilogue.hi;
  args.activation = static_cast<int>(epilogue.activation);
  args.outputScale = epilogue.outputScale;
  if (epilogue.output == Output::Uint8 || epilogue.output == Output::Int8) {
    float storageLo = epilogue.output == Output::Uint8 ? 0.f : -128.f;
    float storageHi = epilogue.output == Output::Uint8 ? 255.f : 127.f;
    args.lo = std::max(storageLo, std::ceil(epilogue.lo));
    args.hi = std::min(storageHi, std::floor(epilogue.hi));
  }
  args.out = out;
  args.ldc = ldc;

  IsaKernels kernels = kernelsFor(b.isa);
  int64_t rowTiles = (m + kInt8TileRows - 1) / kInt8TileRows;
  int64_t panels = b.panels();
  int64_t panelBytes = b.kSteps * kInt8Panel * b.interleave;
  // Tasks run panel by panel, so a thread's consecutive tasks reuse one
  // panel of B from its cache while walking down the rows of A.
  auto body = [&](int64_t begin, int64_t end) {
    alignas(64) int32_t acc[kInt8TileRows * kInt8Panel];
    for (int64_t t = begin; t < end; ++t) {
      int64_t panel = t / rowTiles, rowTile = t % rowTiles;
      int64_t row0 = rowTile * kInt8TileRows;
      int rows = static_cast<int>(std::min<int64_t>(kInt8TileRows, m - row0));
      int64_t col0 = panel * kInt8Panel;
      int cols = static_cast<int>(std::min<int64_t>(kInt8Panel, b.n - col0));
      kernels.tile(packedA.data() + row0 * steps, steps, rows,
                   b.data.data() + panel * panelBytes, steps, acc);
      kernels.epilogue(acc, rows, cols, row0, col0, args);
    }
  };
  if (pool)
    pool->parallelFor(rowTiles * panels, body);
  else
    body(0, rowTiles * panels);
  return {};
}

void gemmInt8Reference(const Int8Activations &a, const int8_t *b, int64_t k,
                       int64_t n, const int32_t *zeroPoints,
                       const Int8Epilogue &e, void *out, int64_t ldc) {
  using Output = Int8Epilogue::Output;
  for (int64_t r = 0; r < a.m; ++r) {
    for (int64_t c = 0; c < n; ++c) {
      int64_t sum = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        const char *row = static_cast<const char *>(a.data) + r * a.lda;
        int32_t av = a.isSigned ? static_cast<int8_t>(row[kk])
                                : static_cast<uint8_t>(row[kk]);
        int32_t bz = zeroPoints ? zeroPoints[c] : 0;
        sum += static_cast<int64_t>(av - a.zeroPoint) * (b[kk * n + c] - bz);
      }
      int32_t acc = static_cast<int32_t>(sum);
      float scale = e.scale ? (e.perColumnScale ? e.scale[c] : e.scale[0]) : 0;
      switch (e.output) {
      case Output::Int32:
        static_cast<int32_t *>(out)[r * ldc + c] = acc;
        break;
      case Output::Float32: {
        float y = e.bias ? std::fma(static_cast<float>(acc), scale, e.bias[c])
                         : static_cast<float>(acc) * scale;
        y = static_cast<float>(applyActivation(e.activation, y));
        static_cast<float *>(out)[r * ldc + c] =
            std::min(std::max(y, e.lo), e.hi);
        break;
      }
      case Output::Uint8:
      case Output::Int8: {
        double q;
        if (e.activation != Activation::None) {
          float y = e.bias ? std::fma(static_cast<float>(acc), scale, e.bias[c])
                           : static_cast<float>(acc) * scale;
          y = static_cast<float>(applyActivation(e.activation, y));
          q = std::nearbyint(y / e.outputScale) + e.outputZeroPoint;
        } else {
          if (e.biasInt)
            acc += e.biasInt[c];
          q = std::nearbyint(static_cast<float>(acc) * scale) +
              e.outputZeroPoint;
        }
        bool u8 = e.output == Output::Uint8;
        double qlo = std::max(u8 ? 0.0 : -128.0, std::ceil(double(e.lo)));
        double qhi = std::min(u8 ? 255.0 : 127.0, std::floor(double(e.hi)));
        q = std::min(std::max(q, qlo), qhi);
        if (u8)
          static_cast<uint8_t *>(out)[r * ldc + c] = static_cast<uint8_t>(q);
        else
          static_cast<int8_t *>(out)[r * ldc + c] = static_cast<int8_t>(q);
        break;
      }
      }
    }
  }
}

namespace detail {

void int8TileScalar(const uint32_t *a, int64_t aStride, int rows,
                    const int8_t *b, int64_t kSteps, int32_t *acc) {
  // Scalar packs pairs, like AVX2 and AVX-512.
  for (int r = 0; r < rows; ++r) {
    int32_t sums[kInt8Panel] = {};
    for (int64_t s = 0; s < kSteps; ++s) {
      uint32_t word = a[r * aStride + s];
      int32_t a0 = static_cast<int32_t>(word & 0xffff);
      int32_t a1 = static_cast<int32_t>(word >> 16);
      const int8_t *step = b + s * kInt8Panel * 2;
      for (int c = 0; c < kInt8Panel; ++c)
        sums[c] += a0 * step[2 * c] + a1 * step[2 * c + 1];
    }
    std::copy(sums, sums + kInt8Panel, acc + r * kInt8Panel);
  }
}

void int8EpilogueScalar(const int32_t *acc, int rows, int cols, int64_t row0,
                        int64_t col0, const Int8EpilogueArgs &args) {
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c)
      int8EpilogueElement(acc[r * kInt8Panel + c], row0 + r, col0 + c, args);
}

} // namespace detail
} // namespace qcc::rt
