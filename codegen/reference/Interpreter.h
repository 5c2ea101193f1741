// The reference interpreter: executes a qg function op by op, exactly by
// DESIGN.md section 3, with plain loops. It is the golden semantics that
// every pass and backend is tested against, so it favours being obviously
// right over being fast.
#ifndef QCC_CODEGEN_REFERENCE_INTERPRETER_H
#define QCC_CODEGEN_REFERENCE_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <functional>
#include <vector>

namespace qcc::ref {

/// A tensor during interpretation. Every element is held as a double, which
/// represents f64/f32/f16/bf16 values, integers up to 2^53 and the stored
/// codes of quantized tensors exactly. Values of a float type are always
/// rounded to that type after each op.
struct Tensor {
  mlir::Type elementType; ///< float, integer or !qg.quant
  llvm::SmallVector<int64_t> shape;
  std::vector<double> data;

  int64_t size() const { return static_cast<int64_t>(data.size()); }
};

/// Hooks into a run. Calibration uses afterOp to see the values of
/// qg.observe ops; the quantization report uses it to compare each layer's
/// output between the float and the quantized graph.
struct RunOptions {
  /// Called after each op of the function body with its result values.
  std::function<void(mlir::Operation *, llvm::ArrayRef<Tensor>)> afterOp;
};

/// Runs `function` on `inputs`, which must match its argument types. Errors
/// are reported as diagnostics at the op that failed.
mlir::FailureOr<std::vector<Tensor>> run(mlir::func::FuncOp function,
                                         llvm::ArrayRef<Tensor> inputs,
                                         const RunOptions &options = {});

/// Evaluates one qg op on the given operand values (constant folding in the
/// importer uses this too).
mlir::FailureOr<std::vector<Tensor>> evaluate(mlir::Operation *op,
                                              llvm::ArrayRef<Tensor> operands);

/// The value of a constant attribute (float, integer, or quantized codes when
/// `type` has a !qg.quant element type).
mlir::FailureOr<Tensor> fromAttribute(mlir::ElementsAttr value,
                                      mlir::RankedTensorType type);

/// A constant attribute holding `value` (float or integer element type). f32
/// tensors with more than `inlineLimit` elements go into a dense_resource
/// blob named after `resourceName` (made unique by the context).
mlir::ElementsAttr toAttribute(const Tensor &value, int64_t inlineLimit,
                               llvm::StringRef resourceName);

/// Rounds `value` to what `type` can hold: float types round to nearest
/// even, integers truncate toward zero and saturate, i1 is `value != 0`.
double roundToType(mlir::Type type, double value);

} // namespace qcc::ref

#endif // QCC_CODEGEN_REFERENCE_INTERPRETER_H
