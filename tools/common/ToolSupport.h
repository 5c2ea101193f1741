// Shared pieces of qcc's command-line tools: diagnostics that name the ONNX
// node, and output files that never stay behind half-written.
#ifndef QCC_TOOLS_COMMON_TOOLSUPPORT_H
#define QCC_TOOLS_COMMON_TOOLSUPPORT_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <memory>

namespace qcc::tools {

/// "model.onnx: node 'conv1'" for a node location, the file for others.
std::string describeLocation(mlir::Location loc);

/// "error", "warning", "remark" or "note".
const char *severityName(mlir::DiagnosticSeverity severity);

/// Prints diagnostics as "<severity>: <where>: <message>" on stderr.
class DiagnosticPrinter {
public:
  explicit DiagnosticPrinter(mlir::MLIRContext &context);
  int errorCount() const { return errors; }

private:
  mlir::ScopedDiagnosticHandler handler;
  int errors = 0;
};

/// Writes `path` (or stdout for "-") through `write`; the file appears only
/// if `write` succeeds, so a failure never leaves a partial file.
bool writeOutputAtomically(
    llvm::StringRef path, const std::function<bool(llvm::raw_ostream &)> &write,
    std::string &error);

} // namespace qcc::tools

#endif // QCC_TOOLS_COMMON_TOOLSUPPORT_H
