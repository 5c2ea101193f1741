// Conversions between !qg.quant and upstream !quant.uniform types.
#include "dialects/qg/QuantInterop.h"
#include "dialects/qg/QGElements.h"

#include "mlir/IR/BuiltinTypes.h"

#include <cstdio>

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {
struct StorageInfo {
  rt::Format format;
  bool isSigned;
  unsigned width;
};

std::optional<StorageInfo> integerStorage(rt::Format format) {
  switch (format) {
  case rt::Format::I8:
    return StorageInfo{format, true, 8};
  case rt::Format::U8:
    return StorageInfo{format, false, 8};
  case rt::Format::I4:
    return StorageInfo{format, true, 4};
  case rt::Format::U4:
    return StorageInfo{format, false, 4};
  default:
    return std::nullopt;
  }
}

FailureOr<float> exactF32(double value,
                          function_ref<InFlightDiagnostic()> emitError) {
  float narrowed = static_cast<float>(value);
  if (static_cast<double>(narrowed) != value) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.17g", value);
    emitError() << "scale " << text << " is not exactly representable in f32";
    return failure();
  }
  return narrowed;
}
} // namespace

FailureOr<quant::QuantizedType>
qcc::qg::convertToUpstream(QuantType type, ArrayRef<int64_t> shape,
                           Type expressedType,
                           function_ref<InFlightDiagnostic()> emitError) {
  std::optional<StorageInfo> storage = integerStorage(type.getFormat());
  if (!storage) {
    emitError() << rt::formatName(type.getFormat())
                << " has no !quant.uniform counterpart";
    return failure();
  }
  FailureOr<rt::QuantParams> params = type.getParams();
  if (failed(params)) {
    emitError() << "the scale table is not available";
    return failure();
  }
  MLIRContext *context = type.getContext();
  const unsigned flags =
      storage->isSigned ? quant::QuantizationFlags::Signed : 0;
  Type storageType = IntegerType::get(context, storage->width);
  const int64_t lo = rt::codeMin(storage->format),
                hi = rt::codeMax(storage->format);
  if (type.isPerTensor())
    return cast<quant::QuantizedType>(quant::UniformQuantizedType::getChecked(
        emitError, flags, storageType, expressedType, params->scales[0],
        params->zeroPoint(0), lo, hi));
  SmallVector<double> scales(params->scales.begin(), params->scales.end());
  SmallVector<int64_t> zeroPoints;
  for (size_t i = 0; i < scales.size(); ++i)
    zeroPoints.push_back(params->zeroPoint(static_cast<int64_t>(i)));
  if (type.isPerAxis())
    return cast<quant::QuantizedType>(
        quant::UniformQuantizedPerAxisType::getChecked(
            emitError, flags, storageType, expressedType, scales, zeroPoints,
            static_cast<int32_t>(type.getAxis()), lo, hi));
  // Sub-channel: name every axis, block size 1 except the blocked one.
  std::vector<int64_t> table =
      rt::scaleTableShape(shape, type.getGranularity());
  auto scaleType = RankedTensorType::get(table, expressedType);
  SmallVector<APFloat> scaleValues;
  for (float s : params->scales) {
    APFloat value(s);
    bool losesInfo;
    value.convert(cast<FloatType>(expressedType).getFloatSemantics(),
                  APFloat::rmNearestTiesToEven, &losesInfo);
    scaleValues.push_back(value);
  }
  auto zpType = RankedTensorType::get(table, storageType);
  SmallVector<APInt> zpValues;
  for (int64_t zp : zeroPoints)
    zpValues.emplace_back(storage->width, zp, storage->isSigned);
  SmallVector<int32_t> dims;
  SmallVector<int64_t> blocks;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    dims.push_back(static_cast<int32_t>(d));
    blocks.push_back(d == type.getAxis() ? type.getBlockSize() : 1);
  }
  return cast<quant::QuantizedType>(
      quant::UniformQuantizedSubChannelType::getChecked(
          emitError, flags, storageType, expressedType,
          DenseElementsAttr::get(scaleType, scaleValues),
          DenseElementsAttr::get(zpType, zpValues), dims, blocks, lo, hi));
}

FailureOr<QuantType>
qcc::qg::convertFromUpstream(quant::QuantizedType type, ArrayRef<int64_t> shape,
                             function_ref<InFlightDiagnostic()> emitError) {
  MLIRContext *context = type.getContext();
  auto storageType = dyn_cast<IntegerType>(type.getStorageType());
  const unsigned width = storageType ? storageType.getWidth() : 0;
  if (width != 8 && width != 4) {
    emitError()
        << "only 4- and 8-bit integer storage converts to !qg.quant, got "
        << type.getStorageType();
    return failure();
  }
  const bool isSigned = type.isSigned();
  const rt::Format format = width == 8
                                ? (isSigned ? rt::Format::I8 : rt::Format::U8)
                                : (isSigned ? rt::Format::I4 : rt::Format::U4);
  if (type.getStorageTypeMin() != rt::codeMin(format) ||
      type.getStorageTypeMax() != rt::codeMax(format)) {
    emitError() << "narrow storage range [" << type.getStorageTypeMin() << ", "
                << type.getStorageTypeMax() << "] has no !qg.quant counterpart";
    return failure();
  }

  rt::QuantParams params;
  params.format = format;
  auto addParam = [&](double scale, int64_t zeroPoint) -> LogicalResult {
    FailureOr<float> s = exactF32(scale, emitError);
    if (failed(s))
      return failure();
    params.scales.push_back(*s);
    params.zeroPoints.push_back(static_cast<int32_t>(zeroPoint));
    return success();
  };
  if (auto uniform = dyn_cast<quant::UniformQuantizedType>(type)) {
    if (failed(addParam(uniform.getScale(), uniform.getZeroPoint())))
      return failure();
  } else if (auto perAxis =
                 dyn_cast<quant::UniformQuantizedPerAxisType>(type)) {
    params.granularity = {perAxis.getQuantizedDimension(), 0};
    for (auto [scale, zp] :
         llvm::zip_equal(perAxis.getScales(), perAxis.getZeroPoints()))
      if (failed(addParam(scale, zp)))
        return failure();
  } else if (auto sub = dyn_cast<quant::UniformQuantizedSubChannelType>(type)) {
    int64_t blockedAxis = -1, blockSize = 0;
    SmallVector<int64_t> blockOf(shape.begin(), shape.end());
    for (auto [dim, block] :
         llvm::zip_equal(sub.getQuantizedDimensions(), sub.getBlockSizes()))
      blockOf[dim] = block;
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
      if (blockOf[d] == 1)
        continue;
      if (blockedAxis >= 0) {
        emitError() << "sub-channel quantization blocked along more than one "
                       "axis has no !qg.quant counterpart";
        return failure();
      }
      blockedAxis = d;
      blockSize = blockOf[d];
    }
    if (blockedAxis < 0) {
      emitError() << "sub-channel type with block size 1 everywhere";
      return failure();
    }
    params.granularity = {blockedAxis, blockSize};
    FailureOr<SmallVector<float>> scales = readFloats(sub.getScales());
    FailureOr<SmallVector<int64_t>> zeroPoints =
        readIntegers(sub.getZeroPoints());
    if (failed(scales) || failed(zeroPoints)) {
      emitError() << "unreadable sub-channel scale table";
      return failure();
    }
    // The table's element type is the signless storage type: unsigned
    // storage needs its zero points zero-extended.
    const int64_t mask = (int64_t{1} << width) - 1;
    for (auto [i, scale] : llvm::enumerate(*scales)) {
      const int64_t zp =
          isSigned ? (*zeroPoints)[i] : ((*zeroPoints)[i] & mask);
      if (failed(addParam(scale, zp)))
        return failure();
    }
  } else {
    emitError() << "unsupported upstream quantized type " << type;
    return failure();
  }
  if (llvm::all_of(params.zeroPoints, [](int32_t zp) { return zp == 0; }))
    params.zeroPoints.clear();
  QuantType result = QuantType::get(context, params, shape);
  if (failed(QuantType::verify(emitError, result.getFormat(), result.getAxis(),
                               result.getBlockSize(), result.getScales(),
                               result.getZeroPoints(), result.getDqBlock(),
                               result.getDqScales())))
    return failure();
  return result;
}
