// The one place that lists the dialects and passes qcc's tools load, so
// qopt and the qcc driver always agree.
#ifndef QCC_PASSES_REGISTRATION_H
#define QCC_PASSES_REGISTRATION_H

namespace mlir {
class DialectRegistry;
class OpPassManager;
} // namespace mlir

namespace qcc {

/// qg plus the upstream dialects qcc lowers through.
void registerDialects(mlir::DialectRegistry &registry);

/// qg-prepare: fold batch norms, fold constants, canonicalize.
void buildPreparePipeline(mlir::OpPassManager &pm);

/// qg-fuse: the fusion passes the compiler runs before code generation
/// (quantized layers into integer ops, transposes into operand layouts,
/// 4-bit weight-only matmuls, elementwise chains).
void buildFusionPipeline(mlir::OpPassManager &pm);

/// Every qg pass, plus the upstream generic transforms (canonicalize, cse).
void registerPasses();

} // namespace qcc

#endif // QCC_PASSES_REGISTRATION_H
