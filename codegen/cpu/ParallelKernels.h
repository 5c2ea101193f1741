// Threads inside generated kernels: the top-level parallel loops of each
// generated kernel function are outlined into functions over a range of
// their outermost dimension, and the kernel hands them to the runtime's
// thread pool through a callback instead of running them itself.
#ifndef QCC_CODEGEN_CPU_PARALLELKERNELS_H
#define QCC_CODEGEN_CPU_PARALLELKERNELS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringRef.h"

namespace qcc::cpu {

/// Loops with fewer iterations (over all their parallel dimensions) than
/// this run on the calling thread: waking the pool costs microseconds.
inline constexpr int64_t kParallelMinIterations = int64_t{1} << 14;

/// Runs after linalg has become scf.parallel loops. The entry `entryName`
/// (context, arena, weights, call) gains a last argument `parallel` of type
/// (i64 context, (arena, weights, index begin, index end) -> (), arena,
/// weights, index n) -> (). Every private function the entry calls with
/// (arena, weights) whose body holds a top-level scf.parallel without
/// results, at least kParallelMinIterations iterations and only side-effect
/// free values from above, gets (context, parallel) as extra arguments;
/// each such loop becomes a function `<kernel>_part<i>` that runs the
/// iterations [begin, end) of its outermost dimension, and a call
/// parallel(context, @part, arena, weights, n) with n that dimension's trip
/// count. The runtime may split [0, n) over threads in any way.
mlir::LogicalResult outlineParallelLoops(mlir::ModuleOp module,
                                         llvm::StringRef entryName);

} // namespace qcc::cpu

#endif
