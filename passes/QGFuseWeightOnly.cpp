// qg-fuse-weight-only: matmul(x, dequantize(4-bit or 8-bit constant))
// (+ bias) becomes qg.dequant_matmul, which backends run without ever
// storing the f32 weights.
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

/// The dequantized constant weight of a matmul or gemm, when its format and
/// layout are ones qg.dequant_matmul takes.
DequantizeOp fusableWeight(Value rhs, bool transB) {
  auto dq = rhs.getDefiningOp<DequantizeOp>();
  if (!dq || !dq.getInput().getDefiningOp<ConstantOp>() ||
      !isWeightOnlyWeight(cast<RankedTensorType>(dq.getInput().getType()),
                          transB))
    return {};
  return dq;
}

/// Whether `v` is an f32 constant of shape [n], usable as the bias.
bool isBias(Value v, int64_t n) {
  auto type = cast<RankedTensorType>(v.getType());
  return v.getDefiningOp<ConstantOp>() && type.getRank() == 1 &&
         type.getDimSize(0) == n && type.getElementType().isF32();
}

class FuseWeightOnlyPass
    : public qcc::qg::impl::QGFuseWeightOnlyBase<FuseWeightOnlyPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp>(op))
        layers.push_back(op);
    });
    for (Operation *op : layers) {
      auto mm = dyn_cast<MatMulOp>(op);
      if (mm ? fuse(mm) : fuse(cast<GemmOp>(op)))
        ++numFused;
    }
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
    DequantizeOp dq = fusableWeight(mm.getRhs(), transB);
    if (!dq)
      return false;
    auto resultType = cast<RankedTensorType>(mm.getType());
    const int64_t n = resultType.getShape().back();
    // A following add of a constant [N] is the bias.
    Operation *last = mm;
    Value bias;
    if (mm->hasOneUse())
      if (auto add = dyn_cast<AddOp>(*mm->getUsers().begin())) {
        Value other =
            add.getLhs() == mm.getResult() ? add.getRhs() : add.getLhs();
        if (isBias(other, n) && add.getType() == resultType) {
          bias = other;
          last = add;
        }
      }
    return replace(mm, last, mm.getLhs(), dq, bias, transB);
  }

  /// ONNX Gemm, the linear layer: alpha = 1, A not transposed, and C absent
  /// or a constant [N] added with beta = 1.
  bool fuse(GemmOp gemm) {
    if (gemm.getAlpha().convertToFloat() != 1.0f || gemm.getTransA())
      return false;
    DequantizeOp dq = fusableWeight(gemm.getB(), gemm.getTransB());
    if (!dq)
      return false;
    auto resultType = cast<RankedTensorType>(gemm.getType());
    Value bias = gemm.getC();
    if (bias && (gemm.getBeta().convertToFloat() != 1.0f ||
                 !isBias(bias, resultType.getShape().back())))
      return false;
    return replace(gemm, gemm, gemm.getA(), dq, bias, gemm.getTransB());
  }

  /// Replaces `first` .. `last` (the layer and the add of its bias, if any)
  /// with one qg.dequant_matmul whose location fuses theirs and the
  /// dequantize's.
  bool replace(Operation *first, Operation *last, Value x, DequantizeOp dq,
               Value bias, bool transB) {
    // The kernels take rows of activations computed at run time: a 1-D or
    // constant input stays an ordinary matmul.
    auto inputType = cast<RankedTensorType>(x.getType());
    if (!inputType.getElementType().isF32() || inputType.getRank() < 2 ||
        x.getDefiningOp<ConstantOp>())
      return false;
    SmallVector<Location> locations{dq.getLoc(), first->getLoc()};
    if (last != first)
      locations.push_back(last->getLoc());
    OpBuilder b(last);
    auto fused = DequantMatMulOp::create(
        b, FusedLoc::get(&getContext(), locations),
        cast<RankedTensorType>(first->getResult(0).getType()), x, dq.getInput(),
        bias, b.getBoolAttr(transB));
    last->getResult(0).replaceAllUsesWith(fused.getResult());
    if (last != first)
      last->erase();
    first->erase();
    if (dq->use_empty())
      dq->erase();
    return true;
  }
};

} // namespace
