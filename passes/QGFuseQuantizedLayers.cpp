// qg-fuse-quantized-layers: dequantize -> matmul/gemm -> bias -> relu/clip
// -> quantize becomes one qg.qlinear, the op the CPU and CUDA backends turn
// into an integer kernel with a fused epilogue.
#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"
#include "passes/QuantSites.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/SetVector.h"

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

/// True for a constant shape that broadcasts as one value per output feature
/// n of a rank-`rank` result: [N], [1, N], [1, 1, N]...
bool isRowVector(RankedTensorType type, int64_t n, int64_t rank) {
  return type.getRank() >= 1 && type.getRank() <= rank &&
         type.getShape().back() == n && type.getNumElements() == n;
}

/// What a matched layer turns into.
struct Match {
  Value input;              // quantized activation codes, [..., K]
  ConstantOp weight;        // i8 constant as stored
  bool weightIsKxN = false; // stored [K, N]: transpose at compile time
  std::optional<SmallVector<float>> bias;
  float clipMin = -std::numeric_limits<float>::infinity();
  float clipMax = std::numeric_limits<float>::infinity();
  QuantizeOp output;                 // the absorbed quantize, if any
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
    if (!activation || !weightDq ||
        !perTensor8Bit(activation.getInput().getType()))
      return std::nullopt;
    match.input = activation.getInput();
    match.weight = weightDq.getInput().getDefiningOp<ConstantOp>();
    if (!match.weight)
      return std::nullopt;
    auto weightType = cast<RankedTensorType>(match.weight.getType());
    auto weightQuant = cast<QuantType>(weightType.getElementType());
    if (auto conv = dyn_cast<Conv2DOp>(layer))
      return matchConv(conv, match, weightType, weightQuant);
    if (weightType.getRank() != 2 ||
        weightQuant.getFormat() != rt::Format::I8 || weightQuant.isPerBlock())
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

  /// Absorbs relu or clip, then a per-tensor 8-bit quantize, each only
  /// when it is the sole user of the value before it.
  void absorbActivation(Match &match, Value current) {
    auto soleUser = [&]() -> Operation * {
      return current.hasOneUse() ? *current.getUsers().begin() : nullptr;
    };
    if (auto relu = dyn_cast_or_null<ReluOp>(soleUser())) {
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
    if (auto quantize = dyn_cast_or_null<QuantizeOp>(soleUser());
        quantize && perTensor8Bit(quantize.getType())) {
      match.output = quantize;
      match.absorbed.push_back(quantize);
    }
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
      SmallVector<int8_t> transposed(static_cast<size_t>(k * n));
      for (int64_t r = 0; r < k; ++r)
        for (int64_t c = 0; c < n; ++c)
          transposed[c * k + r] = static_cast<int8_t>(codes->data[r * n + c]);
      auto storage = RankedTensorType::get({n, k}, builder.getI8Type());
      auto quant = QuantType::get(
          context, weightQuant.getFormat(), weightQuant.isPerAxis() ? 0 : -1, 0,
          weightQuant.getScales(), weightQuant.getZeroPoints(),
          weightQuant.getDqBlock(), weightQuant.getDqScales());
      weight = ConstantOp::create(
          builder, match.weight.getLoc(), RankedTensorType::get({n, k}, quant),
          DenseElementsAttr::get(storage, ArrayRef<int8_t>(transposed)));
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
      if (match.bias) {
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
    Value fused;
    if (match.conv)
      fused = QConv2DOp::create(
          builder, FusedLoc::get(context, locations), resultType, match.input,
          weight, bias, match.conv.getStridesAttr(), match.conv.getPadsAttr(),
          match.conv.getDilationsAttr(), clipMin, clipMax);
    else
      fused = QLinearOp::create(builder, FusedLoc::get(context, locations),
                                resultType, match.input, weight, bias, clipMin,
                                clipMax);
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
