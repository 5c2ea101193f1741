// Declarations of the qg passes, generated from Passes.td.
#ifndef QCC_PASSES_PASSES_H
#define QCC_PASSES_PASSES_H

#include "dialects/qg/QGDialect.h"

#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace qcc::qg {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace qcc::qg

#endif // QCC_PASSES_PASSES_H
