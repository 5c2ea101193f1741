// qg-fuse-weight-only: matmul(x, dequantize(4-bit constant)) (+ bias)
// becomes qg.dequant_matmul, which backends run without ever storing the
// f32 weights.
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGFUSEWEIGHTONLY
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

class FuseWeightOnlyPass
    : public qcc::qg::impl::QGFuseWeightOnlyBase<FuseWeightOnlyPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<MatMulOp> matmuls;
    getOperation().walk([&](MatMulOp mm) { matmuls.push_back(mm); });
    for (MatMulOp mm : matmuls)
      if (fuse(mm))
        ++numFused;
  }

private:
  bool fuse(MatMulOp mm) {
    if (mm.getLhsPerm())
      return false;
    bool transB = false;
    if (auto perm = mm.getRhsPerm()) {
      if (perm->size() != 2 || (*perm)[0] != 1)
        return false;
      transB = true;
    }
    auto dq = mm.getRhs().getDefiningOp<DequantizeOp>();
    if (!dq || !dq.getInput().getDefiningOp<ConstantOp>())
      return false;
    auto weightType = cast<RankedTensorType>(dq.getInput().getType());
    auto quant = cast<QuantType>(weightType.getElementType());
    const rt::Format f = quant.getFormat();
    auto inputType = cast<RankedTensorType>(mm.getLhs().getType());
    auto resultType = cast<RankedTensorType>(mm.getType());
    if (weightType.getRank() != 2 || !quant.isPerBlock() ||
        quant.getAxis() != (transB ? 1 : 0) ||
        (f != rt::Format::U4 && f != rt::Format::I4 && f != rt::Format::NF4) ||
        !inputType.getElementType().isF32() || inputType.getRank() < 1)
      return false;
    const int64_t n = resultType.getShape().back();

    SmallVector<Location> locations{dq.getLoc(), mm.getLoc()};
    Operation *last = mm;
    Value bias;
    if (mm->hasOneUse())
      if (auto add = dyn_cast<AddOp>(*mm->getUsers().begin())) {
        Value other = add.getLhs() == mm.getResult() ? add.getRhs()
                                                     : add.getLhs();
        auto otherType = cast<RankedTensorType>(other.getType());
        if (other.getDefiningOp<ConstantOp>() && otherType.getRank() == 1 &&
            otherType.getDimSize(0) == n && add.getType() == resultType &&
            otherType.getElementType().isF32()) {
          bias = other;
          locations.push_back(add.getLoc());
          last = add;
        }
      }
    OpBuilder b(last);
    auto fused = DequantMatMulOp::create(
        b, FusedLoc::get(&getContext(), locations), resultType, mm.getLhs(),
        dq.getInput(), bias, b.getBoolAttr(transB));
    last->getResult(0).replaceAllUsesWith(fused.getResult());
    if (last != mm)
      last->erase();
    mm->erase();
    if (dq->use_empty())
      dq->erase();
    return true;
  }
};

} // namespace
