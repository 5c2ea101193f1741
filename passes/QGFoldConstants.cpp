// qg-fold-constants: evaluate ops on constants with the reference
// interpreter, so folding and execution can never disagree.
#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGFOLDCONSTANTS
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

class FoldConstantsPass
    : public qcc::qg::impl::QGFoldConstantsBase<FoldConstantsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> candidates;
    getOperation().walk([&](Operation *op) {
      // Quantization ops are left to the dialect's folders: folding a
      // dequantized weight back into floats would undo quantization.
      if (isa<QGDialect>(op->getDialect()) &&
          !isa<ConstantOp, ObserveOp, QuantizeOp, DequantizeOp, RequantizeOp,
               StorageCastOp, DynamicQuantizeOp>(op) &&
          op->getNumOperands() > 0)
        candidates.push_back(op);
    });
    // Program order: a folded op makes its users foldable in turn.
    for (Operation *op : candidates)
      if (succeeded(fold(op)))
        ++numFolded;
  }

private:
  LogicalResult fold(Operation *op) {
    SmallVector<ref::Tensor> operands;
    for (Value operand : op->getOperands()) {
      auto constant = operand.getDefiningOp<ConstantOp>();
      if (!constant)
        return failure();
      FailureOr<ref::Tensor> tensor = ref::fromAttribute(
          constant.getValue(), cast<RankedTensorType>(constant.getType()));
      if (failed(tensor))
        return failure();
      operands.push_back(std::move(*tensor));
    }
    for (Type type : op->getResultTypes()) {
      auto tensor = dyn_cast<RankedTensorType>(type);
      // Quantized results stay with the dialect's own folders, which keep
      // codes exact; here only float and integer values are materialized.
      if (!tensor || !tensor.hasStaticShape() ||
          tensor.getNumElements() > maxElements ||
          !(isa<FloatType>(tensor.getElementType()) ||
            isa<IntegerType>(tensor.getElementType())))
        return failure();
    }
    // Diagnostics from a failed evaluation would be noise: the op simply
    // stays as it is.
    ScopedDiagnosticHandler silence(&getContext(),
                                    [](Diagnostic &) { return success(); });
    FailureOr<std::vector<ref::Tensor>> results = ref::evaluate(op, operands);
    if (failed(results))
      return failure();
    OpBuilder builder(op);
    for (auto [value, tensor] : llvm::zip(op->getResults(), *results)) {
      tensor.elementType =
          cast<RankedTensorType>(value.getType()).getElementType();
      ElementsAttr attr = ref::toAttribute(tensor, inlineLimit, "folded");
      value.replaceAllUsesWith(
          ConstantOp::create(builder, op->getLoc(),
                             cast<RankedTensorType>(value.getType()), attr));
    }
    op->erase();
    return success();
  }
};

} // namespace
