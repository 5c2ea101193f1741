// ONNX -> qg: turns a validated ONNX model into one func.func of qg ops.
#ifndef QCC_IMPORTERS_ONNX_ONNXIMPORTER_H
#define QCC_IMPORTERS_ONNX_ONNXIMPORTER_H

#include "codegen/reference/Interpreter.h"
#include "importers/onnx/OnnxModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace qcc::onnx {

struct ImportOptions {
  /// Fixes graph input shapes (e.g. a symbolic batch), by input name.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Float initializers with more elements than this go into dense_resource
  /// blobs; smaller ones stay readable inline.
  int64_t inlineLimit = 64;
  /// Name of the generated function.
  std::string functionName = "main";
  /// Graph inputs to replace by these constant values (shape operands,
  /// quantization parameters and other inputs qcc needs at import time).
  std::map<std::string, Tensor> constantInputs;
};

/// Graph inputs that feed operands qcc must know at import time (a Reshape's
/// shape, a Slice's bounds, a QuantizeLinear's scale, ...): a model that
/// leaves them as inputs imports only once they are given as constants.
std::set<std::string> inputsNeededAsConstants(const Model &model);

/// The MLIR element type of an ONNX data type, or failure for types qcc does
/// not support (strings, complex numbers, FNUZ floats).
mlir::FailureOr<mlir::Type> convertDataType(DataType type,
                                            mlir::MLIRContext &context);

/// An ONNX tensor as a reference-interpreter value of `elementType`.
ref::Tensor toRefTensor(const Tensor &tensor, mlir::Type elementType);

/// One op type the importer cannot handle, with the nodes that use it.
struct UnsupportedOp {
  std::string opType;
  std::string domain;
  std::string reason; ///< why, when the op type is known but a use is not
  std::vector<std::string> nodes;
};

/// Every node the importer cannot handle, grouped by op type.
std::vector<UnsupportedOp> findUnsupportedOps(const Model &model);

/// Imports `model`. On failure returns null after reporting diagnostics
/// through `context` (each names the file, the node and the reason; an
/// unsupported model gets one error listing every unsupported op).
mlir::OwningOpRef<mlir::ModuleOp> importModel(const Model &model,
                                              mlir::MLIRContext &context,
                                              const ImportOptions &options);

} // namespace qcc::onnx

#endif // QCC_IMPORTERS_ONNX_ONNXIMPORTER_H
