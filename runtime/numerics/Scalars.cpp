// Scalar conversions of the numeric core: rounding, integer affine
// quantization, FP8 encode/decode and the NF4 codebook.
#include "runtime/numerics/Numerics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace qcc::rt {

std::string_view formatName(Format format) {
  switch (format) {
  case Format::I8:
    return "i8";
  case Format::U8:
    return "u8";
  case Format::I4:
    return "i4";
  case Format::U4:
    return "u4";
  case Format::NF4:
    return "nf4";
  case Format::F8E4M3FN:
    return "f8e4m3fn";
  case Format::F8E5M2:
    return "f8e5m2";
  case Format::I16:
    return "i16";
  case Format::U16:
    return "u16";
  }
  return "?";
}

std::optional<Format> parseFormat(std::string_view name) {
  for (Format format : kAllFormats)
    if (formatName(format) == name)
      return format;
  return std::nullopt;
}

unsigned formatBits(Format format) {
  switch (format) {
  case Format::I16:
  case Format::U16:
    return 16;
  case Format::I4:
  case Format::U4:
  case Format::NF4:
    return 4;
  default:
    return 8;
  }
}

bool isIntegerFormat(Format format) {
  return format == Format::I8 || format == Format::U8 || format == Format::I4 ||
         format == Format::U4 || format == Format::I16 || format == Format::U16;
}

bool isFloat8Format(Format format) {
  return format == Format::F8E4M3FN || format == Format::F8E5M2;
}

int32_t codeMin(Format format) {
  switch (format) {
  case Format::I16:
    return -32768;
  case Format::I8:
    return -128;
  case Format::I4:
    return -8;
  default:
    return 0;
  }
}

int32_t codeMax(Format format) {
  switch (format) {
  case Format::I16:
    return 32767;
  case Format::U16:
    return 65535;
  case Format::I8:
    return 127;
  case Format::U8:
    return 255;
  case Format::I4:
    return 7;
  case Format::U4:
  case Format::NF4:
    return 15;
  case Format::F8E4M3FN:
  case Format::F8E5M2:
    return 255;
  }
  return 0;
}

double roundHalfToEven(double value) {
  if (!std::isfinite(value))
    return value;
  double lower = std::floor(value);
  double fraction = value - lower;
  if (fraction > 0.5)
    return lower + 1.0;
  if (fraction < 0.5)
    return lower;
  // Exact tie: pick the even neighbour.
  return std::fmod(lower, 2.0) == 0.0 ? lower : lower + 1.0;
}

int32_t quantizeInteger(float x, float scale, int32_t zeroPoint,
                        Format format) {
  const int32_t lo = codeMin(format), hi = codeMax(format);
  if (std::isnan(x))
    return std::clamp(zeroPoint, lo, hi);
  // The division happens in f32, as ONNX QuantizeLinear specifies.
  float scaled = x / scale;
  double shifted = roundHalfToEven(scaled) + static_cast<double>(zeroPoint);
  if (shifted <= lo)
    return lo;
  if (shifted >= hi)
    return hi;
  return static_cast<int32_t>(shifted);
}

float dequantizeInteger(int32_t code, float scale, int32_t zeroPoint) {
  return static_cast<float>(code - zeroPoint) * scale;
}

//===----------------------------------------------------------------------===//
// Epilogue activations
//===----------------------------------------------------------------------===//

std::string_view activationName(Activation activation) {
  switch (activation) {
  case Activation::None:
    return "";
  case Activation::Gelu:
    return "gelu";
  case Activation::GeluTanh:
    return "gelu_tanh";
  case Activation::Silu:
    return "silu";
  }
  return "";
}

std::optional<Activation> parseActivation(std::string_view name) {
  for (Activation a :
       {Activation::Gelu, Activation::GeluTanh, Activation::Silu})
    if (name == activationName(a))
      return a;
  return std::nullopt;
}

double applyActivation(Activation activation, double x) {
  switch (activation) {
  case Activation::None:
    return x;
  // 1 + erf(t) and 1 + tanh(t) cancel for negative t, where any two
  // libraries' results differ in their last bits; erfc(-t) and
  // 2 / (1 + exp(-2t)) are the same functions without the cancellation.
  case Activation::Gelu:
    return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
  case Activation::GeluTanh: {
    const double c = std::sqrt(2.0 / M_PI);
    return x / (1.0 + std::exp(-2.0 * c * (x + 0.044715 * x * x * x)));
  }
  case Activation::Silu:
    return x / (1.0 + std::exp(-x));
  }
  return x;
}

//===----------------------------------------------------------------------===//
// FP8
//===----------------------------------------------------------------------===//

namespace {
struct Float8Layout {
  int exponentBits;
  int mantissaBits;
  int bias;
  bool hasInfinity; // E5M2: exponent all-ones with mantissa 0 is Inf
};

Float8Layout float8Layout(Format format) {
  if (format == Format::F8E4M3FN)
    return {4, 3, 7, false};
  return {5, 2, 15, true};
}
} // namespace

float float8Max(Format format) {
  return format == Format::F8E4M3FN ? 448.0f : 57344.0f;
}

float decodeFloat8(uint8_t code, Format format) {
  const Float8Layout layout = float8Layout(format);
  const bool negative = code & 0x80;
  const int exponentMask = (1 << layout.exponentBits) - 1;
  const int mantissaMask = (1 << layout.mantissaBits) - 1;
  const int exponent = (code >> layout.mantissaBits) & exponentMask;
  const int mantissa = code & mantissaMask;
  float magnitude;
  if (exponent == exponentMask &&
      (layout.hasInfinity || mantissa == mantissaMask)) {
    if (layout.hasInfinity && mantissa == 0)
      magnitude = std::numeric_limits<float>::infinity();
    else
      return std::numeric_limits<float>::quiet_NaN();
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa),
                           1 - layout.bias - layout.mantissaBits);
  } else {
    magnitude =
        std::ldexp(static_cast<float>((1 << layout.mantissaBits) + mantissa),
                   exponent - layout.bias - layout.mantissaBits);
  }
  return negative ? -magnitude : magnitude;
}

uint8_t encodeFloat8(float x, Format format) {
  const Float8Layout layout = float8Layout(format);
  const uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
  if (std::isnan(x))
    return sign | 0x7F;
  const uint8_t maxCode = format == Format::F8E4M3FN ? 0x7E : 0x7B;
  const double magnitude = std::fabs(static_cast<double>(x));
  if (magnitude >= float8Max(format))
    return sign | maxCode; // saturate, Inf included
  if (magnitude == 0.0)
    return sign;

  const int minNormalExponent = 1 - layout.bias;
  int exponent; // magnitude = fraction * 2^exponent, fraction in [0.5, 1)
  std::frexp(magnitude, &exponent);
  exponent -= 1; // magnitude = 1.xxx * 2^exponent
  // Quantum of the target binade; subnormals share the smallest one.
  const int quantumExponent =
      std::max(exponent, minNormalExponent) - layout.mantissaBits;
  // Scaling by a power of two is exact, so only this rounding is inexact.
  const double steps = roundHalfToEven(std::ldexp(magnitude, -quantumExponent));
  // `steps` counts quanta. Below the smallest normal binade the code is the
  // step count itself; above it, the implicit leading one lives in the
  // exponent field and a carry out of the mantissa bumps the exponent.
  uint32_t code;
  if (exponent < minNormalExponent) {
    code = static_cast<uint32_t>(steps); // may carry into the first normal
  } else {
    uint32_t significand = static_cast<uint32_t>(steps);
    int biased = exponent + layout.bias;
    if (significand == (2u << layout.mantissaBits)) {
      significand >>= 1;
      biased += 1;
    }
    code = (static_cast<uint32_t>(biased) << layout.mantissaBits) |
           (significand - (1u << layout.mantissaBits));
  }
  if (code > maxCode)
    code = maxCode; // rounding up past the largest finite value saturates
  return sign | static_cast<uint8_t>(code);
}

//===----------------------------------------------------------------------===//
// Half precision
//===----------------------------------------------------------------------===//

float decodeHalf(uint16_t bits) {
  const uint32_t sign = bits >> 15, exponent = (bits >> 10) & 0x1F,
                 mantissa = bits & 0x3FF;
  float magnitude;
  if (exponent == 0)
    magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
  else if (exponent == 31)
    magnitude = mantissa ? std::numeric_limits<float>::quiet_NaN()
                         : std::numeric_limits<float>::infinity();
  else
    magnitude = static_cast<float>(mantissa | 0x400) *
                static_cast<float>(1 << exponent) / 33554432.0f;
  return sign ? -magnitude : magnitude;
}

uint16_t encodeHalf(float value) {
  // Round to nearest even through the exact float arithmetic of a scaled
  // conversion; handles subnormals, overflow to Inf and NaN.
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t abs = bits & 0x7FFFFFFF;
  if (abs > 0x7F800000)
    return sign | 0x7E00;
  if (abs >= 0x477FF000) // rounds to >= 65520: Inf
    return sign | 0x7C00;
  float magnitude;
  std::memcpy(&magnitude, &abs, 4);
  if (abs < 0x38800000) { // below the smallest normal half: subnormal steps
    const float steps = magnitude * 16777216.0f;
    float rounded = static_cast<float>(static_cast<int64_t>(steps));
    const float fraction = steps - rounded;
    if (fraction > 0.5f ||
        (fraction == 0.5f && static_cast<int64_t>(rounded) % 2 == 1))
      rounded += 1.0f;
    return sign | static_cast<uint16_t>(rounded);
  }
  uint32_t mantissa = abs & 0x7FFFFF;
  int exponent = static_cast<int>(abs >> 23) - 127 + 15;
  const uint32_t remainder = mantissa & 0x1FFF;
  mantissa >>= 13;
  if (remainder > 0x1000 || (remainder == 0x1000 && (mantissa & 1)))
    ++mantissa;
  if (mantissa == 0x400) {
    mantissa = 0;
    ++exponent;
  }
  return sign | static_cast<uint16_t>(exponent << 10) |
         static_cast<uint16_t>(mantissa);
}

//===----------------------------------------------------------------------===//
// NF4
//===----------------------------------------------------------------------===//

double normalQuantile(double p) {
  // Newton's method on the CDF Phi(x) = erfc(-x / sqrt 2) / 2. Phi is convex
  // below 0 and concave above, so iterating from 0 approaches the root
  // monotonically without overshooting into the flat tails.
  const double invSqrt2 = 0.70710678118654752440;
  const double invSqrt2Pi = 0.39894228040143267794;
  double x = 0.0;
  for (int iteration = 0; iteration < 200; ++iteration) {
    double cdf = 0.5 * std::erfc(-x * invSqrt2);
    double pdf = invSqrt2Pi * std::exp(-0.5 * x * x);
    double step = (cdf - p) / pdf;
    x -= step;
    if (std::fabs(step) < 1e-15 * std::max(1.0, std::fabs(x)))
      break;
  }
  return x;
}

namespace {
std::array<float, 16> computeNF4Levels() {
  // NF4 (QLoRA): 8 positive quantiles and 7 negative ones of N(0, 1), taken at
  // probabilities evenly spaced from `offset` down to 0.5 (excluded), plus an
  // exact zero; then everything is divided by the largest value. The offset is
  // the mean of 1 - 1/(2*15) and 1 - 1/(2*16), the two tail probabilities of
  // a 15- and a 16-level split.
  const double offset = 0.5 * ((1.0 - 1.0 / 30.0) + (1.0 - 1.0 / 32.0));
  std::array<double, 16> levels{};
  int next = 0;
  for (int i = 0; i < 7; ++i) // negative side: 7 probabilities of 8 spaced
    levels[next++] = -normalQuantile(offset - i * (offset - 0.5) / 7.0);
  levels[next++] = 0.0;
  for (int i = 0; i < 8; ++i) // positive side: 8 probabilities of 9 spaced
    levels[next++] = normalQuantile(offset - i * (offset - 0.5) / 8.0);
  std::sort(levels.begin(), levels.end());
  const double top = levels.back();
  std::array<float, 16> result{};
  for (int i = 0; i < 16; ++i)
    result[i] = static_cast<float>(levels[i] / top);
  return result;
}
} // namespace

const std::array<float, 16> &nf4Levels() {
  static const std::array<float, 16> levels = computeNF4Levels();
  return levels;
}

uint8_t encodeNF4(float normalized) {
  const std::array<float, 16> &levels = nf4Levels();
  if (std::isnan(normalized))
    return 7; // index of the exact zero
  uint8_t index = 0;
  // Count the midpoints strictly below the value: a tie stays on the lower
  // level.
  for (int i = 0; i < 15; ++i) {
    float midpoint = 0.5f * (levels[i] + levels[i + 1]);
    if (normalized > midpoint)
      index = static_cast<uint8_t>(i + 1);
  }
  return index;
}

//===----------------------------------------------------------------------===//
// Dispatch on format.
//===----------------------------------------------------------------------===//

int32_t quantizeValue(float x, float scale, int32_t zeroPoint, Format format) {
  if (isIntegerFormat(format))
    return quantizeInteger(x, scale, zeroPoint, format);
  if (isFloat8Format(format))
    return encodeFloat8(x / scale, format);
  return encodeNF4(x / scale);
}

float dequantizeValue(int32_t code, float scale, int32_t zeroPoint,
                      Format format) {
  if (isIntegerFormat(format))
    return dequantizeInteger(code, scale, zeroPoint);
  if (isFloat8Format(format))
    return decodeFloat8(static_cast<uint8_t>(code), format) * scale;
  return nf4Levels()[code & 0xF] * scale;
}

} // namespace qcc::rt
