// The numeric core of qcc: DESIGN.md section 3 as plain C++ with no MLIR or
// LLVM dependency. The reference interpreter, the CPU and CUDA backends and
// the dialect folders all call these functions, so there is exactly one
// definition of how a value becomes a code and back.
#ifndef QCC_RUNTIME_NUMERICS_NUMERICS_H
#define QCC_RUNTIME_NUMERICS_NUMERICS_H

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace qcc::rt {

/// Storage formats of quantized tensors.
enum class Format : uint8_t {
  I8,       ///< signed 8-bit integer, affine
  U8,       ///< unsigned 8-bit integer, affine
  I4,       ///< signed 4-bit integer, affine, packed two per byte
  U4,       ///< unsigned 4-bit integer, affine, packed two per byte
  NF4,      ///< 4-bit NormalFloat codebook index, scaled by a block absmax
  F8E4M3FN, ///< 8-bit float, 4 exponent bits, no infinities
  F8E5M2,   ///< 8-bit float, 5 exponent bits, IEEE-like
  I16,      ///< signed 16-bit integer, affine (ONNX opset 21 Q/DQ)
  U16,      ///< unsigned 16-bit integer, affine
};

inline constexpr std::array<Format, 9> kAllFormats = {
    Format::I8,       Format::U8,     Format::I4,  Format::U4, Format::NF4,
    Format::F8E4M3FN, Format::F8E5M2, Format::I16, Format::U16};

/// Textual name used by the IR and the tools ("i8", "nf4", "f8e4m3fn", ...).
std::string_view formatName(Format format);
std::optional<Format> parseFormat(std::string_view name);

/// Bits per stored element (16, 8 or 4).
unsigned formatBits(Format format);
/// True for the affine integer formats, which have a zero point.
bool isIntegerFormat(Format format);
bool isFloat8Format(Format format);
/// Code range. For integer formats the signed integer range; for NF4 0..15;
/// for FP8 the raw byte 0..255.
int32_t codeMin(Format format);
int32_t codeMax(Format format);

/// Round to nearest, ties to even, independent of the FP rounding mode.
double roundHalfToEven(double value);

//===----------------------------------------------------------------------===//
// Activations fused into the epilogue of the integer layers.
//===----------------------------------------------------------------------===//

/// The smooth activations `qg.qlinear` and `qg.qconv2d` may apply after their
/// bias (ReLU and clip are bounds, not activations). The values are the ones
/// the package format stores.
enum class Activation : uint8_t { None = 0, Gelu = 1, GeluTanh = 2, Silu = 3 };

/// The IR's names: "gelu" (erf form), "gelu_tanh", "silu"; None is "".
std::string_view activationName(Activation activation);
std::optional<Activation> parseActivation(std::string_view name);

/// The activation in double, as the reference interpreter evaluates qg.gelu
/// (both forms) and qg.silu: GELU 0.5 x erfc(-x / sqrt 2), its tanh form
/// x / (1 + exp(-2 sqrt(2/pi) (x + 0.044715 x^3))), SiLU x / (1 + exp(-x)),
/// which equal ONNX's formulas without their cancellation at negative x.
/// Callers round the result to f32; every backend's epilogue must agree
/// with this after that rounding.
double applyActivation(Activation activation, double x);

//===----------------------------------------------------------------------===//
// Scalar conversions.
//===----------------------------------------------------------------------===//

/// saturate(round_half_to_even(x / scale) + zeroPoint) into the range of an
/// integer format. NaN maps to the zero point; +-Inf saturate.
int32_t quantizeInteger(float x, float scale, int32_t zeroPoint, Format format);
/// (q - zeroPoint) * scale, in f32.
float dequantizeInteger(int32_t code, float scale, int32_t zeroPoint);

/// Decode one FP8 byte to f32 (exact).
float decodeFloat8(uint8_t code, Format format);
/// Encode f32 to FP8 with round-half-to-even and saturation to the finite
/// range (E4M3FN +-448, E5M2 +-57344); +-Inf saturate, NaN stays NaN.
uint8_t encodeFloat8(float x, Format format);
/// IEEE half precision (f16) bits to f32 and back (round half to even,
/// overflow to infinity).
float decodeHalf(uint16_t bits);
uint16_t encodeHalf(float value);

/// Largest finite value of an FP8 format.
float float8Max(Format format);

/// The 16 NF4 levels, ascending, computed from their definition: quantiles
/// of the standard normal distribution rescaled to [-1, 1] with an exact 0.
const std::array<float, 16> &nf4Levels();
/// Index of the NF4 level nearest to `normalized` (ties take the lower level).
/// NaN maps to the index of 0.
uint8_t encodeNF4(float normalized);
/// Inverse of the standard normal CDF, for p in (0, 1).
double normalQuantile(double p);

/// Quantize one value with the scale (and zero point for integer formats)
/// that governs it. Returns the stored code.
int32_t quantizeValue(float x, float scale, int32_t zeroPoint, Format format);
/// Dequantize one stored code.
float dequantizeValue(int32_t code, float scale, int32_t zeroPoint,
                      Format format);

//===----------------------------------------------------------------------===//
// Granularity and whole tensors.
//===----------------------------------------------------------------------===//

/// Which scale governs an element. axis < 0 means per-tensor; blockSize == 0
/// with axis >= 0 means per-axis; blockSize > 0 means consecutive groups of
/// blockSize elements along axis share a scale (ONNX opset 21 layout).
struct Granularity {
  int64_t axis = -1;
  int64_t blockSize = 0;

  bool isPerTensor() const { return axis < 0; }
  bool isPerAxis() const { return axis >= 0 && blockSize == 0; }
  bool isPerBlock() const { return axis >= 0 && blockSize > 0; }
};

/// Shape of the scale (and zero point) table for a tensor of `shape`:
/// {} per-tensor, {shape[axis]} per-axis, and `shape` with the block axis
/// divided (rounded up) by the block size per-block.
std::vector<int64_t> scaleTableShape(std::span<const int64_t> shape,
                                     const Granularity &granularity);

/// Number of elements of a shape (1 for rank 0).
int64_t elementCount(std::span<const int64_t> shape);

/// Maps each element's row-major index to the row-major index of its scale.
class ScaleIndexer {
public:
  ScaleIndexer(std::span<const int64_t> shape, const Granularity &granularity);
  int64_t operator()(int64_t flatIndex) const;

private:
  Granularity granularity;
  int64_t axisDim = 1;
  int64_t innerStride = 1; ///< elements after `axis`
  int64_t blockCount = 1;  ///< scale-table extent along `axis`
};

/// Quantization parameters of one tensor. zeroPoints is empty when all zero
/// points are 0; otherwise it matches scales element for element.
struct QuantParams {
  Format format = Format::I8;
  Granularity granularity;
  std::vector<float> scales;
  std::vector<int32_t> zeroPoints;

  int32_t zeroPoint(int64_t index) const {
    return zeroPoints.empty() ? 0 : zeroPoints[index];
  }
};

/// Quantize a whole tensor. `codes` must have as many elements as `values`.
void quantizeTensor(std::span<const float> values,
                    std::span<const int64_t> shape, const QuantParams &params,
                    std::span<int32_t> codes);
/// Dequantize a whole tensor.
void dequantizeTensor(std::span<const int32_t> codes,
                      std::span<const int64_t> shape, const QuantParams &params,
                      std::span<float> values);

/// Smallest scale ever produced: a constant or all-zero range gets this
/// instead of 0, so no division by zero can happen downstream.
inline constexpr float kMinScale = 1.0f / 16777216.0f; // 2^-24

/// Scale and zero point for the real range [minValue, maxValue].
/// Asymmetric (integer formats only): the range is widened to include 0, and
/// scale = (max - min) / (qmax - qmin), zp = saturate(round(qmin - min/scale)).
/// Symmetric: scale = max(|min|, |max|) / limit with the zero point in the
/// middle of the code range (0 for signed, 2^(bits-1) for unsigned), where
/// limit is 127/7 for integers, the largest finite value for FP8 and 1 for
/// NF4 (whose scale is the absmax).
struct ScaleAndZeroPoint {
  float scale;
  int32_t zeroPoint;
};
ScaleAndZeroPoint chooseScaleAndZeroPoint(float minValue, float maxValue,
                                          Format format, bool symmetric);

/// Round-to-nearest quantization parameters for `values`: the range of each
/// group that shares a scale, through chooseScaleAndZeroPoint. NF4 and FP8 are
/// always symmetric.
QuantParams computeRTNParams(std::span<const float> values,
                             std::span<const int64_t> shape, Format format,
                             const Granularity &granularity, bool symmetric);

/// Bytes a quantized tensor of `elementCount` codes takes when stored: the
/// codes at the format's width (packed), one f32 per scale, and, when it has
/// zero points, one per scale at the format's width.
int64_t quantizedBytes(int64_t elementCount, Format format, int64_t scaleCount,
                       bool hasZeroPoints);

//===----------------------------------------------------------------------===//
// 4-bit packing and double quantization.
//===----------------------------------------------------------------------===//

/// Packs 4-bit codes two per byte, the lower index in the low nibble. The
/// tensor is viewed as rows of `rowLength` elements (its last dimension);
/// every row starts on a fresh byte, so an odd row ends in a padding nibble.
std::vector<uint8_t> packInt4(std::span<const int32_t> codes,
                              int64_t rowLength);
/// Inverse of packInt4; signed formats sign-extend each nibble.
std::vector<int32_t> unpackInt4(std::span<const uint8_t> bytes,
                                int64_t elementCount, int64_t rowLength,
                                bool isSigned);
/// Bytes that packInt4 produces.
int64_t packedInt4Size(int64_t elementCount, int64_t rowLength);

/// Double quantization of a table of non-negative block scales (NF4
/// absmaxes): consecutive groups of `groupSize` scales are stored as u8 codes
/// with one f32 scale per group, scale = max(group) / 255, zero point 0.
struct DoubleQuantized {
  std::vector<int32_t> codes;     ///< one u8 code per input scale
  std::vector<float> groupScales; ///< one per group (last may be partial)
};
DoubleQuantized doubleQuantizeScales(std::span<const float> scales,
                                     int64_t groupSize);
std::vector<float> expandDoubleQuantized(std::span<const int32_t> codes,
                                         std::span<const float> groupScales,
                                         int64_t groupSize);

//===----------------------------------------------------------------------===//
// Error metrics.
//===----------------------------------------------------------------------===//

struct ErrorStats {
  double mse = 0;         ///< mean squared error
  double maxAbsError = 0; ///< largest |reference - approx|
  double sqnrDb = 0; ///< 10 log10(signal power / noise power); inf if exact
};
ErrorStats compareTensors(std::span<const float> reference,
                          std::span<const float> approx);

} // namespace qcc::rt

#endif // QCC_RUNTIME_NUMERICS_NUMERICS_H
