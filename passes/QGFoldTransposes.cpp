// qg-fold-transposes: transposes feeding matmul and gemm operands become
// operand layouts, so the product reads the data in place instead of
// through a copy.
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/SetVector.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGFOLDTRANSPOSES
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc::qg;

namespace {

bool isIdentity(ArrayRef<int64_t> perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i))
      return false;
  return true;
}

class FoldTransposesPass
    : public qcc::qg::impl::QGFoldTransposesBase<FoldTransposesPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> users;
    getOperation().walk([&](Operation *op) {
      if (isa<MatMulOp, GemmOp>(op))
        users.push_back(op);
    });
    SmallVector<TransposeOp> folded;
    for (Operation *op : users) {
      // A chain of transposes folds one link at a time.
      for (unsigned index : {0u, 1u}) {
        if (auto mm = dyn_cast<MatMulOp>(op))
          while (foldMatMulOperand(mm, index, folded)) {
          }
        else
          while (foldGemmOperand(cast<GemmOp>(op), index, folded)) {
          }
      }
    }
    // Erase what is left without users; a transpose in a chain loses its
    // last user when the one after it goes.
    llvm::SetVector<Operation *> dead;
    for (TransposeOp t : folded)
      dead.insert(t);
    for (bool erased = true; erased;) {
      erased = false;
      for (Operation *t : dead.takeVector()) {
        if (t->use_empty()) {
          t->erase();
          erased = true;
        } else {
          dead.insert(t);
        }
      }
    }
  }

private:
  bool foldMatMulOperand(MatMulOp mm, unsigned index,
                         SmallVectorImpl<TransposeOp> &folded) {
    auto t = mm->getOperand(index).getDefiningOp<TransposeOp>();
    if (!t)
      return false;
    ArrayRef<int64_t> inner = t.getPerm();
    std::optional<ArrayRef<int64_t>> outer =
        index == 0 ? mm.getLhsPerm() : mm.getRhsPerm();
    // The product reads transpose(transpose(x, inner), outer): its dim i is
    // x's dim inner[outer[i]].
    SmallVector<int64_t> perm;
    for (size_t i = 0; i < inner.size(); ++i)
      perm.push_back(inner[outer ? (*outer)[i] : i]);
    DenseI64ArrayAttr attr =
        isIdentity(perm) ? DenseI64ArrayAttr()
                         : DenseI64ArrayAttr::get(mm.getContext(), perm);
    mm->setOperand(index, t.getInput());
    if (index == 0)
      mm.setLhsPermAttr(attr);
    else
      mm.setRhsPermAttr(attr);
    if (!attr)
      mm->removeAttr(index == 0 ? mm.getLhsPermAttrName()
                                : mm.getRhsPermAttrName());
    folded.push_back(t);
    ++numFolded;
    return true;
  }

  bool foldGemmOperand(GemmOp gemm, unsigned index,
                       SmallVectorImpl<TransposeOp> &folded) {
    auto t = gemm->getOperand(index).getDefiningOp<TransposeOp>();
    if (!t || t.getPerm().size() != 2 || isIdentity(t.getPerm()))
      return false;
    gemm->setOperand(index, t.getInput());
    OpBuilder b(gemm);
    if (index == 0)
      gemm.setTransAAttr(b.getBoolAttr(!gemm.getTransA()));
    else
      gemm.setTransBAttr(b.getBoolAttr(!gemm.getTransB()));
    folded.push_back(t);
    ++numFolded;
    return true;
  }
};

} // namespace
