// The CUDA kernels' FP8 E4M3FN codec (codegen/cuda/Fp8Codec.inc, the same
// text the emitter puts in every kernel's preamble), compiled for the host
// and compared with the numeric core's rt::decodeFloat8 / rt::encodeFloat8:
// every code, and floats over the whole f32 range including the rounding
// ties, the subnormal range, the saturation bound, infinities and NaN.
#include "runtime/numerics/Numerics.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace {
#define QCC_FP8_FN inline
#define QCC_FP8_AS_FLOAT(bits) std::bit_cast<float>(static_cast<uint32_t>(bits))
#define QCC_FP8_AS_UINT(value) std::bit_cast<uint32_t>(value)
#define QCC_FP8_RINT(value) std::nearbyint(value)
#include "codegen/cuda/Fp8Codec.inc"

using qcc::rt::decodeFloat8;
using qcc::rt::encodeFloat8;
using qcc::rt::Format;

TEST(CudaFp8Codec, DecodesEveryCodeLikeTheNumericCore) {
  for (unsigned code = 0; code < 256; ++code) {
    const float want =
        decodeFloat8(static_cast<uint8_t>(code), Format::F8E4M3FN);
    const float got = qcc_e4m3_decode(code);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got)) << "code " << code;
    } else {
      EXPECT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want))
          << "code " << code << ": " << got << " vs " << want;
    }
  }
}

TEST(CudaFp8Codec, EncodesLikeTheNumericCore) {
  std::vector<float> values;
  // Every 4099th f32 bit pattern of each sign: all binades, NaNs and Inf.
  for (uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 4099)
    values.push_back(std::bit_cast<float>(static_cast<uint32_t>(bits)));
  // Each FP8 value, the midpoints between neighbours (ties round to even)
  // and the floats just beside them.
  for (unsigned code = 0; code < 0x7F; ++code) {
    const float v = decodeFloat8(static_cast<uint8_t>(code), Format::F8E4M3FN);
    const float next =
        code + 1 < 0x7F
            ? decodeFloat8(static_cast<uint8_t>(code + 1), Format::F8E4M3FN)
            : 480.0f;
    const float mid = (v + next) / 2;
    for (float f :
         {v, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1000.0f)}) {
      values.push_back(f);
      values.push_back(-f);
    }
  }
  for (float f :
       {0.0f, -0.0f, 448.0f, 463.99f, 464.0f, 1e30f, INFINITY, -INFINITY, NAN,
        0.001953125f, 0.0009765625f, 0.00146484375f, 0.015625f, 0.0146484375f})
    values.push_back(f);
  for (float f : values) {
    const unsigned want = encodeFloat8(f, Format::F8E4M3FN);
    ASSERT_EQ(qcc_e4m3_encode(f), want)
        << f << " (bits 0x" << std::hex << std::bit_cast<uint32_t>(f) << ")";
  }
}
} // namespace
