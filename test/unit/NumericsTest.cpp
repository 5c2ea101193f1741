// Unit tests of the numeric core. Every expected value here comes from a
// formula written out in the test, a brute-force search, or a published
// reference table, never from the code under test.
#include "runtime/numerics/Numerics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace qcc::rt;

namespace {

//===----------------------------------------------------------------------===//
// FP8
//===----------------------------------------------------------------------===//

struct Fp8Spec {
  Format format;
  int exponentBits, mantissaBits, bias;
};
void PrintTo(const Fp8Spec &spec, std::ostream *os) {
  *os << formatName(spec.format);
}
const Fp8Spec kE4M3FN{Format::F8E4M3FN, 4, 3, 7};
const Fp8Spec kE5M2{Format::F8E5M2, 5, 2, 15};

// The value of a code straight from the bit layout, with pow instead of
// ldexp. NaN codes return NaN and E5M2's Inf codes return Inf.
double valueFromBits(const Fp8Spec &spec, int code) {
  const int sign = (code >> 7) & 1;
  const int exponent =
      (code >> spec.mantissaBits) & ((1 << spec.exponentBits) - 1);
  const int mantissa = code & ((1 << spec.mantissaBits) - 1);
  const int allOnes = (1 << spec.exponentBits) - 1;
  if (spec.format == Format::F8E4M3FN && exponent == allOnes && mantissa == 7)
    return std::nan("");
  if (spec.format == Format::F8E5M2 && exponent == allOnes)
    return mantissa == 0 ? (sign ? -INFINITY : INFINITY) : std::nan("");
  const double fraction = mantissa / std::pow(2.0, spec.mantissaBits);
  double magnitude =
      exponent == 0 ? fraction * std::pow(2.0, 1 - spec.bias)
                    : (1.0 + fraction) * std::pow(2.0, exponent - spec.bias);
  return sign ? -magnitude : magnitude;
}

class Fp8Test : public ::testing::TestWithParam<Fp8Spec> {};

TEST_P(Fp8Test, EveryCodeDecodesToItsBitLayoutValue) {
  const Fp8Spec spec = GetParam();
  for (int code = 0; code < 256; ++code) {
    const double expected = valueFromBits(spec, code);
    const float actual = decodeFloat8(static_cast<uint8_t>(code), spec.format);
    if (std::isnan(expected)) {
      EXPECT_TRUE(std::isnan(actual)) << "code " << code;
    } else {
      EXPECT_EQ(static_cast<double>(actual), expected) << "code " << code;
      EXPECT_EQ(std::signbit(actual), (code & 0x80) != 0) << "code " << code;
    }
  }
}

TEST_P(Fp8Test, EveryFiniteCodeReencodesToItself) {
  const Fp8Spec spec = GetParam();
  for (int code = 0; code < 256; ++code) {
    const double value = valueFromBits(spec, code);
    if (!std::isfinite(value))
      continue;
    EXPECT_EQ(encodeFloat8(static_cast<float>(value), spec.format), code)
        << "value " << value;
  }
}

TEST_P(Fp8Test, MaxFiniteMatchesLayout) {
  const Fp8Spec spec = GetParam();
  double largest = 0;
  for (int code = 0; code < 128; ++code) {
    double v = valueFromBits(spec, code);
    if (std::isfinite(v))
      largest = std::max(largest, v);
  }
  EXPECT_EQ(static_cast<double>(float8Max(spec.format)), largest);
  EXPECT_EQ(largest, spec.format == Format::F8E4M3FN ? 448.0 : 57344.0);
}

// Brute force: the nearest finite code of the same sign, ties to the even
// code (even mantissa).
int nearestCode(const Fp8Spec &spec, double x) {
  int best = -1;
  double bestDistance = INFINITY;
  for (int code = 0; code < 256; ++code) {
    const double v = valueFromBits(spec, code);
    if (!std::isfinite(v) || ((code & 0x80) != 0) != std::signbit(x))
      continue;
    const double distance = std::fabs(v - x);
    if (distance < bestDistance ||
        (distance == bestDistance && (code & 1) == 0)) {
      best = code;
      bestDistance = distance;
    }
  }
  return best;
}

TEST_P(Fp8Test, RandomValuesMatchBruteForceNearest) {
  const Fp8Spec spec = GetParam();
  std::mt19937 rng(1234);
  const double max = float8Max(spec.format);
  std::uniform_real_distribution<double> exponent(-22.0, std::log2(max));
  std::bernoulli_distribution negative(0.5);
  for (int i = 0; i < 20000; ++i) {
    float x = static_cast<float>(std::exp2(exponent(rng)));
    if (negative(rng))
      x = -x;
    ASSERT_EQ(encodeFloat8(x, spec.format), nearestCode(spec, x)) << x;
  }
}

TEST_P(Fp8Test, ExactMidpointsRoundToEvenMantissa) {
  const Fp8Spec spec = GetParam();
  // Adjacent positive finite codes c and c+1: the midpoint of their values
  // must encode to whichever has the even mantissa.
  for (int code = 0; code < 127; ++code) {
    const double lo = valueFromBits(spec, code),
                 hi = valueFromBits(spec, code + 1);
    if (!std::isfinite(lo) || !std::isfinite(hi))
      continue;
    const float midpoint = static_cast<float>((lo + hi) / 2);
    ASSERT_EQ(static_cast<double>(midpoint), (lo + hi) / 2); // exact in f32
    const int even = (code % 2 == 0) ? code : code + 1;
    EXPECT_EQ(encodeFloat8(midpoint, spec.format), even)
        << "between " << lo << " and " << hi;
    EXPECT_EQ(encodeFloat8(-midpoint, spec.format), even | 0x80);
  }
}

TEST_P(Fp8Test, SaturatesAtBothEnds) {
  const Fp8Spec spec = GetParam();
  const int maxCode = spec.format == Format::F8E4M3FN ? 0x7E : 0x7B;
  const float max = static_cast<float>(valueFromBits(spec, maxCode));
  for (float big : {max * 1.01f, max * 2.0f, 1e30f, INFINITY}) {
    EXPECT_EQ(encodeFloat8(big, spec.format), maxCode) << big;
    EXPECT_EQ(encodeFloat8(-big, spec.format), maxCode | 0x80) << -big;
  }
  EXPECT_TRUE(
      std::isnan(decodeFloat8(encodeFloat8(NAN, spec.format), spec.format)));
}

INSTANTIATE_TEST_SUITE_P(Formats, Fp8Test, ::testing::Values(kE4M3FN, kE5M2),
                         [](const auto &info) {
                           return info.param.format == Format::F8E4M3FN
                                      ? "E4M3FN"
                                      : "E5M2";
                         });

//===----------------------------------------------------------------------===//
// NF4
//===----------------------------------------------------------------------===//

// Inverse normal CDF by bisection on erfc: a different method from the
// library's Newton iteration.
double quantileByBisection(double p) {
  double lo = -12, hi = 12;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    if (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

TEST(NF4, TableMatchesDefinition) {
  // Definition (QLoRA, appendix): with offset = (1-1/30 + 1-1/32)/2, the 8
  // positive levels are Phi^-1 at 8 of 9 points evenly spaced from offset to
  // 0.5, the 7 negative ones mirror 7 of 8 such points, plus 0; all divided by
  // the largest.
  const double offset = ((1 - 1.0 / 30) + (1 - 1.0 / 32)) / 2;
  std::vector<double> levels{0.0};
  for (int i = 0; i < 8; ++i)
    levels.push_back(quantileByBisection(offset - i * (offset - 0.5) / 8));
  for (int i = 0; i < 7; ++i)
    levels.push_back(-quantileByBisection(offset - i * (offset - 0.5) / 7));
  std::sort(levels.begin(), levels.end());
  const double top = levels.back();
  const auto &table = nf4Levels();
  for (int i = 0; i < 16; ++i)
    EXPECT_NEAR(table[i], levels[i] / top, 1e-7) << "level " << i;
}

TEST(NF4, TableMatchesPublishedValues) {
  // The NF4 table as published with QLoRA (bitsandbytes), an external
  // reference computed with float32 probabilities, hence the tolerance.
  const double published[16] = {-1.0,
                                -0.6961928009986877,
                                -0.5250730514526367,
                                -0.39491748809814453,
                                -0.28444138169288635,
                                -0.18477343022823334,
                                -0.09105003625154495,
                                0.0,
                                0.07958029955625534,
                                0.16093020141124725,
                                0.24611230194568634,
                                0.33791524171829224,
                                0.44070982933044434,
                                0.5626170039176941,
                                0.7229568362236023,
                                1.0};
  const auto &table = nf4Levels();
  for (int i = 0; i < 16; ++i)
    EXPECT_NEAR(table[i], published[i], 2e-6) << "level " << i;
  EXPECT_EQ(table[7], 0.0f); // zero is exactly representable
  EXPECT_EQ(table[0], -1.0f);
  EXPECT_EQ(table[15], 1.0f);
}

TEST(NF4, EncodesToNearestLevel) {
  const auto &table = nf4Levels();
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.2f, 1.2f);
  for (int i = 0; i < 5000; ++i) {
    const float x = dist(rng);
    int best = 0;
    for (int j = 1; j < 16; ++j)
      if (std::fabs(table[j] - x) < std::fabs(table[best] - x))
        best = j;
    ASSERT_EQ(encodeNF4(x), best) << x;
  }
  EXPECT_EQ(encodeNF4(NAN), 7);
}

//===----------------------------------------------------------------------===//
// Integer formats
//===----------------------------------------------------------------------===//

TEST(Integer, RoundHalfToEvenAtExactTies) {
  // x / 1 lands exactly on .5: ties go to the even integer.
  const std::pair<float, int> cases[] = {
      {0.5f, 0},   {1.5f, 2},   {2.5f, 2},     {3.5f, 4},      {-0.5f, 0},
      {-1.5f, -2}, {-2.5f, -2}, {126.5f, 126}, {-127.5f, -128}};
  for (auto [x, expected] : cases)
    EXPECT_EQ(quantizeInteger(x, 1.0f, 0, Format::I8), expected) << x;
  // With scale 0.25 and zero point 10: 0.625 / 0.25 = 2.5 -> 2 -> 12.
  EXPECT_EQ(quantizeInteger(0.625f, 0.25f, 10, Format::U8), 12);
  EXPECT_EQ(quantizeInteger(0.875f, 0.25f, 10, Format::U8), 14); // 3.5 -> 4
  EXPECT_EQ(roundHalfToEven(-3.5), -4.0);
  EXPECT_EQ(roundHalfToEven(4.5), 4.0);
  EXPECT_EQ(roundHalfToEven(4.500001), 5.0);
}

TEST(Integer, SaturatesAtBothEnds) {
  struct Case {
    Format format;
    int lo, hi;
  };
  for (Case c : {Case{Format::I8, -128, 127}, Case{Format::U8, 0, 255},
                 Case{Format::I4, -8, 7}, Case{Format::U4, 0, 15}}) {
    EXPECT_EQ(codeMin(c.format), c.lo);
    EXPECT_EQ(codeMax(c.format), c.hi);
    EXPECT_EQ(quantizeInteger(1e9f, 1.0f, 0, c.format), c.hi);
    EXPECT_EQ(quantizeInteger(-1e9f, 1.0f, 0, c.format), c.lo);
    EXPECT_EQ(quantizeInteger(INFINITY, 0.1f, 0, c.format), c.hi);
    EXPECT_EQ(quantizeInteger(-INFINITY, 0.1f, 0, c.format), c.lo);
    EXPECT_EQ(quantizeInteger(c.hi + 0.49f, 1.0f, 0, c.format), c.hi);
    EXPECT_EQ(quantizeInteger(c.hi + 0.51f, 1.0f, 0, c.format), c.hi);
    EXPECT_EQ(quantizeInteger(c.lo - 0.51f, 1.0f, 0, c.format), c.lo);
  }
  // Saturation happens after adding the zero point.
  EXPECT_EQ(quantizeInteger(-10.0f, 1.0f, 5, Format::U8), 0);
  EXPECT_EQ(quantizeInteger(250.0f, 1.0f, 10, Format::U8), 255);
  EXPECT_EQ(quantizeInteger(245.0f, 1.0f, 10, Format::U8), 255);
  EXPECT_EQ(quantizeInteger(244.0f, 1.0f, 10, Format::U8), 254);
}

TEST(Integer, NaNQuantizesToZeroPoint) {
  EXPECT_EQ(quantizeInteger(NAN, 0.5f, 3, Format::I8), 3);
  EXPECT_EQ(quantizeInteger(NAN, 0.5f, 128, Format::U8), 128);
}

TEST(Integer, DequantizeIsAffine) {
  EXPECT_EQ(dequantizeInteger(130, 0.5f, 128), 1.0f);
  EXPECT_EQ(dequantizeInteger(-128, 0.25f, 0), -32.0f);
  EXPECT_EQ(dequantizeValue(7, 2.0f, 0, Format::I4), 14.0f);
}

TEST(Integer, ScaleAndZeroPointFromRange) {
  // Asymmetric u8 over [-1, 3]: scale = 4/255, zp = round(1 / (4/255)) = 64.
  auto sz = chooseScaleAndZeroPoint(-1.0f, 3.0f, Format::U8, false);
  EXPECT_FLOAT_EQ(sz.scale, 4.0f / 255.0f);
  EXPECT_EQ(sz.zeroPoint, 64);
  // The range is widened to contain 0: [2, 6] behaves as [0, 6].
  sz = chooseScaleAndZeroPoint(2.0f, 6.0f, Format::U8, false);
  EXPECT_FLOAT_EQ(sz.scale, 6.0f / 255.0f);
  EXPECT_EQ(sz.zeroPoint, 0);
  // Asymmetric i8 over [-2.55, 0]: scale 0.01, zp = round(-128 + 255) = 127.
  sz = chooseScaleAndZeroPoint(-2.55f, 0.0f, Format::I8, false);
  EXPECT_FLOAT_EQ(sz.scale, 0.01f);
  EXPECT_EQ(sz.zeroPoint, 127);
  // Symmetric: absmax / 127 (i8), / 7 (i4), zero point mid-range if unsigned.
  sz = chooseScaleAndZeroPoint(-2.54f, 1.0f, Format::I8, true);
  EXPECT_FLOAT_EQ(sz.scale, 2.54f / 127.0f);
  EXPECT_EQ(sz.zeroPoint, 0);
  sz = chooseScaleAndZeroPoint(-0.7f, 0.35f, Format::U4, true);
  EXPECT_FLOAT_EQ(sz.scale, 0.1f);
  EXPECT_EQ(sz.zeroPoint, 8);
  // FP8 maps the absmax onto the largest finite value; NF4 onto 1.
  EXPECT_FLOAT_EQ(
      chooseScaleAndZeroPoint(-896.0f, 1.0f, Format::F8E4M3FN, true).scale,
      2.0f);
  EXPECT_FLOAT_EQ(
      chooseScaleAndZeroPoint(-0.5f, 0.25f, Format::NF4, true).scale, 0.5f);
}

TEST(Integer, DegenerateRangesGetAPositiveScale) {
  for (Format format : kAllFormats)
    for (bool symmetric : {false, true}) {
      auto sz = chooseScaleAndZeroPoint(0.0f, 0.0f, format, symmetric);
      EXPECT_GT(sz.scale, 0.0f) << formatName(format);
      EXPECT_EQ(quantizeValue(0.0f, sz.scale, sz.zeroPoint, format),
                quantizeValue(0.0f, 1.0f, sz.zeroPoint, format));
    }
}

//===----------------------------------------------------------------------===//
// Granularity
//===----------------------------------------------------------------------===//

TEST(Granularity, PerAxisAndPerBlockIndexing) {
  const std::vector<int64_t> shape = {2, 6, 3};
  // Walk the coordinates explicitly and compute the expected scale index
  // from them; compare with the indexer's flat-index arithmetic.
  for (int64_t axis = 0; axis < 3; ++axis) {
    for (int64_t block : {0, 1, 2, 3, 4}) {
      Granularity g{axis, block};
      auto table = scaleTableShape(shape, g);
      ScaleIndexer indexer(shape, g);
      int64_t flat = 0;
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 6; ++j)
          for (int64_t k = 0; k < 3; ++k, ++flat) {
            int64_t coord[3] = {i, j, k};
            int64_t expected;
            if (block == 0) {
              expected = coord[axis];
              ASSERT_EQ(table.size(), 1u);
              ASSERT_EQ(table[0], shape[axis]);
            } else {
              coord[axis] /= block;
              ASSERT_EQ(table[axis], (shape[axis] + block - 1) / block);
              expected = (coord[0] * table[1] + coord[1]) * table[2] + coord[2];
            }
            ASSERT_EQ(indexer(flat), expected)
                << "axis " << axis << " block " << block << " at " << flat;
          }
    }
  }
  EXPECT_TRUE(scaleTableShape(shape, Granularity{}).empty());
  EXPECT_EQ(ScaleIndexer(shape, Granularity{})(17), 0);
}

TEST(Granularity, PerAxisQuantizeUsesEachChannelsScale) {
  // 2x3 tensor, per-axis on axis 1: column c uses scale[c] and zp[c].
  const std::vector<int64_t> shape = {2, 3};
  const std::vector<float> x = {1.0f, 1.0f, 1.0f, -1.0f, 2.0f, 3.0f};
  QuantParams params{Format::I8, {1, 0}, {0.5f, 0.25f, 1.0f}, {0, 10, -5}};
  std::vector<int32_t> codes(6);
  quantizeTensor(x, shape, params, codes);
  // Expected: round(x / s[c]) + zp[c].
  EXPECT_EQ(codes, (std::vector<int32_t>{2, 14, -4, -2, 18, -2}));
  std::vector<float> back(6);
  dequantizeTensor(codes, shape, params, back);
  EXPECT_EQ(back, x);
}

TEST(Granularity, RTNPerBlockUsesEachBlocksRange) {
  // One row of 8 values in blocks of 4 along axis 1, symmetric i4.
  const std::vector<int64_t> shape = {1, 8};
  const std::vector<float> x = {7, -3.5, 1, 0, 0.7f, 0.1f, -0.3f, 0.2f};
  QuantParams p = computeRTNParams(x, shape, Format::I4, {1, 4}, true);
  ASSERT_EQ(p.scales.size(), 2u);
  EXPECT_FLOAT_EQ(p.scales[0], 1.0f); // 7 / 7
  EXPECT_FLOAT_EQ(p.scales[1], 0.1f); // 0.7 / 7
  EXPECT_TRUE(p.zeroPoints.empty());
  std::vector<int32_t> codes(8);
  quantizeTensor(x, shape, p, codes);
  EXPECT_EQ(codes, (std::vector<int32_t>{7, -4, 1, 0, 7, 1, -3,
                                         2})); // -3.5 ties to -4
}

//===----------------------------------------------------------------------===//
// Packing and double quantization
//===----------------------------------------------------------------------===//

TEST(Packing, LowerIndexInLowNibbleAndRowsPadded) {
  // Two rows of 3: each row takes 2 bytes, the last nibble is padding.
  const std::vector<int32_t> codes = {1, 2, 3, -1, -8, 7};
  auto bytes = packInt4(codes, 3);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0x21, 0x03, 0x8F, 0x07}));
  EXPECT_EQ(packedInt4Size(6, 3), 4);
  EXPECT_EQ(unpackInt4(bytes, 6, 3, /*isSigned=*/true), codes);
  const std::vector<int32_t> unsignedCodes = {15, 0, 9, 4};
  auto packed = packInt4(unsignedCodes, 4);
  EXPECT_EQ(packed, (std::vector<uint8_t>{0x0F, 0x49}));
  EXPECT_EQ(unpackInt4(packed, 4, 4, false), unsignedCodes);
}

TEST(DoubleQuant, AbsmaxesRecoveredWithinHalfAStep) {
  std::vector<float> absmax;
  for (int i = 0; i < 600; ++i)
    absmax.push_back(0.01f + 0.001f * static_cast<float>((i * 37) % 101));
  auto dq = doubleQuantizeScales(absmax, 256);
  ASSERT_EQ(dq.groupScales.size(), 3u); // 256 + 256 + 88
  auto back = expandDoubleQuantized(dq.codes, dq.groupScales, 256);
  for (size_t i = 0; i < absmax.size(); ++i) {
    const float step = dq.groupScales[i / 256];
    float groupMax = 0;
    for (size_t j = (i / 256) * 256;
         j < std::min<size_t>(absmax.size(), (i / 256 + 1) * 256); ++j)
      groupMax = std::max(groupMax, absmax[j]);
    EXPECT_FLOAT_EQ(step, groupMax / 255.0f);
    EXPECT_LE(std::fabs(back[i] - absmax[i]), step / 2 * 1.0001f) << i;
  }
}

TEST(Metrics, CompareTensors) {
  std::vector<float> ref = {1, 2, 3, 4}, approx = {1, 2, 3, 5};
  auto stats = compareTensors(ref, approx);
  EXPECT_DOUBLE_EQ(stats.mse, 0.25);
  EXPECT_DOUBLE_EQ(stats.maxAbsError, 1.0);
  EXPECT_NEAR(stats.sqnrDb, 10 * std::log10(30.0 / 1.0), 1e-12);
  EXPECT_TRUE(std::isinf(compareTensors(ref, ref).sqnrDb));
}

TEST(Half, EveryCodeMatchesItsBitLayoutAndReencodes) {
  for (uint32_t code = 0; code < 65536; ++code) {
    const int sign = code >> 15, exponent = (code >> 10) & 0x1F,
              mantissa = code & 0x3FF;
    double expected;
    if (exponent == 31)
      expected = mantissa ? NAN : INFINITY;
    else if (exponent == 0)
      expected = mantissa * std::pow(2.0, -24);
    else
      expected = (1.0 + mantissa / 1024.0) * std::pow(2.0, exponent - 15);
    if (sign)
      expected = -expected;
    const float decoded = decodeHalf(static_cast<uint16_t>(code));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(decoded)) << code;
      continue;
    }
    ASSERT_EQ(static_cast<double>(decoded), expected) << code;
    ASSERT_EQ(encodeHalf(decoded), code) << code;
  }
  // Ties between neighbours go to the even code; overflow goes to infinity.
  EXPECT_EQ(encodeHalf(1.0f + 1.0f / 2048.0f),
            0x3C00); // between 0x3C00 and 0x3C01
  EXPECT_EQ(encodeHalf(1.0f + 3.0f / 2048.0f),
            0x3C02); // between 0x3C01 and 0x3C02
  EXPECT_EQ(encodeHalf(65520.0f), 0x7C00);
  EXPECT_EQ(encodeHalf(65519.0f), 0x7BFF);
}

TEST(Formats, NamesRoundTrip) {
  for (Format format : kAllFormats)
    EXPECT_EQ(parseFormat(formatName(format)), format);
  EXPECT_FALSE(parseFormat("i3").has_value());
}

} // namespace

// Stored size: 10 int4 codes pack into 5 bytes, 2 f32 scales take 8, and
// 2 int4 zero points one more byte; 3 int8 codes with 1 scale take 3 + 4.
TEST(QuantizedBytes, CodesScalesAndZeroPoints) {
  EXPECT_EQ(quantizedBytes(10, Format::I4, 2, false), 5 + 8);
  EXPECT_EQ(quantizedBytes(10, Format::U4, 2, true), 5 + 8 + 1);
  EXPECT_EQ(quantizedBytes(3, Format::I8, 1, false), 3 + 4);
  EXPECT_EQ(quantizedBytes(3, Format::U8, 1, true), 3 + 4 + 1);
}

//===----------------------------------------------------------------------===//
// Epilogue activations
//===----------------------------------------------------------------------===//

// GELU is x * Phi(x) with Phi the standard normal CDF (published values:
// Phi(1) = 0.8413447460685429, Phi(-2) = 0.022750131948179195); SiLU is
// x * logistic(x) (logistic(1) = 0.7310585786300049); the tanh form is
// Hendrycks and Gimpel's approximation, within 5e-4 of GELU here.
TEST(Activations, MatchPublishedValues) {
  auto near = [](double got, double want) {
    EXPECT_NEAR(got, want, 4e-15 * std::fabs(want)) << "want " << want;
  };
  near(applyActivation(Activation::Gelu, 1.0), 0.8413447460685429);
  near(applyActivation(Activation::Gelu, -2.0), -2.0 * 0.022750131948179195);
  near(applyActivation(Activation::Silu, 1.0), 0.7310585786300049);
  near(applyActivation(Activation::Silu, -3.0), -3.0 / (1.0 + std::exp(3.0)));
  for (double x : {-3.0, -1.0, 0.25, 2.0})
    EXPECT_NEAR(applyActivation(Activation::GeluTanh, x),
                applyActivation(Activation::Gelu, x), 5e-4);
  EXPECT_EQ(applyActivation(Activation::None, -1.5), -1.5);
  EXPECT_EQ(applyActivation(Activation::Gelu, 0.0), 0.0);
}

TEST(Activations, NamesRoundTrip) {
  for (Activation a :
       {Activation::Gelu, Activation::GeluTanh, Activation::Silu})
    EXPECT_EQ(parseActivation(activationName(a)), a);
  EXPECT_FALSE(parseActivation("relu"));
  EXPECT_FALSE(parseActivation(""));
}
