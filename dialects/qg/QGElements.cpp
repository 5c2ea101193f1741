// Reading and writing the numbers inside dense and dense_resource attributes.
#include "dialects/qg/QGElements.h"

#include "runtime/numerics/Numerics.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>

using namespace mlir;

namespace qcc::qg {

namespace {
/// The bytes of a dense_resource attribute, if its blob is loaded.
std::optional<ArrayRef<char>> resourceBytes(ElementsAttr attr) {
  auto resource = dyn_cast<DenseResourceElementsAttr>(attr);
  if (!resource)
    return std::nullopt;
  AsmResourceBlob *blob = resource.getRawHandle().getBlob();
  if (!blob)
    return std::nullopt;
  return blob->getData();
}

/// Elements per row for 4-bit packing: the last dimension (1 for scalars).
int64_t rowLength(ShapedType type) {
  return type.getRank() == 0 ? 1 : type.getShape().back();
}
} // namespace

FailureOr<SmallVector<float>> readFloats(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  if (!isa<FloatType>(type.getElementType()) || !type.hasStaticShape())
    return failure();
  SmallVector<float> values;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    values.reserve(type.getNumElements());
    for (APFloat value : dense.getValues<APFloat>()) {
      bool losesInfo = false;
      value.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven,
                    &losesInfo);
      values.push_back(value.convertToFloat());
    }
    return values;
  }
  std::optional<ArrayRef<char>> bytes = resourceBytes(attr);
  if (!bytes || !type.getElementType().isF32() ||
      static_cast<int64_t>(bytes->size()) !=
          type.getNumElements() * static_cast<int64_t>(sizeof(float)))
    return failure();
  values.resize(type.getNumElements());
  if (!values.empty()) // memcpy wants valid pointers even for zero bytes
    std::memcpy(values.data(), bytes->data(), bytes->size());
  return values;
}

FailureOr<SmallVector<int64_t>> readIntegers(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  auto intType = dyn_cast<IntegerType>(type.getElementType());
  if (!intType || !type.hasStaticShape())
    return failure();
  SmallVector<int64_t> values;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    values.reserve(type.getNumElements());
    for (const APInt &value : dense.getValues<APInt>())
      values.push_back(intType.isUnsigned() ? value.getZExtValue()
                                            : value.getSExtValue());
    return values;
  }
  std::optional<ArrayRef<char>> bytes = resourceBytes(attr);
  const unsigned width = intType.getWidth();
  if (!bytes || (width != 8 && width != 32 && width != 64) ||
      static_cast<int64_t>(bytes->size()) !=
          type.getNumElements() * static_cast<int64_t>(width / 8))
    return failure();
  values.resize(type.getNumElements());
  const char *data = bytes->data();
  for (int64_t i = 0; i < type.getNumElements(); ++i) {
    if (width == 8) {
      values[i] = intType.isUnsigned()
                      ? static_cast<int64_t>(static_cast<uint8_t>(data[i]))
                      : static_cast<int64_t>(static_cast<int8_t>(data[i]));
    } else if (width == 32) {
      int32_t v;
      std::memcpy(&v, data + 4 * i, 4);
      // (Both arms as int64_t: a conditional of uint32_t and int32_t would
      // make negative values large and positive.)
      values[i] = intType.isUnsigned()
                      ? static_cast<int64_t>(static_cast<uint32_t>(v))
                      : static_cast<int64_t>(v);
    } else {
      std::memcpy(&values[i], data + 8 * i, 8);
    }
  }
  return values;
}

FailureOr<SmallVector<int32_t>> readCodes(ElementsAttr attr) {
  auto type = cast<ShapedType>(attr.getType());
  if (!type.hasStaticShape())
    return failure();
  Type elementType = type.getElementType();
  SmallVector<int32_t> codes;
  if (auto intType = dyn_cast<IntegerType>(elementType)) {
    if (intType.getWidth() == 4) {
      if (std::optional<ArrayRef<char>> bytes = resourceBytes(attr)) {
        const int64_t count = type.getNumElements();
        if (static_cast<int64_t>(bytes->size()) !=
            rt::packedInt4Size(count, rowLength(type)))
          return failure();
        std::vector<int32_t> unpacked = rt::unpackInt4(
            ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(bytes->data()),
                              bytes->size()),
            count, rowLength(type), !intType.isUnsigned());
        return SmallVector<int32_t>(unpacked.begin(), unpacked.end());
      }
    }
    FailureOr<SmallVector<int64_t>> values = readIntegers(attr);
    if (failed(values))
      return failure();
    codes.assign(values->begin(), values->end());
    return codes;
  }
  if (auto floatType = dyn_cast<FloatType>(elementType);
      floatType && floatType.getWidth() == 8) {
    if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
      for (APFloat value : dense.getValues<APFloat>())
        codes.push_back(
            static_cast<int32_t>(value.bitcastToAPInt().getZExtValue()));
      return codes;
    }
    std::optional<ArrayRef<char>> bytes = resourceBytes(attr);
    if (!bytes || static_cast<int64_t>(bytes->size()) != type.getNumElements())
      return failure();
    for (char byte : *bytes)
      codes.push_back(static_cast<uint8_t>(byte));
    return codes;
  }
  return failure();
}

DenseElementsAttr makeCodesAttr(RankedTensorType type,
                                ArrayRef<int32_t> codes) {
  Type elementType = type.getElementType();
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    SmallVector<APFloat> values;
    values.reserve(codes.size());
    for (int32_t code : codes)
      values.emplace_back(floatType.getFloatSemantics(),
                          APInt(8, static_cast<uint64_t>(code & 0xFF)));
    return DenseElementsAttr::get(type, values);
  }
  auto intType = cast<IntegerType>(elementType);
  SmallVector<APInt> values;
  values.reserve(codes.size());
  for (int32_t code : codes)
    values.emplace_back(intType.getWidth(), static_cast<int64_t>(code),
                        /*isSigned=*/!intType.isUnsigned());
  return DenseElementsAttr::get(type, values);
}

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, dim] : llvm::enumerate(shape)) {
    if (i)
      text += ", ";
    text += ShapedType::isDynamic(dim) ? std::string("?") : std::to_string(dim);
  }
  return text + "]";
}

DenseElementsAttr makeFloatsAttr(MLIRContext *context, ArrayRef<int64_t> shape,
                                 ArrayRef<float> values) {
  auto type = RankedTensorType::get(shape, Float32Type::get(context));
  return DenseElementsAttr::get(type, values);
}

} // namespace qcc::qg
