// Kernels of the reference interpreter, one function per qg op family.
// Private to codegen/reference.
#ifndef QCC_CODEGEN_REFERENCE_KERNELS_H
#define QCC_CODEGEN_REFERENCE_KERNELS_H

#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"

namespace qcc::ref {

/// Row-major strides of a shape.
llvm::SmallVector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape);
/// Element count of a shape.
int64_t countOf(llvm::ArrayRef<int64_t> shape);
/// A zero tensor of a static ranked type.
Tensor zeros(mlir::Type type);

/// Maps the flat index of an element of `outShape` to the flat index of the
/// element of a tensor of `inShape` that numpy broadcasting reads there.
class BroadcastMap {
public:
  BroadcastMap(llvm::ArrayRef<int64_t> inShape,
               llvm::ArrayRef<int64_t> outShape);
  int64_t operator()(int64_t outIndex) const;

private:
  llvm::SmallVector<int64_t> outShape, inStrides; // inStrides 0 where broadcast
};

/// numpy matmul of f32/f64/integer tensors into `result` (its type and
/// shape set), summing in double and rounding to the result type.
Tensor matmul(const Tensor &lhs, const Tensor &rhs, Tensor result);

/// `x` with its dims permuted: result dim i is x's dim perm[i].
Tensor permuted(const Tensor &x, llvm::ArrayRef<int64_t> perm);

mlir::FailureOr<Tensor> evalQuantOp(mlir::Operation *op,
                                    llvm::ArrayRef<Tensor> operands);
mlir::FailureOr<std::vector<Tensor>>
evalDynamicQuantize(mlir::Operation *op, llvm::ArrayRef<Tensor> operands);
mlir::FailureOr<Tensor> evalElementwise(mlir::Operation *op,
                                        llvm::ArrayRef<Tensor> operands);
mlir::FailureOr<Tensor> evalNormalization(mlir::Operation *op,
                                          llvm::ArrayRef<Tensor> operands);
mlir::FailureOr<Tensor> evalContraction(mlir::Operation *op,
                                        llvm::ArrayRef<Tensor> operands);
mlir::FailureOr<Tensor> evalDataMovement(mlir::Operation *op,
                                         llvm::ArrayRef<Tensor> operands);

} // namespace qcc::ref

#endif // QCC_CODEGEN_REFERENCE_KERNELS_H
