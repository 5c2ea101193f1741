// Rewrites the types of every value in a module in place, function
// signatures included. Shared by the passes that translate type systems.
#ifndef QCC_PASSES_REWRITETYPES_H
#define QCC_PASSES_REWRITETYPES_H

#include "mlir/IR/BuiltinOps.h"

namespace qcc::qg {

/// Calls `convert` on the type of every op result and block argument in
/// `module` and on every function signature type; `convert` returns the new
/// type (or the old one to keep it) and may report errors at the location
/// it is given. Returns failure if `convert` reported any error.
llvm::LogicalResult rewriteValueTypes(
    mlir::ModuleOp module,
    llvm::function_ref<mlir::FailureOr<mlir::Type>(mlir::Type, mlir::Location)>
        convert);

} // namespace qcc::qg

#endif // QCC_PASSES_REWRITETYPES_H
