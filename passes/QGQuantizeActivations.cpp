// qg-quantize-activations: Q/DQ pairs on the activation inputs of layers,
// with static ranges from calibration or dynamic ranges at run time.
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"
#include "passes/QuantSites.h"
#include "passes/algorithms/Calibration.h"

#include "mlir/IR/Builders.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGQUANTIZEACTIVATIONS
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

class QuantizeActivationsPass
    : public qcc::qg::impl::QGQuantizeActivationsBase<QuantizeActivationsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    const bool dynamic = mode == "dynamic";
    if (!dynamic && mode != "static") {
      module.emitError("qg-quantize-activations: mode must be static or "
                       "dynamic, got '")
          << mode.getValue() << "'";
      return signalPassFailure();
    }
    std::optional<RangeMethod> rangeMethod = parseRangeMethod(method);
    if (!rangeMethod) {
      module.emitError("qg-quantize-activations: unknown method '")
          << method.getValue()
          << "'; expected minmax, percentile, entropy or mse";
      return signalPassFailure();
    }
    std::optional<rt::Format> storage = rt::parseFormat(format);
    if (!storage || (*storage != rt::Format::U8 && *storage != rt::Format::I8 &&
                     *storage != rt::Format::F8E4M3FN)) {
      module.emitError(
          "qg-quantize-activations: format must be u8, i8 or f8e4m3fn, got '")
          << format.getValue() << "'";
      return signalPassFailure();
    }
    // The entropy method compares histograms on a uniform grid of codes,
    // which FP8's are not.
    if (*storage == rt::Format::F8E4M3FN &&
        *rangeMethod == RangeMethod::Entropy) {
      module.emitError("qg-quantize-activations: format=f8e4m3fn takes "
                       "method minmax, percentile or mse, not entropy");
      return signalPassFailure();
    }
    if (perRow && !dynamic) {
      module.emitError("qg-quantize-activations: per-row applies to "
                       "mode=dynamic (static ranges are per tensor)");
      return signalPassFailure();
    }
    if (dynamic && *storage != rt::Format::U8) {
      module.emitError("qg-quantize-activations: mode=dynamic quantizes to u8 "
                       "(ONNX DynamicQuantizeLinear); format=")
          << format.getValue() << " is not available";
      return signalPassFailure();
    }
    CalibrationStats stats;
    if (!dynamic) {
      std::string error;
      if (this->stats.empty()) {
        module.emitError("qg-quantize-activations: mode=static needs "
                         "stats=<file> from qg-calibrate");
        return signalPassFailure();
      }
      if (!loadStats(this->stats, stats, error)) {
        module.emitError("qg-quantize-activations: ") << error;
        return signalPassFailure();
      }
    }
    func::FuncOp function =
        findEntryFunction(module, "qg-quantize-activations");
    if (!function)
      return signalPassFailure();

    TensorKeys keys(function);
    SmallVector<OpOperand *> operands;
    function.walk([&](Operation *op) {
      if (isLayer(op)) {
        operands.push_back(findActivation(op)->operand);
        return;
      }
      // Ops asked for by name: every float operand that is not a constant.
      StringRef name = op->getName().getStringRef();
      if (!name.consume_front("qg.") || !llvm::is_contained(floatOps, name))
        return;
      for (OpOperand &operand : op->getOpOperands())
        if (!operand.get().getDefiningOp<ConstantOp>())
          operands.push_back(&operand);
    });

    RangeOptions rangeOptions;
    rangeOptions.method = *rangeMethod;
    rangeOptions.format = *storage;
    rangeOptions.symmetric = symmetric;
    rangeOptions.percentile = percentile;
    llvm::DenseMap<Value, Value> replacement;
    for (OpOperand *operand : operands) {
      Value x = operand->get();
      auto type = cast<RankedTensorType>(x.getType());
      if (!isa<FloatType>(type.getElementType()) ||
          x.getDefiningOp<DequantizeOp>())
        continue;
      if (Value done = replacement.lookup(x)) {
        operand->set(done);
        continue;
      }
      OpBuilder builder(&getContext());
      builder.setInsertionPointAfterValue(x);
      Location loc = x.getLoc();
      Value dequantized;
      if (dynamic) {
        dequantized = buildDynamic(builder, loc, x);
      } else {
        const std::string key = keys.key(x);
        auto it = stats.tensors.find(key);
        if (it == stats.tensors.end()) {
          operand->getOwner()->emitError(
              "qg-quantize-activations: no calibration statistics for the "
              "activation '")
              << key << "' (was the file made for this model?)";
          return signalPassFailure();
        }
        Range range = chooseRange(it->second.histogram, rangeOptions);
        rt::ScaleAndZeroPoint params = rt::chooseScaleAndZeroPoint(
            range.min, range.max, *storage, symmetric);
        auto quantType = QuantType::get(&getContext(), *storage, params.scale,
                                        params.zeroPoint);
        Value q = QuantizeOp::create(
            builder, loc, RankedTensorType::get(type.getShape(), quantType), x);
        dequantized = DequantizeOp::create(builder, loc, type, q);
      }
      replacement[x] = dequantized;
      operand->set(dequantized);
      ++numQuantized;
    }
  }

private:
  /// (cast(q) - cast(zp)) * scale from qg.dynamic_quantize, in float.
  Value buildDynamic(OpBuilder &builder, Location loc, Value x) {
    auto type = cast<RankedTensorType>(x.getType());
    Type u8 = IntegerType::get(&getContext(), 8, IntegerType::Unsigned);
    Type f32 = builder.getF32Type();
    // Per tensor: rank-0 scale and zero point; per row: the input's shape
    // with a last dimension of 1, which broadcasts against the codes.
    SmallVector<int64_t> paramShape;
    if (perRow && type.getRank() > 0) {
      paramShape.assign(type.getShape().begin(), type.getShape().end());
      paramShape.back() = 1;
    }
    auto scalar = [&](Type element) {
      return RankedTensorType::get(paramShape, element);
    };
    auto dq = DynamicQuantizeOp::create(
        builder, loc, RankedTensorType::get(type.getShape(), u8), scalar(f32),
        scalar(u8), x, builder.getBoolAttr(perRow && type.getRank() > 0));
    auto floatCodes = CastOp::create(builder, loc, type, dq.getOutput());
    auto floatZero = CastOp::create(builder, loc, scalar(type.getElementType()),
                                    dq.getZeroPoint());
    Value scale = dq.getScale();
    if (type.getElementType() != f32)
      scale =
          CastOp::create(builder, loc, scalar(type.getElementType()), scale);
    auto centered = SubOp::create(builder, loc, type, floatCodes, floatZero);
    return MulOp::create(builder, loc, type, centered, scale);
  }
};

} // namespace
