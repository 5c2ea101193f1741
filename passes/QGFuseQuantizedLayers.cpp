// qg-fuse-quantized-layers: dequantize -> matmul/gemm/conv -> bias ->
// relu/clip or GELU/SiLU (as ops or written out) -> quantize becomes one
// qg.qlinear or qg.qconv2d, the ops the CPU and CUDA backends turn into an
// integer kernel with a fused epilogue.
#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"
#include "passes/QuantSites.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallPtrSet.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qcc::qg {
#define GEN_PASS_DEF_QGFUSEQUANTIZEDLAYERS
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

/// The per-tensor u8/i8 type of a quantized tensor value, or null.
QuantType perTensor8Bit(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  auto quant = tensor ? dyn_cast<QuantType>(tensor.getElementType()) : nullptr;
  if (!quant || !quant.isPerTensor() ||
      (quant.getFormat() != rt::Format::I8 &&
       quant.getFormat() != rt::Format::U8))
    return {};
  return quant;
}

/// The per-tensor FP8 E4M3FN type of a quantized tensor value, or null.
QuantType perTensorFp8(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  auto quant = tensor ? dyn_cast<QuantType>(tensor.getElementType()) : nullptr;
  if (!quant || !quant.isPerTensor() ||
      quant.getFormat() != rt::Format::F8E4M3FN)
    return {};
  return quant;
}

/// True for a constant shape that broadcasts as one value per output feature
/// n of a rank-`rank` result: [N], [1, N], [1, 1, N]...
bool isRowVector(RankedTensorType type, int64_t n, int64_t rank) {
  return type.getRank() >= 1 && type.getRank() <= rank &&
         type.getShape().back() == n && type.getNumElements() == n;
}

/// The value of a one-element f32 constant, or nullopt.
std::optional<double> scalarConstant(Value value) {
  std::optional<SmallVector<float>> values = floatConstant(value);
  if (!values || values->size() != 1)
    return std::nullopt;
  return (*values)[0];
}

bool near(double value, double expected) {
  return std::fabs(value - expected) <= 1e-6 * std::fabs(expected);
}

/// `value` read as constant * factor * factor...: qg.mul and qg.div by a
/// one-element constant are followed down to other values; `x` is always a
/// factor. The ops followed are recorded.
struct Product {
  double constant = 1.0;
  SmallVector<Value> factors;
  SmallVector<Operation *> ops;
};

void flattenProduct(Value value, Value x, Product &product) {
  if (value != x) {
    if (std::optional<double> c = scalarConstant(value)) {
      product.constant *= *c;
      return;
    }
    if (auto mul = value.getDefiningOp<MulOp>()) {
      product.ops.push_back(mul);
      flattenProduct(mul.getLhs(), x, product);
      flattenProduct(mul.getRhs(), x, product);
      return;
    }
    if (auto div = value.getDefiningOp<DivOp>()) {
      if (std::optional<double> c = scalarConstant(div.getRhs())) {
        product.ops.push_back(div);
        product.constant /= *c;
        flattenProduct(div.getLhs(), x, product);
        return;
      }
    }
  }
  product.factors.push_back(value);
}

/// The factor of a two-factor product that is not `x`, when the other is.
Value otherFactor(const Product &product, Value x) {
  if (product.factors.size() != 2)
    return {};
  if (product.factors[0] == x)
    return product.factors[1];
  return product.factors[1] == x ? product.factors[0] : Value();
}

/// An activation written out in elementwise ops, ending at `root`.
struct WrittenActivation {
  rt::Activation activation = rt::Activation::None;
  SmallVector<Operation *> ops;
};

/// GELU as 0.5 * x * (1 + erf(x / sqrt(2))) in any order of the products
/// (x * 0.5 * (...), (x * (...)) * 0.5, x / 1.4142135 or x * 0.70710677
/// inside erf), or SiLU as x * sigmoid(x).
std::optional<WrittenActivation> matchWrittenActivation(Value root, Value x) {
  Product outer;
  flattenProduct(root, x, outer);
  Value other = otherFactor(outer, x);
  if (!other || outer.ops.empty())
    return std::nullopt;
  WrittenActivation match;
  match.ops = outer.ops;
  if (auto sigmoid = other.getDefiningOp<SigmoidOp>()) {
    if (sigmoid.getInput() != x || !near(outer.constant, 1.0))
      return std::nullopt;
    match.activation = rt::Activation::Silu;
    match.ops.push_back(sigmoid);
    return match;
  }
  auto add = other.getDefiningOp<AddOp>();
  if (!add || !near(outer.constant, 0.5))
    return std::nullopt;
  std::optional<double> one = scalarConstant(add.getRhs());
  Value erfValue = add.getLhs();
  if (!one) {
    one = scalarConstant(add.getLhs());
    erfValue = add.getRhs();
  }
  auto erf = erfValue.getDefiningOp<ErfOp>();
  if (!one || *one != 1.0 || !erf)
    return std::nullopt;
  Product inner;
  flattenProduct(erf.getInput(), x, inner);
  if (inner.factors.size() != 1 || inner.factors[0] != x ||
      !near(inner.constant, 1.0 / std::sqrt(2.0)))
    return std::nullopt;
  match.activation = rt::Activation::Gelu;
  match.ops.push_back(add);
  match.ops.push_back(erf);
  match.ops.append(inner.ops.begin(), inner.ops.end());
  return match;
}

/// What a matched layer turns into.
struct Match {
  Value input;              // quantized activation codes, [..., K]
  ConstantOp weight;        // i8 constant as stored
  bool weightIsKxN = false; // stored [K, N]: transpose at compile time
  std::optional<SmallVector<float>> bias;
  float clipMin = -std::numeric_limits<float>::infinity();
  float clipMax = std::numeric_limits<float>::infinity();
  rt::Activation activation = rt::Activation::None;
  QuantizeOp output;                 // the absorbed quantize, if any
  bool fp8 = false;                  // f8e4m3fn input and weight
  Conv2DOp conv;                     // set for a convolution
  SmallVector<Operation *> absorbed; // layer first, in program order
};

class FuseQuantizedLayersPass
    : public qcc::qg::impl::QGFuseQuantizedLayersBase<FuseQuantizedLayersPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp, Conv2DOp>(op))
        layers.push_back(op);
    });
    for (Operation *layer : layers) {
      std::optional<Match> match = matchLayer(layer);
      if (!match)
        continue;
      if (failed(rewrite(*match)))
        return signalPassFailure();
      ++numFused;
    }
  }

private:
  std::optional<Match> matchLayer(Operation *layer) {
    Match match;
    if (auto mm = dyn_cast<MatMulOp>(layer); mm && mm.hasOperandPerms())
      return std::nullopt; // operand layouts are folded after this pass
    auto activation = layer->getOperand(0).getDefiningOp<DequantizeOp>();
    auto weightDq = layer->getOperand(1).getDefiningOp<DequantizeOp>();
    if (!activation || !weightDq)
      return std::nullopt;
    match.fp8 = bool(perTensorFp8(activation.getInput().getType()));
    if (!match.fp8 && !perTensor8Bit(activation.getInput().getType()))
      return std::nullopt;
    match.input = activation.getInput();
    match.weight = weightDq.getInput().getDefiningOp<ConstantOp>();
    if (!match.weight)
      return std::nullopt;
    auto weightType = cast<RankedTensorType>(match.weight.getType());
    auto weightQuant = cast<QuantType>(weightType.getElementType());
    if (auto conv = dyn_cast<Conv2DOp>(layer))
      return match.fp8 ? std::nullopt
                       : matchConv(conv, match, weightType, weightQuant);
    const rt::Format weightFormat =
        match.fp8 ? rt::Format::F8E4M3FN : rt::Format::I8;
    if (weightType.getRank() != 2 || weightQuant.getFormat() != weightFormat ||
        weightQuant.isPerBlock())
      return std::nullopt;
    auto resultType = cast<RankedTensorType>(layer->getResult(0).getType());
    if (!resultType.getElementType().isF32() || resultType.getRank() < 1)
      return std::nullopt;

    if (auto gemm = dyn_cast<GemmOp>(layer)) {
      if (gemm.getTransA() || gemm.getAlpha().convertToFloat() != 1.0f)
        return std::nullopt;
      match.weightIsKxN = !gemm.getTransB();
      if (Value c = gemm.getC()) {
        match.bias = floatConstant(c);
        const float beta = gemm.getBeta().convertToFloat();
        if (!match.bias ||
            !isRowVector(cast<RankedTensorType>(c.getType()),
                         resultType.getShape().back(), resultType.getRank()))
          return std::nullopt;
        for (float &b : *match.bias)
          b *= beta;
      }
    } else {
      // A 1-D activation has no row dimension to keep.
      auto inputType = cast<RankedTensorType>(match.input.getType());
      if (inputType.getRank() < 2)
        return std::nullopt;
      match.weightIsKxN = true;
    }
    // Per-axis scales must follow the output feature N.
    const int64_t nAxis = match.weightIsKxN ? 1 : 0;
    if (weightQuant.isPerAxis() && weightQuant.getAxis() != nAxis)
      return std::nullopt;
    match.absorbed.push_back(layer);

    // Absorb the epilogue, one single-user step at a time.
    const int64_t n = resultType.getShape().back();
    Value current = layer->getResult(0);
    auto soleUser = [&]() -> Operation * {
      return current.hasOneUse() ? *current.getUsers().begin() : nullptr;
    };
    if (auto add = dyn_cast_or_null<AddOp>(soleUser()); add && !match.bias) {
      Value other = add.getLhs() == current ? add.getRhs() : add.getLhs();
      auto otherType = cast<RankedTensorType>(other.getType());
      std::optional<SmallVector<float>> bias = floatConstant(other);
      if (bias && isRowVector(otherType, n, resultType.getRank()) &&
          add.getType() == resultType) {
        match.bias = std::move(bias);
        match.absorbed.push_back(add);
        current = add.getResult();
      }
    }
    absorbActivation(match, current);
    return match;
  }

  /// conv2d with one group, a dequantized per-tensor 8-bit input and an i8
  /// constant weight per tensor or per filter, and an f32 constant bias.
  std::optional<Match> matchConv(Conv2DOp conv, Match &match,
                                 RankedTensorType weightType,
                                 QuantType weightQuant) {
    auto resultType = cast<RankedTensorType>(conv.getType());
    if (conv.getGroup() != 1 || weightType.getRank() != 4 ||
        weightQuant.getFormat() != rt::Format::I8 || weightQuant.isPerBlock() ||
        (weightQuant.isPerAxis() && weightQuant.getAxis() != 0) ||
        !resultType.getElementType().isF32() ||
        cast<RankedTensorType>(match.input.getType()).getRank() != 4)
      return std::nullopt;
    if (Value bias = conv.getBias()) {
      match.bias = floatConstant(bias);
      if (!match.bias)
        return std::nullopt;
    }
    match.conv = conv;
    match.absorbed.push_back(conv);
    absorbActivation(match, conv.getResult());
    return match;
  }

  /// Absorbs relu or clip, or GELU/SiLU (an op or written out), then a
  /// per-tensor 8-bit quantize, each only when it is the sole user of the
  /// value before it (all of a written-out activation's ops are users of
  /// the layer or of each other, and only its last has other users).
  void absorbActivation(Match &match, Value current) {
    auto soleUser = [&]() -> Operation * {
      return current.hasOneUse() ? *current.getUsers().begin() : nullptr;
    };
    if (auto gelu = dyn_cast_or_null<GeluOp>(soleUser())) {
      match.activation = gelu.getApproximate() == "tanh"
                             ? rt::Activation::GeluTanh
                             : rt::Activation::Gelu;
      match.absorbed.push_back(gelu);
      current = gelu.getResult();
    } else if (auto silu = dyn_cast_or_null<SiluOp>(soleUser())) {
      match.activation = rt::Activation::Silu;
      match.absorbed.push_back(silu);
      current = silu.getResult();
    } else if (std::optional<WrittenActivation> written =
                   findWrittenActivation(current)) {
      match.activation = written->activation;
      match.absorbed.append(written->ops.begin(), written->ops.end());
      current = written->ops.back()->getResult(0);
    } else if (auto relu = dyn_cast_or_null<ReluOp>(soleUser())) {
      match.clipMin = 0.0f;
      match.absorbed.push_back(relu);
      current = relu.getResult();
    } else if (auto clip = dyn_cast_or_null<ClipOp>(soleUser())) {
      if (clip.getMin())
        match.clipMin = clip.getMin()->convertToFloat();
      if (clip.getMax())
        match.clipMax = clip.getMax()->convertToFloat();
      match.absorbed.push_back(clip);
      current = clip.getResult();
    }
    // An FP8 layer's result stays f32: a quantize after it stays apart.
    if (auto quantize = dyn_cast_or_null<QuantizeOp>(soleUser());
        quantize && !match.fp8 && perTensor8Bit(quantize.getType())) {
      match.output = quantize;
      match.absorbed.push_back(quantize);
    }
  }

  /// A written-out activation of `x` whose ops use nothing but `x`, each
  /// other and one-element constants, and whose only value used elsewhere is
  /// its result. Its ops come back in program order, the result's last.
  std::optional<WrittenActivation> findWrittenActivation(Value x) {
    // The candidates for the last op: elementwise ops of x's type within a
    // few steps of x.
    SmallVector<Operation *> candidates;
    llvm::SetVector<Operation *> seen;
    SmallVector<std::pair<Value, int>> work{{x, 0}};
    while (!work.empty()) {
      auto [value, depth] = work.pop_back_val();
      if (depth == 6)
        continue;
      for (Operation *user : value.getUsers()) {
        if (!isa<MulOp, DivOp, AddOp, ErfOp, SigmoidOp>(user) ||
            user->getResult(0).getType() != x.getType() || !seen.insert(user))
          continue;
        candidates.push_back(user);
        work.push_back({user->getResult(0), depth + 1});
      }
    }
    for (Operation *root : candidates) {
      std::optional<WrittenActivation> written =
          matchWrittenActivation(root->getResult(0), x);
      if (!written)
        continue;
      llvm::SmallPtrSet<Operation *, 8> inside(written->ops.begin(),
                                               written->ops.end());
      auto usedInside = [&](Value v) {
        return llvm::all_of(v.getUsers(),
                            [&](Operation *u) { return inside.contains(u); });
      };
      if (!usedInside(x) || !llvm::all_of(written->ops, [&](Operation *op) {
            return op == root || (op->getResult(0).getType() == x.getType() &&
                                  usedInside(op->getResult(0)));
          }))
        continue;
      llvm::sort(written->ops, [](Operation *a, Operation *b) {
        return a->isBeforeInBlock(b);
      });
      return written;
    }
    return std::nullopt;
  }

  LogicalResult rewrite(Match &match) {
    Operation *last = match.absorbed.back();
    OpBuilder builder(last);
    MLIRContext *context = &getContext();

    // The weight as [N, K] codes with its scales on axis 0.
    Value weight = match.weight.getResult();
    auto weightType = cast<RankedTensorType>(weight.getType());
    auto weightQuant = cast<QuantType>(weightType.getElementType());
    if (match.weightIsKxN) {
      FailureOr<ref::Tensor> codes =
          ref::fromAttribute(match.weight.getValue(), weightType);
      if (failed(codes))
        return match.weight.emitOpError("cannot read the weight's codes");
      const int64_t k = weightType.getDimSize(0), n = weightType.getDimSize(1);
      // i8 codes, or the bytes of FP8 values.
      SmallVector<char> transposed(static_cast<size_t>(k * n));
      for (int64_t r = 0; r < k; ++r)
        for (int64_t c = 0; c < n; ++c)
          transposed[c * k + r] = static_cast<char>(
              static_cast<int64_t>(codes->data[r * n + c]) & 255);
      auto storage = RankedTensorType::get(
          {n, k}, match.fp8 ? Type(builder.getType<Float8E4M3FNType>())
                            : Type(builder.getI8Type()));
      auto quant = QuantType::get(
          context, weightQuant.getFormat(), weightQuant.isPerAxis() ? 0 : -1, 0,
          weightQuant.getScales(), weightQuant.getZeroPoints(),
          weightQuant.getDqBlock(), weightQuant.getDqScales());
      weight = ConstantOp::create(builder, match.weight.getLoc(),
                                  RankedTensorType::get({n, k}, quant),
                                  DenseElementsAttr::getFromRawBuffer(
                                      storage, ArrayRef<char>(transposed)));
      weightQuant = quant;
    }

    auto layerType =
        cast<RankedTensorType>(match.absorbed[0]->getResult(0).getType());
    const int64_t n =
        match.conv ? layerType.getDimSize(1) : layerType.getShape().back();
    Type resultType = layerType;
    Value bias;
    if (match.output) {
      resultType = match.output.getType();
      if (match.bias && match.activation != rt::Activation::None) {
        // The activation needs the float value, so the bias stays f32.
        bias = createFloatConstant(builder, match.absorbed[0]->getLoc(), {n},
                                   *match.bias);
      } else if (match.bias) {
        // i32 bias in units of the accumulator scale f32(s_x * s_w[n]).
        FailureOr<rt::QuantParams> x =
            perTensor8Bit(match.input.getType()).getParams();
        FailureOr<rt::QuantParams> w = weightQuant.getParams();
        if (failed(x) || failed(w))
          return match.weight.emitOpError("scale table not available");
        SmallVector<int32_t> biasInt(n);
        for (int64_t j = 0; j < n; ++j) {
          const float scale =
              x->scales[0] * w->scales[w->scales.size() > 1 ? j : 0];
          // Bounded so that the accumulator plus bias stays in i32 for
          // K <= 16384 (|acc| < 2^29.1).
          const double limit = 1 << 30;
          biasInt[j] = static_cast<int32_t>(std::clamp(
              std::nearbyint(static_cast<double>((*match.bias)[j]) / scale),
              -limit, limit));
        }
        auto type = RankedTensorType::get({n}, builder.getI32Type());
        bias = ConstantOp::create(
            builder, match.absorbed[0]->getLoc(),
            DenseElementsAttr::get(type, ArrayRef<int32_t>(biasInt)));
      }
    } else if (match.bias) {
      bias = createFloatConstant(builder, match.absorbed[0]->getLoc(), {n},
                                 *match.bias);
    }

    SmallVector<Location> locations;
    for (Operation *op : match.absorbed)
      locations.push_back(op->getLoc());
    FloatAttr clipMin = std::isinf(match.clipMin)
                            ? FloatAttr()
                            : builder.getF32FloatAttr(match.clipMin);
    FloatAttr clipMax = std::isinf(match.clipMax)
                            ? FloatAttr()
                            : builder.getF32FloatAttr(match.clipMax);
    StringAttr activation =
        match.activation == rt::Activation::None
            ? StringAttr()
            : builder.getStringAttr(rt::activationName(match.activation));
    Value fused;
    if (match.conv)
      fused = QConv2DOp::create(
          builder, FusedLoc::get(context, locations), resultType, match.input,
          weight, bias, match.conv.getStridesAttr(), match.conv.getPadsAttr(),
          match.conv.getDilationsAttr(), clipMin, clipMax, activation);
    else
      fused = QLinearOp::create(builder, FusedLoc::get(context, locations),
                                resultType, match.input, weight, bias, clipMin,
                                clipMax, activation);
    last->getResult(0).replaceAllUsesWith(fused);

    // Erase what was absorbed, then the producers it leaves without users.
    llvm::SetVector<Operation *> producers;
    for (Operation *op : llvm::reverse(match.absorbed)) {
      for (Value operand : op->getOperands())
        if (Operation *producer = operand.getDefiningOp())
          producers.insert(producer);
      producers.remove(op);
      op->erase();
    }
    while (!producers.empty()) {
      Operation *producer = producers.pop_back_val();
      if (!producer->use_empty() || !isa<DequantizeOp, ConstantOp>(producer))
        continue;
      for (Value operand : producer->getOperands())
        if (Operation *inner = operand.getDefiningOp())
          producers.insert(inner);
      producer->erase();
    }
    return success();
  }
};

} // namespace
