// The ONNX importer's state, shared by the driver (OnnxImporter.cpp) and the
// per-op handlers (OnnxOps.cpp). Private to importers/onnx.
#ifndef QCC_IMPORTERS_ONNX_IMPORTERIMPL_H
#define QCC_IMPORTERS_ONNX_IMPORTERIMPL_H

#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "importers/onnx/OnnxImporter.h"

#include "mlir/IR/Builders.h"

#include <functional>
#include <unordered_map>

namespace qcc::onnx {

class Importer {
public:
  Importer(const Model &model, mlir::MLIRContext &context,
           const ImportOptions &options);

  mlir::OwningOpRef<mlir::ModuleOp> run();

  //===--------------------------------------------------------------------===//
  // For the op handlers: the node being imported and its values.
  //===--------------------------------------------------------------------===//

  const Model &model;
  mlir::MLIRContext &context;
  const ImportOptions &options;
  mlir::OpBuilder builder;
  const Node *node = nullptr;
  mlir::Location loc;

  /// An error at the current node.
  mlir::InFlightDiagnostic error();

  bool hasInput(size_t index) const;
  /// The value of input `index`, materializing known constants.
  mlir::FailureOr<mlir::Value> input(size_t index);
  /// Like input(), but a null Value when the optional input is absent.
  mlir::FailureOr<mlir::Value> optionalInput(size_t index);
  /// The constant value of input `index`, or null if it is computed at run
  /// time (or absent).
  const ref::Tensor *knownInput(size_t index) const;
  /// Input `index` as a list of integers; it must be a known constant.
  mlir::FailureOr<std::vector<int64_t>> knownInts(size_t index,
                                                  llvm::StringRef what);

  /// Binds output `index` of the current node.
  void define(size_t index, mlir::Value value);
  /// Binds output `index` to a constant computed at import time.
  void defineKnown(size_t index, ref::Tensor value);
  /// True when the node's output `index` exists and is used by name.
  bool hasOutput(size_t index) const;

  /// A qg.constant holding `value`.
  mlir::Value constant(const ref::Tensor &value);
  /// A scalar or 1-D f32-like constant of `elementType`.
  mlir::Value scalarConstant(mlir::Type elementType, double value,
                             llvm::ArrayRef<int64_t> shape = {});

  /// Gives a freshly built op its inferred result type and verifies it; on
  /// failure the op is erased and diagnostics have been emitted.
  mlir::FailureOr<mlir::Value> finish(mlir::Operation *op);

  /// Builds an op of type OpT with a placeholder result type, then infers
  /// the real one (see finish).
  template <typename OpT, typename... Args>
  mlir::FailureOr<mlir::Value> make(mlir::Type resultType, Args &&...args) {
    auto op = OpT::create(builder, loc, resultType, std::forward<Args>(args)...);
    return finish(op.getOperation());
  }

  mlir::FailureOr<mlir::Type> elementType(DataType type);
  static mlir::RankedTensorType tensorType(mlir::Value value) {
    return llvm::cast<mlir::RankedTensorType>(value.getType());
  }

private:
  mlir::LogicalResult importNode(const Node &node);
  mlir::FailureOr<mlir::Value> materialize(const std::string &name);

  std::unordered_map<std::string, mlir::Value> values;
  std::unordered_map<std::string, ref::Tensor> known;
  std::unordered_map<std::string, int> useCounts;
  int resourceCounter = 0;
};

/// Imports the current node of `importer`.
using OpHandler = std::function<mlir::LogicalResult(Importer &)>;

/// A handler and the check that decides whether a node is supported.
struct OpSupport {
  OpHandler handler;
  /// Returns why the node cannot be imported, or "" if it can.
  std::function<std::string(const Node &, const Model &)> check;
  /// Operand positions that must be constants known at import time.
  std::vector<size_t> constantInputs;
};

/// Handlers by op type for the default domain, and "domain:op" otherwise.
const std::map<std::string, OpSupport> &opHandlers();

} // namespace qcc::onnx

#endif // QCC_IMPORTERS_ONNX_IMPORTERIMPL_H
