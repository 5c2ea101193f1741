// Conversions between qg's !qg.quant and upstream MLIR's !quant.uniform
// types (per-tensor, per-axis and sub-channel), wherever both express the
// same thing. NF4 and FP8 have no upstream counterpart.
#ifndef QCC_DIALECTS_QG_QUANTINTEROP_H
#define QCC_DIALECTS_QG_QUANTINTEROP_H

#include "dialects/qg/QGDialect.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"

namespace qcc::qg {

/// !qg.quant -> !quant.uniform for a tensor of `shape`, expressed in
/// `expressedType`. Fails with a diagnostic when upstream cannot express it.
mlir::FailureOr<mlir::quant::QuantizedType>
convertToUpstream(QuantType type, llvm::ArrayRef<int64_t> shape,
                  mlir::Type expressedType,
                  llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

/// !quant.uniform -> !qg.quant for a tensor of `shape`. Fails with a
/// diagnostic for narrow storage ranges, scales not exact in f32, and
/// sub-channel layouts with more than one blocked axis.
mlir::FailureOr<QuantType>
convertFromUpstream(mlir::quant::QuantizedType type,
                    llvm::ArrayRef<int64_t> shape,
                    llvm::function_ref<mlir::InFlightDiagnostic()> emitError);

} // namespace qcc::qg

#endif // QCC_DIALECTS_QG_QUANTINTEROP_H
