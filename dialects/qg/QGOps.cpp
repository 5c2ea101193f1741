// Constants and quantization ops: syntax, verifiers and folders. Shape
// inference for the graph ops lives in QGShapeInference.cpp.
#include "dialects/qg/QGOps.h"
#include "dialects/qg/QGElements.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

#define GET_OP_CLASSES
#include "dialects/qg/QGOps.cpp.inc"

namespace {
LogicalResult verifySameShape(Operation *op, Type input, Type output) {
  auto in = cast<RankedTensorType>(input), out = cast<RankedTensorType>(output);
  if (failed(verifyCompatibleShape(in.getShape(), out.getShape())))
    return op->emitOpError("input shape ")
           << in << " and result shape " << out << " differ";
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

ParseResult ConstantOp::parse(OpAsmParser &parser, OperationState &result) {
  ElementsAttr value;
  if (parser.parseOptionalAttrDict(result.attributes) ||
      parser.parseAttribute(value))
    return failure();
  Type resultType = value.getType();
  if (succeeded(parser.parseOptionalKeyword("as")) &&
      parser.parseType(resultType))
    return failure();
  result.getOrAddProperties<Properties>().value = value;
  result.addTypes(resultType);
  return success();
}

void ConstantOp::print(OpAsmPrinter &printer) {
  printer << " ";
  printer.printOptionalAttrDict((*this)->getAttrs(), {"value"});
  printer.printAttribute(getValue());
  if (getType() != getValue().getType()) {
    printer << " as ";
    printer.printType(getType());
  }
}

LogicalResult ConstantOp::verify() {
  auto resultType = cast<RankedTensorType>(getType());
  auto valueType = cast<ShapedType>(getValue().getType());
  QuantType quant = getQuantElementType(resultType);
  if (!quant) {
    if (valueType != resultType)
      return emitOpError("value type ")
             << valueType << " differs from result type " << resultType;
    return success();
  }
  if (valueType.getShape() != resultType.getShape())
    return emitOpError("value shape ")
           << valueType << " differs from the result shape " << resultType;
  Type storage = quant.getStorageType();
  if (valueType.getElementType() != storage)
    return emitOpError("a ") << rt::formatName(quant.getFormat())
                             << " constant stores codes of type " << storage
                             << ", got " << valueType.getElementType();
  if (isa<DenseResourceElementsAttr>(getValue())) {
    auto resource = cast<DenseResourceElementsAttr>(getValue());
    if (AsmResourceBlob *blob = resource.getRawHandle().getBlob()) {
      const int64_t count = valueType.getNumElements();
      const int64_t row = valueType.getRank() ? valueType.getShape().back() : 1;
      const int64_t expected = rt::formatBits(quant.getFormat()) == 4
                                   ? rt::packedInt4Size(count, row)
                                   : count;
      if (static_cast<int64_t>(blob->getData().size()) != expected)
        return emitOpError("resource holds ")
               << blob->getData().size() << " bytes; a " << valueType
               << " needs " << expected;
    }
  }
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  return verifySameShape(*this, getInput().getType(), getType());
}

namespace {
/// True when dequantizing then quantizing again with the same type returns
/// every code unchanged, for every code and every scale of the type.
bool roundTripIsExact(QuantType type) {
  FailureOr<rt::QuantParams> params = type.getParams();
  if (failed(params))
    return false;
  const rt::Format format = type.getFormat();
  for (size_t s = 0; s < params->scales.size(); ++s) {
    const float scale = params->scales[s];
    const int32_t zeroPoint = params->zeroPoint(static_cast<int64_t>(s));
    for (int32_t code = rt::codeMin(format); code <= rt::codeMax(format);
         ++code) {
      float value = rt::dequantizeValue(code, scale, zeroPoint, format);
      if (value != value)
        continue; // FP8 NaN codes stay NaN either way
      int32_t again = rt::quantizeValue(value, scale, zeroPoint, format);
      bool same = again == code;
      // FP8 -0 and +0 are the same value.
      if (!same && rt::isFloat8Format(format))
        same = rt::decodeFloat8(again, format) == value;
      if (!same)
        return false;
    }
  }
  return true;
}
} // namespace

OpFoldResult QuantizeOp::fold(FoldAdaptor adaptor) {
  auto resultType = cast<RankedTensorType>(getType());
  QuantType quant = getQuantElementType(resultType);
  if (auto dequantize = getInput().getDefiningOp<DequantizeOp>())
    if (dequantize.getInput().getType() == resultType &&
        roundTripIsExact(quant))
      return dequantize.getInput();

  auto input = dyn_cast_or_null<ElementsAttr>(adaptor.getInput());
  if (!input || !resultType.hasStaticShape())
    return {};
  FailureOr<SmallVector<float>> values = readFloats(input);
  FailureOr<rt::QuantParams> params = quant.getParams();
  if (failed(values) || failed(params))
    return {};
  SmallVector<int32_t> codes(values->size());
  rt::quantizeTensor(*values, resultType.getShape(), *params, codes);
  return makeCodesAttr(resultType.clone(quant.getStorageType()), codes);
}

//===----------------------------------------------------------------------===//
// DequantizeOp and RequantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DequantizeOp::verify() {
  return verifySameShape(*this, getInput().getType(), getType());
}

LogicalResult RequantizeOp::verify() {
  return verifySameShape(*this, getInput().getType(), getType());
}

OpFoldResult RequantizeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// StorageCastOp
//===----------------------------------------------------------------------===//

LogicalResult StorageCastOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getType());
  QuantType inQuant = getQuantElementType(in),
            outQuant = getQuantElementType(out);
  if (static_cast<bool>(inQuant) == static_cast<bool>(outQuant))
    return emitOpError("casts between a quantized tensor and its storage "
                       "type; exactly one side must be quantized");
  if (failed(verifySameShape(*this, in, out)))
    return failure();
  QuantType quant = inQuant ? inQuant : outQuant;
  Type storage = inQuant ? out.getElementType() : in.getElementType();
  if (storage != quant.getStorageType())
    return emitOpError("the storage type of ")
           << rt::formatName(quant.getFormat()) << " is "
           << quant.getStorageType() << ", not " << storage;
  return success();
}

OpFoldResult StorageCastOp::fold(FoldAdaptor) {
  // storage_cast(storage_cast(x)) back to x's type is x.
  if (auto inner = getInput().getDefiningOp<StorageCastOp>())
    if (inner.getInput().getType() == getType())
      return inner.getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// DynamicQuantizeOp
//===----------------------------------------------------------------------===//

LogicalResult DynamicQuantizeOp::verify() {
  if (failed(
          verifySameShape(*this, getInput().getType(), getOutput().getType())))
    return failure();
  auto scaleType = cast<RankedTensorType>(getScale().getType());
  auto zeroType = cast<RankedTensorType>(getZeroPoint().getType());
  if (!getPerRow()) {
    if (scaleType.getRank() != 0 || zeroType.getRank() != 0)
      return emitOpError("scale and zero point are scalars (rank-0 tensors)");
    return success();
  }
  auto inputType = cast<RankedTensorType>(getInput().getType());
  if (inputType.getRank() == 0)
    return emitOpError("per_row needs an input of rank 1 or more");
  SmallVector<int64_t> rows(inputType.getShape());
  rows.back() = 1;
  if (scaleType.getShape() != ArrayRef<int64_t>(rows) ||
      zeroType.getShape() != ArrayRef<int64_t>(rows))
    return emitOpError("per_row scale and zero point must have shape ")
           << formatShape(rows) << " (the input's with a last dimension of 1)";
  return success();
}

//===----------------------------------------------------------------------===//
// QLinearOp
//===----------------------------------------------------------------------===//

namespace {
/// The quantized element type of `type` when it is per tensor and i8/u8.
QuantType perTensor8Bit(Type type) {
  auto quant =
      dyn_cast<QuantType>(cast<RankedTensorType>(type).getElementType());
  if (!quant || !quant.isPerTensor())
    return {};
  rt::Format format = quant.getFormat();
  return format == rt::Format::I8 || format == rt::Format::U8 ? quant
                                                              : QuantType();
}
} // namespace

/// The epilogue shared by qg.qlinear and qg.qconv2d: the result format,
/// a bias of N values in the result's unit, ordered clip bounds.
static LogicalResult
verifyIntegerEpilogue(Operation *op, RankedTensorType resultType, Value bias,
                      int64_t n, std::optional<APFloat> clipMin,
                      std::optional<APFloat> clipMax,
                      std::optional<StringRef> activation) {
  const bool quantized = isa<QuantType>(resultType.getElementType());
  if (quantized && !perTensor8Bit(resultType))
    return op->emitOpError("a quantized result must be per-tensor u8 or i8");
  if (activation && !rt::parseActivation(*activation))
    return op->emitOpError("activation must be \"gelu\", \"gelu_tanh\" or "
                           "\"silu\", not \"")
           << *activation << "\"";
  if (bias) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    // The bias is in units of the accumulator only when the epilogue goes
    // from the i32 sum to the output's codes without a float step.
    Type expected = quantized && !activation
                        ? Type(IntegerType::get(op->getContext(), 32))
                        : Type(Float32Type::get(op->getContext()));
    auto expectedType = RankedTensorType::get({n}, expected);
    if (biasType != expectedType)
      return op->emitOpError("bias must be ")
             << expectedType << " for this result, not " << biasType;
  }
  if (clipMin && clipMax &&
      !(clipMin->convertToFloat() <= clipMax->convertToFloat()))
    return op->emitOpError("clip_min must not exceed clip_max");
  return success();
}

LogicalResult QLinearOp::verify() {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto weightType = cast<RankedTensorType>(getWeight().getType());
  auto resultType = cast<RankedTensorType>(getType());
  auto input = cast<QuantType>(inputType.getElementType());
  const bool fp8 = input.getFormat() == rt::Format::F8E4M3FN;
  if (fp8 ? !input.isPerTensor() : !perTensor8Bit(inputType))
    return emitOpError("input must be per-tensor u8, i8 or f8e4m3fn, not ")
           << inputType.getElementType();
  auto weight = cast<QuantType>(weightType.getElementType());
  const rt::Format weightFormat = fp8 ? rt::Format::F8E4M3FN : rt::Format::I8;
  if (weightType.getRank() != 2 || weight.getFormat() != weightFormat ||
      weight.isPerBlock() || (weight.isPerAxis() && weight.getAxis() != 0))
    return emitOpError("weight must be [N, K] ")
           << (fp8 ? "f8e4m3fn (with an f8e4m3fn input)" : "i8")
           << ", per tensor or per row (axis 0), not " << weightType;
  if (fp8 && !resultType.getElementType().isF32())
    return emitOpError("an f8e4m3fn layer has an f32 result, not ")
           << resultType.getElementType();
  if (inputType.getRank() < 1)
    return emitOpError("input must have rank 1 or more");
  const int64_t n = weightType.getDimSize(0), k = weightType.getDimSize(1);
  if (inputType.getShape().back() != k)
    return emitOpError("input's last dimension ")
           << inputType.getShape().back() << " is not the weight's K " << k;
  SmallVector<int64_t> shape(inputType.getShape());
  shape.back() = n;
  if (resultType.getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("result shape must be [..., ")
           << n << "], the input's with N as last dimension";
  return verifyIntegerEpilogue(getOperation(), resultType, getBias(), n,
                               getClipMin(), getClipMax(), getActivation());
}

LogicalResult QConv2DOp::verify() {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto weightType = cast<RankedTensorType>(getWeight().getType());
  auto resultType = cast<RankedTensorType>(getType());
  if (!perTensor8Bit(inputType) || inputType.getRank() != 4)
    return emitOpError("input must be NCHW with per-tensor u8 or i8 codes, "
                       "not ")
           << inputType;
  auto weight = cast<QuantType>(weightType.getElementType());
  if (weightType.getRank() != 4 || weight.getFormat() != rt::Format::I8 ||
      weight.isPerBlock() || (weight.isPerAxis() && weight.getAxis() != 0))
    return emitOpError("weight must be [F, C, KH, KW] i8, per tensor or per "
                       "filter (axis 0), not ")
           << weightType;
  ArrayRef<int64_t> strides = getStrides(), pads = getPads(),
                    dilations = getDilations();
  if (strides.size() != 2 || pads.size() != 4 || dilations.size() != 2 ||
      llvm::any_of(strides, [](int64_t v) { return v < 1; }) ||
      llvm::any_of(dilations, [](int64_t v) { return v < 1; }) ||
      llvm::any_of(pads, [](int64_t v) { return v < 0; }))
    return emitOpError("needs 2 positive strides, 2 positive dilations and 4 "
                       "non-negative pads");
  ArrayRef<int64_t> x = inputType.getShape(), w = weightType.getShape();
  if (x[1] != w[1])
    return emitOpError("input has ")
           << x[1] << " channels, the weight " << w[1];
  SmallVector<int64_t> shape{x[0], w[0]};
  for (int d = 0; d < 2; ++d) {
    const int64_t window = (w[2 + d] - 1) * dilations[d] + 1;
    const int64_t span = x[2 + d] + pads[d] + pads[2 + d] - window;
    if (span < 0)
      return emitOpError("the kernel does not fit the padded input");
    shape.push_back(span / strides[d] + 1);
  }
  if (resultType.getShape() != ArrayRef<int64_t>(shape))
    return emitOpError("result shape must be [")
           << shape[0] << ", " << shape[1] << ", " << shape[2] << ", "
           << shape[3] << "]";
  return verifyIntegerEpilogue(getOperation(), resultType, getBias(), w[0],
                               getClipMin(), getClipMax(), getActivation());
}

//===----------------------------------------------------------------------===//
// Fused elementwise chains
//===----------------------------------------------------------------------===//

bool FusedElementwiseOp::isFusible(Operation *op) {
  if (isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, ReluOp, SigmoidOp,
          TanhOp, ExpOp, SqrtOp, ErfOp, NegOp, AbsOp, SiluOp, GeluOp,
          LeakyReluOp, ClipOp>(op))
    return true;
  // Per-tensor quantization: one scale and zero point for every element.
  auto perTensor = [](Type type) {
    auto quant =
        dyn_cast<QuantType>(cast<RankedTensorType>(type).getElementType());
    return quant && quant.isPerTensor();
  };
  if (isa<QuantizeOp>(op))
    return perTensor(op->getResult(0).getType());
  if (isa<DequantizeOp>(op))
    return perTensor(op->getOperand(0).getType());
  return false;
}

Value FusedElementwiseOp::getYielded() {
  return cast<YieldOp>(getBody().front().getTerminator()).getValue();
}

LogicalResult FusedElementwiseOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("body has ")
           << body.getNumArguments() << " arguments for " << getInputs().size()
           << " inputs";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("body argument type ")
             << arg.getType() << " differs from its input's "
             << input.getType();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("body must end in qg.yield");
  if (yield.getValue().getType() != getType())
    return emitOpError("yields ") << yield.getValue().getType()
                                  << " for a result of type " << getType();
  ArrayRef<int64_t> shape = getType().getShape();
  auto broadcastsToResult = [&](Type type) {
    SmallVector<int64_t> joined;
    return OpTrait::util::getBroadcastedShape(
               cast<RankedTensorType>(type).getShape(), shape, joined) &&
           ArrayRef<int64_t>(joined) == shape;
  };
  for (Operation &op : body.without_terminator()) {
    if (auto constant = dyn_cast<ConstantOp>(op)) {
      if (cast<RankedTensorType>(constant.getType()).getNumElements() != 1)
        return op.emitOpError("in a fused_elementwise body must have one "
                              "element");
      continue;
    }
    if (!isFusible(&op))
      return op.emitOpError("is not an elementwise op that can be fused");
    if (!broadcastsToResult(op.getResult(0).getType()))
      return op.emitOpError("result does not broadcast to the fused result "
                            "shape ")
             << formatShape(shape);
  }
  for (BlockArgument arg : body.getArguments())
    if (!broadcastsToResult(arg.getType()))
      return emitOpError("input of type ")
             << arg.getType() << " does not broadcast to the result shape "
             << formatShape(shape);
  return success();
}

//===----------------------------------------------------------------------===//
// DequantMatMulOp
//===----------------------------------------------------------------------===//

bool qcc::qg::isWeightOnlyWeight(RankedTensorType weightType, bool transB) {
  auto quant = dyn_cast<QuantType>(weightType.getElementType());
  if (!quant || weightType.getRank() != 2 || quant.isDoubleQuantized())
    return false;
  const rt::Format f = quant.getFormat();
  const int64_t kAxis = transB ? 1 : 0;
  const bool fourBit =
      f == rt::Format::U4 || f == rt::Format::I4 || f == rt::Format::NF4;
  const bool eightBit = f == rt::Format::U8 || f == rt::Format::I8;
  if (quant.isPerBlock())
    return (fourBit || eightBit) && quant.getAxis() == kAxis;
  if (quant.isPerAxis())
    return eightBit && quant.getAxis() == 1 - kAxis;
  return eightBit;
}

LogicalResult DequantMatMulOp::verify() {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto weightType = cast<RankedTensorType>(getWeight().getType());
  auto resultType = cast<RankedTensorType>(getType());
  auto weight = cast<QuantType>(weightType.getElementType());
  const int64_t kAxis = getTransB() ? 1 : 0;
  if (weightType.getRank() != 2 ||
      (weight.isPerBlock() && weight.getAxis() != kAxis) ||
      (weight.isPerAxis() && weight.getAxis() != 1 - kAxis))
    return emitOpError("weight must be 2-D and quantized per tensor, per "
                       "output channel (axis ")
           << 1 - kAxis << ") or in blocks along K (axis " << kAxis << "), not "
           << weightType;
  const rt::Format format = weight.getFormat();
  if ((format == rt::Format::U4 || format == rt::Format::I4 ||
       format == rt::Format::NF4) &&
      !weight.isPerBlock())
    return emitOpError("a 4-bit weight is quantized in blocks along K (axis ")
           << kAxis << "), not " << weightType;
  if (inputType.getRank() < 1)
    return emitOpError("input must have rank 1 or more");
  const int64_t k = weightType.getDimSize(kAxis),
                n = weightType.getDimSize(1 - kAxis);
  if (inputType.getShape().back() != k)
    return emitOpError("input's last dimension ")
           << inputType.getShape().back() << " is not the weight's K " << k;
  SmallVector<int64_t> shape(inputType.getShape());
  shape.back() = n;
  if (resultType.getShape() != ArrayRef<int64_t>(shape) ||
      resultType.getElementType() != inputType.getElementType())
    return emitOpError("result must be ")
           << RankedTensorType::get(shape, inputType.getElementType());
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 || biasType.getDimSize(0) != n ||
        biasType.getElementType() != inputType.getElementType())
      return emitOpError("bias must be [")
             << n << "] of the input's element type, not " << biasType;
  }
  return success();
}
