// qg-import-quant-types: upstream !quant.uniform types and quant casts to qg.
#include "dialects/qg/QGOps.h"
#include "dialects/qg/QuantInterop.h"
#include "passes/Passes.h"
#include "passes/RewriteTypes.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/Builders.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGIMPORTQUANTTYPES
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc::qg;

namespace {
class ImportQuantTypesPass
    : public qcc::qg::impl::QGImportQuantTypesBase<ImportQuantTypesPass> {
public:
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto convert = [](Type type, Location loc) -> FailureOr<Type> {
      auto tensor = dyn_cast<RankedTensorType>(type);
      auto quantized =
          tensor ? dyn_cast<quant::QuantizedType>(tensor.getElementType())
                 : nullptr;
      if (!quantized)
        return type;
      FailureOr<QuantType> converted = convertFromUpstream(
          quantized, tensor.getShape(), [&] { return emitError(loc); });
      if (failed(converted))
        return failure();
      return Type(tensor.clone(*converted));
    };
    if (failed(rewriteValueTypes(module, convert)))
      return signalPassFailure();

    SmallVector<Operation *> casts;
    module.walk([&](Operation *op) {
      if (isa<quant::QuantizeCastOp, quant::DequantizeCastOp,
              quant::StorageCastOp>(op))
        casts.push_back(op);
    });
    for (Operation *op : casts) {
      OpBuilder builder(op);
      Value replacement;
      if (auto q = dyn_cast<quant::QuantizeCastOp>(op)) {
        replacement = QuantizeOp::create(builder, op->getLoc(), q.getType(),
                                         q.getInput());
      } else if (auto dq = dyn_cast<quant::DequantizeCastOp>(op)) {
        replacement = DequantizeOp::create(builder, op->getLoc(), dq.getType(),
                                           dq.getInput());
      } else {
        op->emitOpError("has no qg counterpart: qg constants carry their "
                        "storage type directly");
        return signalPassFailure();
      }
      op->getResult(0).replaceAllUsesWith(replacement);
      op->erase();
    }
  }
};
} // namespace
