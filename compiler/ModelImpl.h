// What a compiler::Model holds, and the diagnostics collector every API call
// runs under. Internal to the compiler library: it includes MLIR.
#ifndef QCC_COMPILER_MODELIMPL_H
#define QCC_COMPILER_MODELIMPL_H

#include "qcc/compiler.hpp"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>

#include <memory>
#include <optional>
#include <string>

namespace qcc::compiler {

struct Model::Impl {
  /// Shared by a model and the models quantize() makes from it.
  std::shared_ptr<mlir::MLIRContext> context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string source;
  /// The ONNX model it was imported from, for QDQ export: a path, or the
  /// bytes when it was imported from memory.
  std::string onnxPath;
  std::shared_ptr<const std::string> onnxBytes;
  std::optional<Report> report;
  bool noMatMulNBits = false;
  std::vector<Diagnostic> warnings;

  /// A copy sharing the context (the module is cloned).
  std::unique_ptr<Impl> clone() const;
};

/// Collects the diagnostics emitted on `context` while it lives.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &context);
  /// An Error from what was collected; `fallback` is the message when no
  /// error diagnostic was emitted.
  Error error(const std::string &fallback) const;
  /// The warnings collected so far.
  std::vector<Diagnostic> warnings() const;

private:
  std::vector<Diagnostic> diagnostics;
  mlir::ScopedDiagnosticHandler handler;
};

/// An Error with just a message.
Error makeError(const std::string &message);

/// The ONNX node names a location carries (several after fusion).
void collectNodeNames(mlir::Location loc, std::vector<std::string> &names);

/// Writes `path` through `write`; the file appears only when complete.
Status writeFile(const std::string &path,
                 const std::function<void(llvm::raw_ostream &)> &write);

/// A fresh context with qg and the upstream dialects qcc uses; also
/// registers qcc's passes once per process.
std::shared_ptr<mlir::MLIRContext> makeContext();

/// Access for the translation units that implement Model.
struct ModelAccess {
  static Model make(std::unique_ptr<Model::Impl> impl) {
    return Model(std::move(impl));
  }
  static const Model::Impl &get(const Model &model) { return *model.impl; }
};

/// The quantization pipeline (Quantize.cpp): quantizes `impl.module` in
/// place and sets `impl.report`.
Status quantizeModule(Model::Impl &impl, const SampleSet &calibration,
                      const QuantizeOptions &options,
                      const SampleSet &evaluation,
                      DiagnosticCollector &diagnostics);

/// Writes a quantized model as a QDQ ONNX model (Quantize.cpp).
Status exportQdq(const Model::Impl &impl, const std::string &path);

} // namespace qcc::compiler

#endif // QCC_COMPILER_MODELIMPL_H
