// The reference interpreter's driver, tensor helpers, quantization and
// elementwise kernels.
#include "codegen/reference/Interpreter.h"
#include "codegen/reference/Kernels.h"
#include "dialects/qg/QGElements.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace qcc::ref {

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

int64_t countOf(ArrayRef<int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

Tensor zeros(Type type) {
  auto tensorType = cast<RankedTensorType>(type);
  Tensor tensor;
  tensor.elementType = tensorType.getElementType();
  tensor.shape.assign(tensorType.getShape().begin(),
                      tensorType.getShape().end());
  tensor.data.assign(countOf(tensor.shape), 0.0);
  return tensor;
}

BroadcastMap::BroadcastMap(ArrayRef<int64_t> inShape,
                           ArrayRef<int64_t> outShape)
    : outShape(outShape), inStrides(outShape.size(), 0) {
  SmallVector<int64_t> strides = stridesOf(inShape);
  const size_t offset = outShape.size() - inShape.size();
  for (size_t i = 0; i < inShape.size(); ++i)
    inStrides[offset + i] = inShape[i] == 1 ? 0 : strides[i];
}

int64_t BroadcastMap::operator()(int64_t outIndex) const {
  int64_t inIndex = 0;
  for (int64_t d = static_cast<int64_t>(outShape.size()) - 1; d >= 0; --d) {
    inIndex += (outIndex % outShape[d]) * inStrides[d];
    outIndex /= outShape[d];
  }
  return inIndex;
}

double roundToType(Type type, double value) {
  if (type.isF64())
    return value;
  if (type.isF32())
    return static_cast<double>(static_cast<float>(value));
  if (isa<Float8E4M3FNType, Float8E5M2Type>(type)) {
    // Saturating round to nearest even, as DESIGN.md requires for FP8.
    const rt::Format format =
        isa<Float8E4M3FNType>(type) ? rt::Format::F8E4M3FN : rt::Format::F8E5M2;
    return rt::decodeFloat8(rt::encodeFloat8(static_cast<float>(value), format),
                            format);
  }
  if (auto floatType = dyn_cast<FloatType>(type)) {
    llvm::APFloat narrowed(value);
    bool losesInfo;
    narrowed.convert(floatType.getFloatSemantics(),
                     llvm::APFloat::rmNearestTiesToEven, &losesInfo);
    narrowed.convert(llvm::APFloat::IEEEdouble(),
                     llvm::APFloat::rmNearestTiesToEven, &losesInfo);
    return narrowed.convertToDouble();
  }
  if (auto intType = dyn_cast<IntegerType>(type)) {
    // Truncate toward zero, then wrap around in two's complement, as numpy
    // and ONNX Cast do (saturation is not specified for integers).
    if (intType.getWidth() == 1)
      return value != 0 ? 1.0 : 0.0;
    if (!std::isfinite(value))
      return 0.0;
    const unsigned width = intType.getWidth();
    const double truncated = std::trunc(value);
    if (std::fabs(truncated) >= 9.2e18)
      return 0.0; // beyond int64: undefined in ONNX, zero here
    uint64_t bits = static_cast<uint64_t>(static_cast<int64_t>(truncated));
    if (width >= 64)
      return intType.isUnsigned()
                 ? static_cast<double>(bits)
                 : static_cast<double>(static_cast<int64_t>(bits));
    bits &= (uint64_t{1} << width) - 1;
    if (!intType.isUnsigned() && ((bits >> (width - 1)) & 1))
      return static_cast<double>(static_cast<int64_t>(bits) -
                                 (int64_t{1} << width));
    return static_cast<double>(bits);
  }
  return value; // quantized codes are already integers
}

FailureOr<Tensor> fromAttribute(ElementsAttr value, RankedTensorType type) {
  Tensor tensor = zeros(type);
  if (getQuantElementType(type)) {
    FailureOr<SmallVector<int32_t>> codes = readCodes(value);
    if (failed(codes))
      return failure();
    tensor.data.assign(codes->begin(), codes->end());
    return tensor;
  }
  if (isa<FloatType>(type.getElementType())) {
    if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
      size_t i = 0;
      for (APFloat v : dense.getValues<APFloat>()) {
        bool losesInfo;
        v.convert(llvm::APFloat::IEEEdouble(),
                  llvm::APFloat::rmNearestTiesToEven, &losesInfo);
        tensor.data[i++] = v.convertToDouble();
      }
      return tensor;
    }
    FailureOr<SmallVector<float>> floats = readFloats(value);
    if (failed(floats))
      return failure();
    tensor.data.assign(floats->begin(), floats->end());
    return tensor;
  }
  FailureOr<SmallVector<int64_t>> ints = readIntegers(value);
  if (failed(ints))
    return failure();
  for (size_t i = 0; i < ints->size(); ++i)
    tensor.data[i] = static_cast<double>((*ints)[i]);
  if (type.getElementType().isInteger(1))
    for (double &v : tensor.data)
      v = v != 0 ? 1.0 : 0.0; // signless i1 reads back as -1
  return tensor;
}

//===----------------------------------------------------------------------===//
// Quantization ops
//===----------------------------------------------------------------------===//

namespace {
FailureOr<rt::QuantParams> paramsOf(Operation *op, Type type) {
  FailureOr<rt::QuantParams> params = getQuantElementType(type).getParams();
  if (failed(params))
    op->emitOpError("reference interpreter: the scale table is not available");
  return params;
}
} // namespace

FailureOr<Tensor> evalQuantOp(Operation *op, ArrayRef<Tensor> operands) {
  const Tensor &input = operands[0];
  Tensor result = zeros(op->getResult(0).getType());
  Type inType = op->getOperand(0).getType(),
       outType = op->getResult(0).getType();
  // Dequantize the input if it is quantized.
  std::vector<double> real = input.data;
  if (getQuantElementType(inType)) {
    FailureOr<rt::QuantParams> params = paramsOf(op, inType);
    if (failed(params))
      return failure();
    rt::ScaleIndexer indexer(input.shape, params->granularity);
    for (int64_t i = 0; i < input.size(); ++i) {
      const int64_t s = indexer(i);
      real[i] = rt::dequantizeValue(static_cast<int32_t>(input.data[i]),
                                    params->scales[s], params->zeroPoint(s),
                                    params->format);
    }
  }
  if (!getQuantElementType(outType)) {
    for (int64_t i = 0; i < input.size(); ++i)
      result.data[i] = roundToType(result.elementType, real[i]);
    return result;
  }
  FailureOr<rt::QuantParams> params = paramsOf(op, outType);
  if (failed(params))
    return failure();
  rt::ScaleIndexer indexer(result.shape, params->granularity);
  for (int64_t i = 0; i < input.size(); ++i) {
    const int64_t s = indexer(i);
    // quantize reads its input as f32, as ONNX QuantizeLinear does.
    result.data[i] =
        rt::quantizeValue(static_cast<float>(real[i]), params->scales[s],
                          params->zeroPoint(s), params->format);
  }
  return result;
}

FailureOr<std::vector<Tensor>> evalDynamicQuantize(Operation *op,
                                                   ArrayRef<Tensor> operands) {
  const Tensor &x = operands[0];
  std::vector<Tensor> results = {zeros(op->getResult(0).getType()),
                                 zeros(op->getResult(1).getType()),
                                 zeros(op->getResult(2).getType())};
  // One range for the whole tensor, or one per row of the last dimension.
  const int64_t width =
      cast<DynamicQuantizeOp>(op).getPerRow() && !x.shape.empty()
          ? x.shape.back()
          : x.size();
  for (int64_t row = 0; width > 0 && row * width < x.size(); ++row) {
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = row * width; i < (row + 1) * width; ++i) {
      lo = std::min(lo, static_cast<float>(x.data[i]));
      hi = std::max(hi, static_cast<float>(x.data[i]));
    }
    rt::ScaleAndZeroPoint sz = rt::chooseScaleAndZeroPoint(
        lo, hi, rt::Format::U8, /*symmetric=*/false);
    for (int64_t i = row * width; i < (row + 1) * width; ++i)
      results[0].data[i] =
          rt::quantizeInteger(static_cast<float>(x.data[i]), sz.scale,
                              sz.zeroPoint, rt::Format::U8);
    results[1].data[row] = sz.scale;
    results[2].data[row] = sz.zeroPoint;
  }
  return results;
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

namespace {
double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// Applies `fn` in the precision of `type`: integers exactly (then wrapped),
/// f64 in double, every other float in f32, then rounds to the type.
template <typename Fn>
double inPrecision(Type type, Fn fn, double a, double b) {
  if (isa<IntegerType>(type))
    return roundToType(type, fn(a, b)); // exact, then wrapped
  if (type.isF64())
    return fn(a, b);
  return roundToType(type, static_cast<double>(fn(static_cast<float>(a),
                                                  static_cast<float>(b))));
}
} // namespace

FailureOr<Tensor> evalElementwise(Operation *op, ArrayRef<Tensor> operands) {
  Tensor result = zeros(op->getResult(0).getType());
  const Type type = result.elementType;

  auto binary = [&](auto fn) {
    BroadcastMap lhs(operands[0].shape, result.shape),
        rhs(operands[1].shape, result.shape);
    for (int64_t i = 0; i < result.size(); ++i)
      result.data[i] = inPrecision(type, fn, operands[0].data[lhs(i)],
                                   operands[1].data[rhs(i)]);
    return result;
  };
  auto unary = [&](auto fn) {
    for (int64_t i = 0; i < result.size(); ++i)
      result.data[i] = inPrecision(
          type, [&](auto x, auto) { return fn(x); }, operands[0].data[i], 0.0);
    return result;
  };
  auto nanMax = [](auto a, auto b) {
    return (std::isnan(a) || std::isnan(b)) ? a + b : std::max(a, b);
  };
  auto nanMin = [](auto a, auto b) {
    return (std::isnan(a) || std::isnan(b)) ? a + b : std::min(a, b);
  };

  if (isa<AddOp>(op))
    return binary([](auto a, auto b) { return a + b; });
  if (isa<SubOp>(op))
    return binary([](auto a, auto b) { return a - b; });
  if (isa<MulOp>(op))
    return binary([](auto a, auto b) { return a * b; });
  if (isa<DivOp>(op)) {
    if (isa<IntegerType>(type))
      return binary([](auto a, auto b) {
        return b == 0 ? decltype(a)(0) : std::trunc(a / b);
      });
    return binary([](auto a, auto b) { return a / b; });
  }
  if (isa<PowOp>(op))
    return binary([](auto a, auto b) { return std::pow(a, b); });
  if (isa<MaxOp>(op))
    return binary(nanMax);
  if (isa<MinOp>(op))
    return binary(nanMin);
  if (isa<ReluOp>(op))
    return unary([](auto x) { return x > 0 ? x : decltype(x)(0); });
  if (isa<SigmoidOp>(op))
    return unary([](auto x) { return decltype(x)(sigmoid(x)); });
  if (isa<TanhOp>(op))
    return unary([](auto x) { return std::tanh(x); });
  if (isa<ExpOp>(op))
    return unary([](auto x) { return std::exp(x); });
  if (isa<SqrtOp>(op))
    return unary([](auto x) { return std::sqrt(x); });
  if (isa<ErfOp>(op))
    return unary([](auto x) { return std::erf(x); });
  if (isa<NegOp>(op))
    return unary([](auto x) { return -x; });
  if (isa<AbsOp>(op))
    return unary([](auto x) { return std::fabs(x); });
  if (isa<SiluOp, GeluOp>(op)) {
    auto gelu = dyn_cast<GeluOp>(op);
    const rt::Activation activation = !gelu ? rt::Activation::Silu
                                      : gelu.getApproximate() == "tanh"
                                          ? rt::Activation::GeluTanh
                                          : rt::Activation::Gelu;
    return unary([activation](auto x) {
      return decltype(x)(rt::applyActivation(activation, x));
    });
  }
  if (auto leaky = dyn_cast<LeakyReluOp>(op)) {
    const double alpha = leaky.getAlpha().convertToFloat();
    return unary(
        [alpha](auto x) { return x < 0 ? decltype(x)(alpha * x) : x; });
  }
  if (auto clip = dyn_cast<ClipOp>(op)) {
    const double lo = clip.getMin() ? clip.getMin()->convertToFloat()
                                    : -std::numeric_limits<double>::infinity();
    const double hi = clip.getMax() ? clip.getMax()->convertToFloat()
                                    : std::numeric_limits<double>::infinity();
    return unary([lo, hi](auto x) {
      if (std::isnan(x))
        return x;
      return decltype(x)(std::min(std::max(static_cast<double>(x), lo), hi));
    });
  }
  if (auto castOp = dyn_cast<CastOp>(op)) {
    const bool overflowToSpecial =
        !castOp.getSaturate() && isa<Float8E4M3FNType, Float8E5M2Type>(type);
    const bool e4m3 = isa<Float8E4M3FNType>(type);
    // Without saturation, values that round past the largest finite FP8
    // value (448 + 16, 57344 + 4096) overflow to NaN (E4M3FN) or Inf (E5M2).
    const double limit = e4m3 ? 464.0 : 61440.0;
    for (int64_t i = 0; i < result.size(); ++i) {
      const double v = operands[0].data[i];
      if (overflowToSpecial && (std::isinf(v) || std::fabs(v) > limit))
        result.data[i] = e4m3 ? std::numeric_limits<double>::quiet_NaN()
                              : std::copysign(INFINITY, v);
      else
        result.data[i] = roundToType(type, v);
    }
    return result;
  }
  if (isa<WhereOp>(op)) {
    BroadcastMap c(operands[0].shape, result.shape),
        x(operands[1].shape, result.shape), y(operands[2].shape, result.shape);
    for (int64_t i = 0; i < result.size(); ++i)
      result.data[i] = operands[0].data[c(i)] != 0 ? operands[1].data[x(i)]
                                                   : operands[2].data[y(i)];
    return result;
  }
  return op->emitOpError("reference interpreter: no elementwise kernel");
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

namespace {
FailureOr<Tensor> evalFused(FusedElementwiseOp op, ArrayRef<Tensor> operands);

/// qg.dequant_matmul means matmul(x, dequantize(W)) then + bias, each step
/// rounded to the result type, exactly as the ops it replaced.
FailureOr<Tensor> evalDequantMatMul(DequantMatMulOp op,
                                    ArrayRef<Tensor> operands) {
  const Tensor &codes = operands[1];
  FailureOr<rt::QuantParams> params = paramsOf(op, op.getWeight().getType());
  if (failed(params))
    return failure();
  Tensor weight;
  weight.elementType = getElementTypeOrSelf(op.getType());
  weight.shape = codes.shape;
  weight.data.resize(codes.data.size());
  rt::ScaleIndexer indexer(codes.shape, params->granularity);
  for (int64_t i = 0; i < codes.size(); ++i) {
    const int64_t s = indexer(i);
    weight.data[i] =
        roundToType(weight.elementType,
                    rt::dequantizeValue(static_cast<int32_t>(codes.data[i]),
                                        params->scales[s], params->zeroPoint(s),
                                        params->format));
  }
  if (op.getTransB())
    weight = permuted(weight, {1, 0});
  Tensor result = matmul(operands[0], weight, zeros(op.getType()));
  if (operands.size() > 2) {
    const Tensor &bias = operands[2];
    const int64_t n = bias.size();
    for (int64_t i = 0; i < result.size(); ++i)
      result.data[i] =
          roundToType(result.elementType, result.data[i] + bias.data[i % n]);
  }
  return result;
}
} // namespace

FailureOr<std::vector<Tensor>> evaluate(Operation *op,
                                        ArrayRef<Tensor> operands) {
  for (Type type : op->getResultTypes()) {
    auto tensorType = dyn_cast<RankedTensorType>(type);
    if (!tensorType || !tensorType.hasStaticShape()) {
      op->emitOpError("reference interpreter: result type ")
          << type << " is not a static tensor";
      return failure();
    }
  }
  FailureOr<Tensor> result = failure();
  if (auto constant = dyn_cast<ConstantOp>(op)) {
    result = fromAttribute(constant.getValue(),
                           cast<RankedTensorType>(constant.getType()));
    if (failed(result))
      return op->emitOpError("reference interpreter: cannot read the value");
  } else if (isa<QuantizeOp, DequantizeOp, RequantizeOp>(op)) {
    result = evalQuantOp(op, operands);
  } else if (isa<DynamicQuantizeOp>(op)) {
    return evalDynamicQuantize(op, operands);
  } else if (isa<ObserveOp>(op)) {
    // The value passes through; run() hands it to the observer.
    return std::vector<Tensor>{operands[0]};
  } else if (isa<SoftmaxOp, LayerNormOp, BatchNormOp>(op)) {
    result = evalNormalization(op, operands);
  } else if (isa<MatMulOp, GemmOp, QLinearOp, QConv2DOp, Conv2DOp, MaxPoolOp,
                 AvgPoolOp, GlobalAvgPoolOp, ReduceMeanOp, ReduceSumOp>(op)) {
    result = evalContraction(op, operands);
  } else if (isa<ReshapeOp, TransposeOp, ConcatOp, SliceOp, GatherOp, ExpandOp,
                 StorageCastOp>(op)) {
    result = evalDataMovement(op, operands);
  } else if (auto dmm = dyn_cast<DequantMatMulOp>(op)) {
    result = evalDequantMatMul(dmm, operands);
  } else if (auto fused = dyn_cast<FusedElementwiseOp>(op)) {
    result = evalFused(fused, operands);
  } else if (isa<QGDialect>(op->getDialect())) {
    result = evalElementwise(op, operands);
  } else {
    return op->emitOpError("reference interpreter: unsupported op");
  }
  if (failed(result))
    return failure();
  return std::vector<Tensor>{std::move(*result)};
}

namespace {
/// qg.fused_elementwise means its body: each op in turn, on whole tensors,
/// rounding to its own result type as it would unfused.
FailureOr<Tensor> evalFused(FusedElementwiseOp op, ArrayRef<Tensor> operands) {
  DenseMap<Value, Tensor> values;
  Block &body = op.getBody().front();
  for (auto [arg, tensor] : llvm::zip(body.getArguments(), operands))
    values[arg] = tensor;
  for (Operation &inner : body.without_terminator()) {
    SmallVector<Tensor> innerOperands;
    for (Value v : inner.getOperands())
      innerOperands.push_back(values.lookup(v));
    FailureOr<std::vector<Tensor>> results = evaluate(&inner, innerOperands);
    if (failed(results))
      return failure();
    values[inner.getResult(0)] = std::move((*results)[0]);
  }
  return values.lookup(op.getYielded());
}
} // namespace

ElementsAttr toAttribute(const Tensor &value, int64_t inlineLimit,
                         StringRef resourceName) {
  auto type = RankedTensorType::get(value.shape, value.elementType);
  if (value.elementType.isF32() && value.size() > inlineLimit) {
    std::vector<float> floats(value.data.begin(), value.data.end());
    ArrayRef<char> bytes(reinterpret_cast<const char *>(floats.data()),
                         floats.size() * sizeof(float));
    return DenseResourceElementsAttr::get(
        type, resourceName,
        HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes));
  }
  if (auto floatType = dyn_cast<FloatType>(value.elementType)) {
    SmallVector<APFloat> floats;
    for (double v : value.data) {
      APFloat f(v);
      bool losesInfo;
      f.convert(floatType.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                &losesInfo);
      floats.push_back(f);
    }
    return DenseElementsAttr::get(type, floats);
  }
  auto intType = cast<IntegerType>(value.elementType);
  SmallVector<APInt> ints;
  for (double v : value.data)
    ints.emplace_back(intType.getWidth(), static_cast<int64_t>(v),
                      /*isSigned=*/!intType.isUnsigned());
  return DenseElementsAttr::get(type, ints);
}

FailureOr<std::vector<Tensor>>
run(func::FuncOp function, ArrayRef<Tensor> inputs, const RunOptions &options) {
  FunctionType type = function.getFunctionType();
  if (inputs.size() != type.getNumInputs())
    return function.emitError("expected ")
           << type.getNumInputs() << " inputs, got " << inputs.size();
  DenseMap<Value, Tensor> values;
  Block &body = function.getBody().front();
  for (auto [i, argument] : llvm::enumerate(body.getArguments())) {
    auto argType = cast<RankedTensorType>(argument.getType());
    if (ArrayRef<int64_t>(inputs[i].shape) != argType.getShape() ||
        inputs[i].size() != countOf(inputs[i].shape))
      return function.emitError("input #")
             << i << " has shape " << formatShape(inputs[i].shape)
             << ", expected " << formatShape(argType.getShape());
    Tensor input = inputs[i];
    input.elementType = argType.getElementType();
    values[argument] = std::move(input);
  }
  for (Operation &op : body) {
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      std::vector<Tensor> outputs;
      for (Value operand : ret.getOperands())
        outputs.push_back(values.lookup(operand));
      return outputs;
    }
    SmallVector<Tensor> operands;
    for (Value operand : op.getOperands())
      operands.push_back(values.lookup(operand));
    FailureOr<std::vector<Tensor>> results = evaluate(&op, operands);
    if (failed(results))
      return failure();
    if (options.afterOp)
      options.afterOp(&op, *results);
    for (auto [value, tensor] : llvm::zip(op.getResults(), *results))
      values[value] = std::move(tensor);
    // Free values whose last use was this op.
    for (Value operand : op.getOperands())
      if (llvm::all_of(operand.getUsers(), [&](Operation *user) {
            return user->getBlock() == &body && !op.isBeforeInBlock(user);
          }))
        values.erase(operand);
  }
  return function.emitError("function has no return");
}

} // namespace qcc::ref
