// Outlining of the generated kernels' parallel loops for the runtime's
// thread pool (ParallelKernels.h).
#include "codegen/cpu/ParallelKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace qcc::cpu {
namespace {

/// The iterations of `loop` over all its dimensions, when every bound and
/// step is a constant.
std::optional<int64_t> staticIterations(scf::ParallelOp loop) {
  int64_t total = 1;
  for (auto [lb, ub, step] :
       llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    std::optional<int64_t> l = getConstantIntValue(lb),
                           u = getConstantIntValue(ub),
                           s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0)
      return std::nullopt;
    total *= *u > *l ? (*u - *l + *s - 1) / *s : 0;
  }
  return total;
}

/// The ops outside `loop` that it needs (its bounds and the values its body
/// uses), in program order, if each is free of side effects and without
/// regions and the only block arguments reached are the kernel's arena and
/// weights (its first two arguments).
std::optional<SmallVector<Operation *>> outsideSlice(scf::ParallelOp loop,
                                                     func::FuncOp kernel) {
  llvm::SetVector<Value> roots;
  getUsedValuesDefinedAbove(loop->getRegions(), roots);
  roots.insert(loop->getOperands().begin(), loop->getOperands().end());
  llvm::SetVector<Operation *> slice;
  SmallVector<Value> work(roots.begin(), roots.end());
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner() != &kernel.getBody().front() || arg.getArgNumber() > 1)
        return std::nullopt;
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (def->getNumRegions() != 0 || !isMemoryEffectFree(def))
      return std::nullopt;
    if (!slice.insert(def))
      continue;
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  SmallVector<Operation *> ordered(slice.begin(), slice.end());
  llvm::sort(ordered,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
}

/// @<kernel>_part<i>(arena, weights, begin, end): the iterations [begin,
/// end) of the loop's outermost dimension, counted from its lower bound.
func::FuncOp outline(scf::ParallelOp loop, func::FuncOp kernel,
                     ArrayRef<Operation *> slice, FunctionType type,
                     unsigned number) {
  OpBuilder b(kernel);
  Location loc = loop.getLoc();
  auto part = func::FuncOp::create(
      b, loc, (kernel.getName() + "_part" + std::to_string(number)).str(),
      type);
  part.setPrivate();
  Block *body = part.addEntryBlock();
  b.setInsertionPointToStart(body);
  IRMapping map;
  map.map(kernel.getArgument(0), body->getArgument(0));
  map.map(kernel.getArgument(1), body->getArgument(1));
  for (Operation *op : slice)
    b.clone(*op, map);
  Value lb = map.lookup(loop.getLowerBound()[0]);
  Value ub = map.lookup(loop.getUpperBound()[0]);
  Value step = map.lookup(loop.getStep()[0]);
  Value begin = arith::AddIOp::create(
      b, loc, lb, arith::MulIOp::create(b, loc, body->getArgument(2), step));
  Value end = arith::MinSIOp::create(
      b, loc, ub,
      arith::AddIOp::create(
          b, loc, lb,
          arith::MulIOp::create(b, loc, body->getArgument(3), step)));
  auto cloned = cast<scf::ParallelOp>(b.clone(*loop, map));
  cloned.getLowerBoundMutable()[0].assign(begin);
  cloned.getUpperBoundMutable()[0].assign(end);
  func::ReturnOp::create(b, loc);
  return part;
}

} // namespace

LogicalResult outlineParallelLoops(ModuleOp module, StringRef entryName) {
  auto entry = module.lookupSymbol<func::FuncOp>(entryName);
  if (!entry || entry.getNumArguments() != 4)
    return module.emitError("CPU backend: internal error: no entry ")
           << entryName << " with four arguments to parallelize";
  MLIRContext *ctx = module.getContext();
  Location loc = entry.getLoc();
  Type i64 = IntegerType::get(ctx, 64), index = IndexType::get(ctx);
  Type arenaType = entry.getArgument(1).getType(),
       weightsType = entry.getArgument(2).getType();
  auto partType =
      FunctionType::get(ctx, {arenaType, weightsType, index, index}, {});
  auto parallelType = FunctionType::get(
      ctx, {i64, partType, arenaType, weightsType, index}, {});
  if (failed(entry.insertArgument(4, parallelType, {}, loc)))
    return failure();
  Value context = entry.getArgument(0), parallel = entry.getArgument(4);

  SmallVector<func::CallOp> calls;
  entry.walk([&](func::CallOp call) { calls.push_back(call); });
  for (func::CallOp call : calls) {
    auto kernel = module.lookupSymbol<func::FuncOp>(call.getCallee());
    if (!kernel || !kernel.isPrivate() || kernel.getNumArguments() != 2 ||
        call.getOperand(0) != entry.getArgument(1) ||
        call.getOperand(1) != entry.getArgument(2))
      continue;
    struct Candidate {
      scf::ParallelOp loop;
      SmallVector<Operation *> slice;
    };
    SmallVector<Candidate> candidates;
    for (Operation &op : kernel.getBody().front()) {
      auto loop = dyn_cast<scf::ParallelOp>(op);
      if (!loop || loop.getNumResults() != 0)
        continue;
      std::optional<int64_t> iterations = staticIterations(loop);
      if (!iterations || *iterations < kParallelMinIterations)
        continue;
      if (std::optional<SmallVector<Operation *>> slice =
              outsideSlice(loop, kernel))
        candidates.push_back({loop, std::move(*slice)});
    }
    if (candidates.empty())
      continue;
    if (failed(kernel.insertArguments({2, 2}, {i64, parallelType}, {{}, {}},
                                      {loc, loc})))
      return failure();
    Value kernelContext = kernel.getArgument(2),
          kernelParallel = kernel.getArgument(3);
    for (auto [i, c] : llvm::enumerate(candidates)) {
      func::FuncOp part =
          outline(c.loop, kernel, c.slice, partType, static_cast<unsigned>(i));
      OpBuilder b(c.loop);
      Location l = c.loop.getLoc();
      // The outermost dimension's trip count; the parts count from 0.
      Value span = arith::SubIOp::create(b, l, c.loop.getUpperBound()[0],
                                         c.loop.getLowerBound()[0]);
      Value n = arith::CeilDivSIOp::create(b, l, span, c.loop.getStep()[0]);
      Value fn =
          func::ConstantOp::create(b, l, partType, SymbolRefAttr::get(part));
      func::CallIndirectOp::create(b, l, kernelParallel,
                                   ValueRange{kernelContext, fn,
                                              kernel.getArgument(0),
                                              kernel.getArgument(1), n});
      c.loop.erase();
    }
    OpBuilder b(call);
    func::CallOp::create(
        b, call.getLoc(), kernel,
        ValueRange{call.getOperand(0), call.getOperand(1), context, parallel});
    call.erase();
  }
  return success();
}

} // namespace qcc::cpu
