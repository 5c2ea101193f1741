// qg-fuse-elementwise: chains of elementwise ops become one
// qg.fused_elementwise each, which backends evaluate in one loop nest
// without storing the intermediate tensors.
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGFUSEELEMENTWISE
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

bool isF32OrQuant(Type type) {
  Type e = cast<RankedTensorType>(type).getElementType();
  return e.isF32() || isa<QuantType>(e);
}

/// An op the pass may put in a group: fusible, on f32 (or per-tensor
/// quantized codes), and not the dequantize of a constant (a weight, which
/// other fusions consume).
bool isCandidate(Operation *op) {
  if (!FusedElementwiseOp::isFusible(op) || op->getNumResults() != 1 ||
      !isF32OrQuant(op->getResult(0).getType()))
    return false;
  for (Value v : op->getOperands())
    if (!isF32OrQuant(v.getType()))
      return false;
  if (isa<DequantizeOp>(op) && op->getOperand(0).getDefiningOp<ConstantOp>())
    return false;
  return true;
}

/// A constant of one element, which the body holds itself.
bool isScalarConstant(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  return c && cast<RankedTensorType>(c.getType()).getNumElements() == 1 &&
         isF32OrQuant(c.getType());
}

class FuseElementwisePass
    : public qcc::qg::impl::QGFuseElementwiseBase<FuseElementwisePass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation().walk([&](func::FuncOp f) {
      if (!f.isDeclaration())
        blocks.push_back(&f.getBody().front());
    });
    for (Block *block : blocks)
      fuseIn(*block);
  }

private:
  void fuseIn(Block &block) {
    SmallVector<Operation *> ops;
    for (Operation &op : block)
      ops.push_back(&op);
    DenseSet<Operation *> grouped;
    for (Operation *root : llvm::reverse(ops)) {
      if (grouped.contains(root) || !isCandidate(root))
        continue;
      ArrayRef<int64_t> shape =
          cast<RankedTensorType>(root->getResult(0).getType()).getShape();
      llvm::SetVector<Operation *> group;
      group.insert(root);
      for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < group.size(); ++i)
          for (Value operand : group[i]->getOperands()) {
            Operation *producer = operand.getDefiningOp();
            if (!producer || group.contains(producer) ||
                grouped.contains(producer) ||
                producer->getBlock() != &block || !isCandidate(producer) ||
                cast<RankedTensorType>(operand.getType()).getShape() != shape)
              continue;
            if (llvm::all_of(producer->getUsers(), [&](Operation *user) {
                  return group.contains(user);
                })) {
              group.insert(producer);
              grew = true;
            }
          }
      }
      if (group.size() < 2)
        continue;
      for (Operation *op : group)
        grouped.insert(op);
      build(root, group);
    }
    for (Operation *constant : copiedConstants)
      if (constant->use_empty())
        constant->erase();
    copiedConstants.clear();
  }

  llvm::SetVector<Operation *> copiedConstants;

  void build(Operation *root, const llvm::SetVector<Operation *> &group) {
    SmallVector<Operation *> ordered(group.begin(), group.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    // Inputs: operands defined outside the group, in first-use order.
    llvm::SetVector<Value> inputs, scalars;
    for (Operation *op : ordered)
      for (Value operand : op->getOperands()) {
        Operation *producer = operand.getDefiningOp();
        if (producer && group.contains(producer))
          continue;
        if (isScalarConstant(operand))
          scalars.insert(operand);
        else
          inputs.insert(operand);
      }
    SmallVector<Location> locations;
    for (Operation *op : ordered)
      locations.push_back(op->getLoc());
    OpBuilder b(root);
    auto fused = FusedElementwiseOp::create(
        b, FusedLoc::get(&getContext(), locations),
        root->getResult(0).getType(), inputs.getArrayRef());
    Block *body = b.createBlock(&fused.getBody());
    IRMapping map;
    for (Value input : inputs)
      map.map(input, body->addArgument(input.getType(), input.getLoc()));
    b.setInsertionPointToStart(body);
    for (Value scalar : scalars)
      map.map(scalar, b.clone(*scalar.getDefiningOp())->getResult(0));
    for (Operation *op : ordered)
      b.clone(*op, map);
    YieldOp::create(b, root->getLoc(), map.lookup(root->getResult(0)));
    root->getResult(0).replaceAllUsesWith(fused.getResult());
    for (Operation *op : llvm::reverse(ordered))
      op->erase();
    // The copied constants go at the end of fuseIn (other groups may use
    // them, and the walk still holds them).
    for (Value scalar : scalars)
      copiedConstants.insert(scalar.getDefiningOp());
    ++numFused;
    numOps += ordered.size();
  }
};

} // namespace
