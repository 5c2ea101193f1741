// qg-export-quant-types: qg integer quantized types and Q/DQ ops to the
// upstream quant dialect.
#include "dialects/qg/QGOps.h"
#include "dialects/qg/QuantInterop.h"
#include "passes/Passes.h"
#include "passes/RewriteTypes.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/Builders.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGEXPORTQUANTTYPES
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc::qg;

namespace {
class ExportQuantTypesPass
    : public qcc::qg::impl::QGExportQuantTypesBase<ExportQuantTypesPass> {
public:
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Type f32 = Float32Type::get(&getContext());
    auto convert = [&](Type type, Location loc) -> FailureOr<Type> {
      auto tensor = dyn_cast<RankedTensorType>(type);
      QuantType quant = getQuantElementType(type);
      if (!tensor || !quant)
        return type;
      FailureOr<quant::QuantizedType> converted = convertToUpstream(
          quant, tensor.getShape(), f32, [&] { return emitError(loc); });
      if (failed(converted))
        return failure();
      return Type(tensor.clone(*converted));
    };
    // Only Q/DQ carry quantized values across: upstream has no quantized
    // constants or arithmetic on quantized tensors to map the rest to.
    SmallVector<Operation *> casts;
    WalkResult walk = module.walk([&](Operation *op) -> WalkResult {
      if (isa<QuantizeOp, DequantizeOp>(op)) {
        casts.push_back(op);
        return WalkResult::advance();
      }
      if (!isa<QGDialect>(op->getDialect()))
        return WalkResult::advance();
      auto isQuantized = [](Type t) { return bool(getQuantElementType(t)); };
      if (llvm::any_of(op->getOperandTypes(), isQuantized) ||
          llvm::any_of(op->getResultTypes(), isQuantized)) {
        op->emitOpError("on quantized tensors has no upstream quant "
                        "counterpart; only qg.quantize and qg.dequantize "
                        "export");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    for (Operation *op : casts) {
      Type floatType = isa<QuantizeOp>(op) ? op->getOperand(0).getType()
                                           : op->getResult(0).getType();
      if (cast<RankedTensorType>(floatType).getElementType() != f32) {
        op->emitOpError("converts only f32 tensors to upstream quant casts");
        return signalPassFailure();
      }
    }
    if (failed(rewriteValueTypes(module, convert)))
      return signalPassFailure();
    for (Operation *op : casts) {
      OpBuilder builder(op);
      Value replacement;
      if (auto q = dyn_cast<QuantizeOp>(op))
        replacement = quant::QuantizeCastOp::create(builder, op->getLoc(),
                                                    q.getType(), q.getInput());
      else
        replacement = quant::DequantizeCastOp::create(
            builder, op->getLoc(), op->getResult(0).getType(),
            op->getOperand(0));
      op->getResult(0).replaceAllUsesWith(replacement);
      op->erase();
    }
  }
};
} // namespace
