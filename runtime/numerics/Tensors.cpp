// Whole-tensor operations of the numeric core: granularity indexing,
// quantize/dequantize, round-to-nearest parameter choice, 4-bit packing,
// double quantization and error metrics.
#include "runtime/numerics/Numerics.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace qcc::rt {

int64_t elementCount(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

std::vector<int64_t> scaleTableShape(std::span<const int64_t> shape,
                                     const Granularity &granularity) {
  if (granularity.isPerTensor())
    return {};
  if (granularity.isPerAxis())
    return {shape[granularity.axis]};
  std::vector<int64_t> table(shape.begin(), shape.end());
  table[granularity.axis] =
      (table[granularity.axis] + granularity.blockSize - 1) /
      granularity.blockSize;
  return table;
}

ScaleIndexer::ScaleIndexer(std::span<const int64_t> shape,
                           const Granularity &granularity)
    : granularity(granularity) {
  if (granularity.isPerTensor())
    return;
  assert(granularity.axis < static_cast<int64_t>(shape.size()));
  axisDim = shape[granularity.axis];
  for (size_t i = granularity.axis + 1; i < shape.size(); ++i)
    innerStride *= shape[i];
  blockCount =
      granularity.isPerBlock()
          ? (axisDim + granularity.blockSize - 1) / granularity.blockSize
          : axisDim;
}

int64_t ScaleIndexer::operator()(int64_t flatIndex) const {
  if (granularity.isPerTensor())
    return 0;
  const int64_t axisIndex = (flatIndex / innerStride) % axisDim;
  if (granularity.isPerAxis())
    return axisIndex;
  const int64_t outer = flatIndex / (innerStride * axisDim);
  const int64_t inner = flatIndex % innerStride;
  return (outer * blockCount + axisIndex / granularity.blockSize) *
             innerStride +
         inner;
}

void quantizeTensor(std::span<const float> values,
                    std::span<const int64_t> shape, const QuantParams &params,
                    std::span<int32_t> codes) {
  assert(values.size() == codes.size());
  ScaleIndexer indexer(shape, params.granularity);
  for (size_t i = 0; i < values.size(); ++i) {
    int64_t s = indexer(static_cast<int64_t>(i));
    codes[i] = quantizeValue(values[i], params.scales[s], params.zeroPoint(s),
                             params.format);
  }
}

void dequantizeTensor(std::span<const int32_t> codes,
                      std::span<const int64_t> shape, const QuantParams &params,
                      std::span<float> values) {
  assert(values.size() == codes.size());
  ScaleIndexer indexer(shape, params.granularity);
  for (size_t i = 0; i < codes.size(); ++i) {
    int64_t s = indexer(static_cast<int64_t>(i));
    values[i] = dequantizeValue(codes[i], params.scales[s], params.zeroPoint(s),
                                params.format);
  }
}

ScaleAndZeroPoint chooseScaleAndZeroPoint(float minValue, float maxValue,
                                          Format format, bool symmetric) {
  const float absMax = std::max(std::fabs(minValue), std::fabs(maxValue));
  auto guard = [](float scale) {
    return scale >= kMinScale && std::isfinite(scale) ? scale : kMinScale;
  };
  if (format == Format::NF4)
    return {guard(absMax), 0};
  if (isFloat8Format(format))
    return {guard(absMax / float8Max(format)), 0};

  const int32_t qmin = codeMin(format), qmax = codeMax(format);
  if (symmetric) {
    const int32_t half = 1 << (formatBits(format) - 1);
    const int32_t zeroPoint = qmin < 0 ? 0 : half;
    return {guard(absMax / static_cast<float>(half - 1)), zeroPoint};
  }
  const float lo = std::min(minValue, 0.0f), hi = std::max(maxValue, 0.0f);
  const float scale = guard((hi - lo) / static_cast<float>(qmax - qmin));
  double zeroPoint = roundHalfToEven(static_cast<double>(qmin) - lo / scale);
  zeroPoint = std::clamp(zeroPoint, static_cast<double>(qmin),
                         static_cast<double>(qmax));
  return {scale, static_cast<int32_t>(zeroPoint)};
}

QuantParams computeRTNParams(std::span<const float> values,
                             std::span<const int64_t> shape, Format format,
                             const Granularity &granularity, bool symmetric) {
  const int64_t groups = elementCount(scaleTableShape(shape, granularity));
  std::vector<float> mins(groups, 0.0f), maxs(groups, 0.0f);
  std::vector<bool> seen(groups, false);
  ScaleIndexer indexer(shape, granularity);
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!std::isfinite(v))
      continue; // NaN and Inf do not widen the range; Inf saturates later
    const int64_t g = indexer(static_cast<int64_t>(i));
    if (!seen[g]) {
      mins[g] = maxs[g] = v;
      seen[g] = true;
    } else {
      mins[g] = std::min(mins[g], v);
      maxs[g] = std::max(maxs[g], v);
    }
  }
  QuantParams params;
  params.format = format;
  params.granularity = granularity;
  params.scales.resize(groups);
  const bool needsZeroPoints = isIntegerFormat(format);
  if (needsZeroPoints)
    params.zeroPoints.resize(groups);
  bool anyNonZero = false;
  for (int64_t g = 0; g < groups; ++g) {
    ScaleAndZeroPoint sz = chooseScaleAndZeroPoint(
        mins[g], maxs[g], format, symmetric || !needsZeroPoints);
    params.scales[g] = sz.scale;
    if (needsZeroPoints) {
      params.zeroPoints[g] = sz.zeroPoint;
      anyNonZero |= sz.zeroPoint != 0;
    }
  }
  if (!anyNonZero)
    params.zeroPoints.clear();
  return params;
}

int64_t packedInt4Size(int64_t elementCount, int64_t rowLength) {
  if (rowLength <= 0)
    return 0;
  return (elementCount / rowLength) * ((rowLength + 1) / 2);
}

std::vector<uint8_t> packInt4(std::span<const int32_t> codes,
                              int64_t rowLength) {
  const int64_t count = static_cast<int64_t>(codes.size());
  assert(rowLength > 0 && count % rowLength == 0);
  const int64_t rowBytes = (rowLength + 1) / 2;
  std::vector<uint8_t> bytes(packedInt4Size(count, rowLength), 0);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t row = i / rowLength, column = i % rowLength;
    const uint8_t nibble = static_cast<uint8_t>(codes[i]) & 0x0F;
    uint8_t &byte = bytes[row * rowBytes + column / 2];
    byte |= (column % 2 == 0) ? nibble : static_cast<uint8_t>(nibble << 4);
  }
  return bytes;
}

std::vector<int32_t> unpackInt4(std::span<const uint8_t> bytes,
                                int64_t elementCount, int64_t rowLength,
                                bool isSigned) {
  assert(rowLength > 0 && elementCount % rowLength == 0);
  assert(static_cast<int64_t>(bytes.size()) >=
         packedInt4Size(elementCount, rowLength));
  const int64_t rowBytes = (rowLength + 1) / 2;
  std::vector<int32_t> codes(elementCount);
  for (int64_t i = 0; i < elementCount; ++i) {
    const int64_t row = i / rowLength, column = i % rowLength;
    const uint8_t byte = bytes[row * rowBytes + column / 2];
    int32_t nibble = (column % 2 == 0) ? (byte & 0x0F) : (byte >> 4);
    if (isSigned && nibble >= 8)
      nibble -= 16;
    codes[i] = nibble;
  }
  return codes;
}

DoubleQuantized doubleQuantizeScales(std::span<const float> scales,
                                     int64_t groupSize) {
  assert(groupSize > 0);
  DoubleQuantized result;
  const int64_t count = static_cast<int64_t>(scales.size());
  result.codes.resize(count);
  for (int64_t start = 0; start < count; start += groupSize) {
    const int64_t end = std::min(count, start + groupSize);
    float groupMax = 0.0f;
    for (int64_t i = start; i < end; ++i)
      groupMax = std::max(groupMax, scales[i]);
    const float groupScale = chooseScaleAndZeroPoint(0.0f, groupMax, Format::U8,
                                                     /*symmetric=*/false)
                                 .scale;
    result.groupScales.push_back(groupScale);
    for (int64_t i = start; i < end; ++i)
      result.codes[i] = quantizeInteger(scales[i], groupScale, 0, Format::U8);
  }
  return result;
}

std::vector<float> expandDoubleQuantized(std::span<const int32_t> codes,
                                         std::span<const float> groupScales,
                                         int64_t groupSize) {
  std::vector<float> scales(codes.size());
  for (size_t i = 0; i < codes.size(); ++i)
    scales[i] = dequantizeInteger(codes[i], groupScales[i / groupSize], 0);
  return scales;
}

ErrorStats compareTensors(std::span<const float> reference,
                          std::span<const float> approx) {
  assert(reference.size() == approx.size());
  ErrorStats stats;
  if (reference.empty())
    return stats;
  double noise = 0, signal = 0;
  for (size_t i = 0; i < reference.size(); ++i) {
    const double diff = static_cast<double>(reference[i]) - approx[i];
    noise += diff * diff;
    signal += static_cast<double>(reference[i]) * reference[i];
    stats.maxAbsError = std::max(stats.maxAbsError, std::fabs(diff));
  }
  stats.mse = noise / static_cast<double>(reference.size());
  stats.sqnrDb = noise == 0 ? std::numeric_limits<double>::infinity()
                            : 10.0 * std::log10(signal / noise);
  return stats;
}

int64_t quantizedBytes(int64_t elementCount, Format format, int64_t scaleCount,
                       bool hasZeroPoints) {
  const int64_t bits = formatBits(format);
  int64_t bytes = (elementCount * bits + 7) / 8 + 4 * scaleCount;
  if (hasZeroPoints)
    bytes += (scaleCount * bits + 7) / 8;
  return bytes;
}

} // namespace qcc::rt
