// The !qg.quant element type: syntax, verification and numeric views.
#include "dialects/qg/QGDialect.h"
#include "dialects/qg/QGElements.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

#define GET_TYPEDEF_CLASSES
#include "dialects/qg/QGTypes.cpp.inc"

namespace {

constexpr int64_t kMaxInlineTable = 16;

ArrayRef<int64_t> tableShape(ElementsAttr attr) {
  return cast<ShapedType>(attr.getType()).getShape();
}

/// Rebuilds small dense tables in their canonical element type (f32 scales,
/// i32 zero points) so that equal metadata gives equal types.
ElementsAttr canonicalTable(ElementsAttr attr, Type elementType) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || dense.getElementType() == elementType)
    return attr;
  auto type = dense.getType().clone(elementType);
  if (isa<FloatType>(elementType) && isa<FloatType>(dense.getElementType())) {
    FailureOr<SmallVector<float>> values = readFloats(dense);
    return failed(values)
               ? attr
               : DenseElementsAttr::get(type, ArrayRef<float>(*values));
  }
  if (isa<IntegerType>(elementType) &&
      isa<IntegerType>(dense.getElementType())) {
    FailureOr<SmallVector<int64_t>> values = readIntegers(dense);
    if (failed(values))
      return attr;
    SmallVector<int32_t> narrowed;
    for (int64_t v : *values) {
      if (v < INT32_MIN || v > INT32_MAX)
        return attr; // let the verifier report the out-of-range value
      narrowed.push_back(static_cast<int32_t>(v));
    }
    return DenseElementsAttr::get(type, ArrayRef<int32_t>(narrowed));
  }
  return attr;
}

/// All-zero zero-point tables mean the same as none.
ElementsAttr dropZeroZeroPoints(ElementsAttr zeroPoints) {
  if (!zeroPoints)
    return zeroPoints;
  FailureOr<SmallVector<int64_t>> values = readIntegers(zeroPoints);
  if (failed(values) || llvm::any_of(*values, [](int64_t v) { return v != 0; }))
    return zeroPoints;
  return nullptr;
}

ParseResult parseTable(AsmParser &parser, bool isFloat, ElementsAttr &table) {
  MLIRContext *context = parser.getContext();
  if (succeeded(parser.parseOptionalLSquare())) {
    SmallVector<float> floats;
    SmallVector<int32_t> ints;
    auto parseElement = [&]() -> ParseResult {
      if (isFloat) {
        double value;
        if (parser.parseFloat(value))
          return failure();
        floats.push_back(static_cast<float>(value));
        return success();
      }
      int64_t value;
      SMLoc loc = parser.getCurrentLocation();
      if (parser.parseInteger(value))
        return failure();
      if (value < INT32_MIN || value > INT32_MAX)
        return parser.emitError(loc, "zero point does not fit in 32 bits");
      ints.push_back(static_cast<int32_t>(value));
      return success();
    };
    if (parser.parseCommaSeparatedList(parseElement) || parser.parseRSquare())
      return failure();
    if (isFloat)
      table = makeFloatsAttr(context, {static_cast<int64_t>(floats.size())},
                             floats);
    else
      table = DenseElementsAttr::get(
          RankedTensorType::get({static_cast<int64_t>(ints.size())},
                                IntegerType::get(context, 32)),
          ArrayRef<int32_t>(ints));
    return success();
  }
  SMLoc loc = parser.getCurrentLocation();
  Attribute attr;
  if (parser.parseAttribute(attr))
    return failure();
  table = dyn_cast<ElementsAttr>(attr);
  if (!table)
    return parser.emitError(loc, "expected a list or an elements attribute");
  return success();
}

void printTable(AsmPrinter &printer, ElementsAttr table) {
  auto dense = dyn_cast<DenseElementsAttr>(table);
  auto type = cast<ShapedType>(table.getType());
  bool inlineable = dense && type.getRank() == 1 &&
                    type.getNumElements() <= kMaxInlineTable &&
                    (type.getElementType().isF32() ||
                     type.getElementType().isSignlessInteger(32));
  if (!inlineable) {
    printer.printAttribute(table);
    return;
  }
  printer << "[";
  if (type.getElementType().isF32()) {
    llvm::interleaveComma(dense.getValues<APFloat>(), printer,
                          [&](const APFloat &v) { printer.printFloat(v); });
  } else {
    llvm::interleaveComma(dense.getValues<APInt>(), printer,
                          [&](const APInt &v) { printer << v.getSExtValue(); });
  }
  printer << "]";
}

} // namespace

void QGDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/qg/QGTypes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Syntax
//===----------------------------------------------------------------------===//

Type QuantType::parse(AsmParser &parser) {
  MLIRContext *context = parser.getContext();
  SMLoc start = parser.getCurrentLocation();
  StringRef formatKeyword;
  if (parser.parseLess())
    return {};
  SMLoc formatLoc = parser.getCurrentLocation();
  if (parser.parseKeyword(&formatKeyword))
    return {};
  std::optional<rt::Format> format = rt::parseFormat(formatKeyword);
  if (!format) {
    parser.emitError(formatLoc, "unknown quantized format '")
        << formatKeyword
        << "'; expected i8, u8, i4, u4, i16, u16, nf4, f8e4m3fn or f8e5m2";
    return {};
  }

  int64_t axis = -1, blockSize = 0, dqBlock = 0;
  ElementsAttr scales, zeroPoints, dqScales;
  llvm::StringSet<> seen;
  while (succeeded(parser.parseOptionalComma())) {
    SMLoc keyLoc = parser.getCurrentLocation();
    StringRef key;
    if (parser.parseKeyword(&key) || parser.parseEqual())
      return {};
    if (!seen.insert(key).second) {
      parser.emitError(keyLoc, "'") << key << "' is given twice";
      return {};
    }
    ParseResult result = success();
    if (key == "axis") {
      result = parser.parseInteger(axis);
    } else if (key == "block") {
      result = parser.parseInteger(blockSize);
    } else if (key == "dq_block") {
      result = parser.parseInteger(dqBlock);
    } else if (key == "scale") {
      double value;
      result = parser.parseFloat(value);
      scales = makeFloatsAttr(context, {}, {static_cast<float>(value)});
    } else if (key == "zero_point") {
      int64_t value;
      result = parser.parseInteger(value);
      if (succeeded(result) && (value < INT32_MIN || value > INT32_MAX)) {
        parser.emitError(keyLoc, "zero point does not fit in 32 bits");
        return {};
      }
      zeroPoints = DenseElementsAttr::get(
          RankedTensorType::get({}, IntegerType::get(context, 32)),
          ArrayRef<int32_t>{static_cast<int32_t>(value)});
    } else if (key == "scales") {
      result = parseTable(parser, /*isFloat=*/true, scales);
    } else if (key == "zero_points") {
      result = parseTable(parser, /*isFloat=*/false, zeroPoints);
    } else if (key == "dq_scales") {
      result = parseTable(parser, /*isFloat=*/true, dqScales);
    } else {
      parser.emitError(keyLoc, "unknown key '")
          << key
          << "'; expected axis, block, scale(s), zero_point(s), dq_block or "
             "dq_scales";
      return {};
    }
    if (failed(result))
      return {};
  }
  if (parser.parseGreater())
    return {};
  if (seen.contains("scale") && seen.contains("scales")) {
    parser.emitError(start, "give either 'scale' or 'scales', not both");
    return {};
  }
  if (seen.contains("zero_point") && seen.contains("zero_points")) {
    parser.emitError(start,
                     "give either 'zero_point' or 'zero_points', not both");
    return {};
  }
  if (!scales) {
    parser.emitError(start, "quantized type needs 'scale' or 'scales'");
    return {};
  }
  Type f32 = Float32Type::get(context);
  if (dqBlock == 0)
    scales = canonicalTable(scales, f32);
  zeroPoints = dropZeroZeroPoints(
      canonicalTable(zeroPoints, IntegerType::get(context, 32)));
  dqScales = canonicalTable(dqScales, f32);
  return QuantType::getChecked([&] { return parser.emitError(start); }, context,
                               *format, axis, blockSize, scales, zeroPoints,
                               dqBlock, dqScales);
}

void QuantType::print(AsmPrinter &printer) const {
  printer << "<" << rt::formatName(getFormat());
  if (getAxis() >= 0)
    printer << ", axis = " << getAxis();
  if (getBlockSize() > 0)
    printer << ", block = " << getBlockSize();
  auto scales = getScales();
  auto denseScales = dyn_cast<DenseElementsAttr>(scales);
  if (denseScales && tableShape(scales).empty() &&
      denseScales.getElementType().isF32()) {
    printer << ", scale = ";
    printer.printFloat(*denseScales.getValues<APFloat>().begin());
  } else {
    printer << ", scales = ";
    printTable(printer, scales);
  }
  if (auto zeroPoints = getZeroPoints()) {
    auto dense = dyn_cast<DenseElementsAttr>(zeroPoints);
    if (dense && tableShape(zeroPoints).empty() &&
        dense.getElementType().isSignlessInteger(32)) {
      printer << ", zero_point = "
              << (*dense.getValues<APInt>().begin()).getSExtValue();
    } else {
      printer << ", zero_points = ";
      printTable(printer, zeroPoints);
    }
  }
  if (getDqBlock() > 0)
    printer << ", dq_block = " << getDqBlock();
  if (auto dqScales = getDqScales()) {
    printer << ", dq_scales = ";
    printTable(printer, dqScales);
  }
  printer << ">";
}

//===----------------------------------------------------------------------===//
// Builders
//===----------------------------------------------------------------------===//

QuantType QuantType::get(MLIRContext *context, rt::Format format, float scale,
                         int32_t zeroPoint) {
  ElementsAttr scales = makeFloatsAttr(context, {}, {scale});
  ElementsAttr zeroPoints;
  if (zeroPoint != 0)
    zeroPoints = DenseElementsAttr::get(
        RankedTensorType::get({}, IntegerType::get(context, 32)),
        ArrayRef<int32_t>{zeroPoint});
  return get(context, format, -1, 0, scales, zeroPoints, 0, nullptr);
}

QuantType QuantType::get(MLIRContext *context, const rt::QuantParams &params,
                         ArrayRef<int64_t> tensorShape) {
  std::vector<int64_t> table =
      rt::scaleTableShape(tensorShape, params.granularity);
  ElementsAttr scales = makeFloatsAttr(context, table, params.scales);
  ElementsAttr zeroPoints;
  if (!params.zeroPoints.empty())
    zeroPoints = dropZeroZeroPoints(DenseElementsAttr::get(
        RankedTensorType::get(table, IntegerType::get(context, 32)),
        ArrayRef<int32_t>(params.zeroPoints)));
  return get(context, params.format, params.granularity.axis,
             params.granularity.blockSize, scales, zeroPoints, 0, nullptr);
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

LogicalResult QuantType::verify(function_ref<InFlightDiagnostic()> emitError,
                                rt::Format format, int64_t axis,
                                int64_t blockSize, ElementsAttr scales,
                                ElementsAttr zeroPoints, int64_t dqBlock,
                                ElementsAttr dqScales) {
  const StringRef name = rt::formatName(format);
  if (axis < -1)
    return emitError() << "axis must be non-negative, got " << axis;
  if (blockSize < 0)
    return emitError() << "block size must be positive, got " << blockSize;
  if (blockSize > 0 && axis < 0)
    return emitError() << "block size " << blockSize
                       << " needs an axis to block along";
  if (format == rt::Format::NF4 && blockSize == 0)
    return emitError() << "nf4 needs per-block absmax scales: give axis and "
                          "block";
  if (!scales)
    return emitError() << "missing scales";

  auto scaleType = cast<ShapedType>(scales.getType());
  const int64_t scaleRank = scaleType.getRank();
  if (axis < 0 && scaleRank != 0)
    return emitError() << "per-tensor quantization takes one scalar scale, "
                          "got a table of shape "
                       << formatShape(scaleType.getShape());
  if (axis >= 0 && blockSize == 0 && scaleRank != 1)
    return emitError() << "per-axis quantization takes a 1-D scale table, got "
                          "shape "
                       << formatShape(scaleType.getShape());
  if (blockSize > 0 && scaleRank <= axis)
    return emitError() << "per-block scale table of rank " << scaleRank
                       << " has no axis " << axis;

  // Double quantization: scales are u8 codes, dq_scales one f32 per group.
  if (dqBlock < 0)
    return emitError() << "dq_block must be positive, got " << dqBlock;
  if ((dqBlock > 0) != static_cast<bool>(dqScales))
    return emitError() << "double quantization needs both dq_block and "
                          "dq_scales";
  if (dqBlock > 0) {
    if (format != rt::Format::NF4)
      return emitError() << "double quantization applies to nf4 absmax "
                            "tables only, not "
                         << name;
    if (!scaleType.getElementType().isUnsignedInteger(8))
      return emitError() << "double-quantized scales must be ui8 codes, got "
                         << scaleType.getElementType();
    auto dqType = cast<ShapedType>(dqScales.getType());
    const int64_t groups = (scaleType.getNumElements() + dqBlock - 1) / dqBlock;
    if (dqType.getRank() != 1 || dqType.getNumElements() != groups)
      return emitError() << "dq_scales must hold " << groups
                         << " values (one per " << dqBlock
                         << " scales), got shape "
                         << formatShape(dqType.getShape());
  } else if (!scaleType.getElementType().isF32()) {
    return emitError() << "scales must be f32, got "
                       << scaleType.getElementType();
  }

  auto checkPositive = [&](ElementsAttr table,
                           StringRef what) -> LogicalResult {
    FailureOr<SmallVector<float>> values = readFloats(table);
    if (failed(values))
      return success(); // resource not loaded: checked when it is read
    for (auto [i, value] : llvm::enumerate(*values))
      if (!(value > 0.0f) || !std::isfinite(value))
        return emitError() << what << " must be positive and finite, got "
                           << value << " at index " << i;
    return success();
  };
  if (failed(checkPositive(dqBlock > 0 ? dqScales : scales,
                           dqBlock > 0 ? "dq_scales" : "scale")))
    return failure();

  if (zeroPoints) {
    if (!rt::isIntegerFormat(format))
      return emitError() << name << " is symmetric and takes no zero points";
    auto zpType = cast<ShapedType>(zeroPoints.getType());
    if (!isa<IntegerType>(zpType.getElementType()))
      return emitError() << "zero points must be integers, got "
                         << zpType.getElementType();
    if (zpType.getShape() != scaleType.getShape())
      return emitError() << "zero point table shape "
                         << formatShape(zpType.getShape())
                         << " does not match scale table shape "
                         << formatShape(scaleType.getShape());
    if (FailureOr<SmallVector<int64_t>> values = readIntegers(zeroPoints);
        succeeded(values)) {
      const int64_t lo = rt::codeMin(format), hi = rt::codeMax(format);
      for (auto [i, value] : llvm::enumerate(*values))
        if (value < lo || value > hi)
          return emitError() << "zero point " << value << " at index " << i
                             << " is outside the " << name << " range [" << lo
                             << ", " << hi << "]";
    }
  }
  return success();
}

LogicalResult
QuantType::verifyForShape(ArrayRef<int64_t> shape,
                          function_ref<InFlightDiagnostic()> emitError) const {
  if (isPerTensor())
    return success();
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t axis = getAxis();
  if (axis >= rank)
    return emitError() << "quantization axis " << axis
                       << " is out of range for a tensor of rank " << rank;
  const int64_t dim = shape[axis];
  ArrayRef<int64_t> table = tableShape(getScales());
  if (isPerAxis()) {
    if (!ShapedType::isDynamic(dim) && table[0] != dim)
      return emitError() << "per-axis scale count " << table[0]
                         << " does not match dimension " << axis << " of size "
                         << dim;
    return success();
  }
  if (!ShapedType::isDynamic(dim) && dim % getBlockSize() != 0)
    return emitError() << "block size " << getBlockSize()
                       << " does not divide dimension " << axis << " of size "
                       << dim;
  bool matches = static_cast<int64_t>(table.size()) == rank;
  for (int64_t i = 0; matches && i < rank; ++i) {
    if (ShapedType::isDynamic(shape[i]))
      continue;
    int64_t expected = i == axis ? shape[i] / getBlockSize() : shape[i];
    matches = table[i] == expected;
  }
  if (!matches) {
    SmallVector<int64_t> expected(shape);
    if (!ShapedType::isDynamic(dim))
      expected[axis] = dim / getBlockSize();
    return emitError() << "scale table shape " << formatShape(table)
                       << " does not match " << formatShape(expected)
                       << ", the tensor shape " << formatShape(shape)
                       << " with blocks of " << getBlockSize() << " on axis "
                       << axis;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Numeric views
//===----------------------------------------------------------------------===//

Type QuantType::getStorageType() const {
  MLIRContext *context = getContext();
  switch (getFormat()) {
  case rt::Format::I8:
    return IntegerType::get(context, 8);
  case rt::Format::U8:
    return IntegerType::get(context, 8, IntegerType::Unsigned);
  case rt::Format::I4:
    return IntegerType::get(context, 4);
  case rt::Format::U4:
  case rt::Format::NF4:
    return IntegerType::get(context, 4, IntegerType::Unsigned);
  case rt::Format::F8E4M3FN:
    return Float8E4M3FNType::get(context);
  case rt::Format::F8E5M2:
    return Float8E5M2Type::get(context);
  case rt::Format::I16:
    return IntegerType::get(context, 16);
  case rt::Format::U16:
    return IntegerType::get(context, 16, IntegerType::Unsigned);
  }
  llvm_unreachable("unknown format");
}

FailureOr<rt::QuantParams> QuantType::getParams() const {
  rt::QuantParams params;
  params.format = getFormat();
  params.granularity = getGranularity();
  if (isDoubleQuantized()) {
    FailureOr<SmallVector<int64_t>> codes = readIntegers(getScales());
    FailureOr<SmallVector<float>> groupScales = readFloats(getDqScales());
    if (failed(codes) || failed(groupScales))
      return failure();
    std::vector<int32_t> narrowed(codes->begin(), codes->end());
    params.scales =
        rt::expandDoubleQuantized(narrowed, *groupScales, getDqBlock());
  } else {
    FailureOr<SmallVector<float>> scales = readFloats(getScales());
    if (failed(scales))
      return failure();
    params.scales.assign(scales->begin(), scales->end());
  }
  if (getZeroPoints()) {
    FailureOr<SmallVector<int64_t>> zeroPoints = readIntegers(getZeroPoints());
    if (failed(zeroPoints))
      return failure();
    params.zeroPoints.assign(zeroPoints->begin(), zeroPoints->end());
  }
  return params;
}

//===----------------------------------------------------------------------===//
// Tensor-level checks shared by every op
//===----------------------------------------------------------------------===//

QuantType qcc::qg::getQuantElementType(Type type) {
  if (auto shaped = dyn_cast<ShapedType>(type))
    return dyn_cast<QuantType>(shaped.getElementType());
  return nullptr;
}

LogicalResult qcc::qg::verifyQuantizedTensors(Operation *op) {
  auto check = [&](Type type, StringRef role, unsigned index) -> LogicalResult {
    auto tensor = dyn_cast<RankedTensorType>(type);
    QuantType quant = getQuantElementType(type);
    if (!tensor || !quant)
      return success();
    return quant.verifyForShape(tensor.getShape(), [&] {
      return op->emitOpError() << role << " #" << index << ": ";
    });
  };
  for (auto [i, type] : llvm::enumerate(op->getOperandTypes()))
    if (failed(check(type, "operand", i)))
      return failure();
  for (auto [i, type] : llvm::enumerate(op->getResultTypes()))
    if (failed(check(type, "result", i)))
      return failure();
  return success();
}
