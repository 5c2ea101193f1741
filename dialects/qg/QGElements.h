// Reading and writing the numbers inside ElementsAttr values (dense and
// dense_resource), shared by the type, the ops and the passes.
#ifndef QCC_DIALECTS_QG_QGELEMENTS_H
#define QCC_DIALECTS_QG_QGELEMENTS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Support/LLVM.h"

#include <cstdint>
#include <string>

namespace qcc::qg {

/// Float values of a float ElementsAttr, converted to f32. Fails for other
/// element types and for resources whose blob is not available.
mlir::FailureOr<llvm::SmallVector<float>> readFloats(mlir::ElementsAttr attr);

/// Integer values of an integer ElementsAttr, sign- or zero-extended by the
/// element type's signedness (signless counts as signed).
mlir::FailureOr<llvm::SmallVector<int64_t>>
readIntegers(mlir::ElementsAttr attr);

/// Stored codes of a quantized constant: integers for integer and NF4
/// storage, raw bytes for FP8. A 4-bit dense_resource blob is packed (see
/// qg.constant).
mlir::FailureOr<llvm::SmallVector<int32_t>> readCodes(mlir::ElementsAttr attr);

/// Builds a dense attribute of `type` (whose element type is a storage type)
/// holding `codes`.
mlir::DenseElementsAttr makeCodesAttr(mlir::RankedTensorType type,
                                      llvm::ArrayRef<int32_t> codes);

/// "[2, ?, 4]": a shape for diagnostics, with ? for dynamic dimensions.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

/// Builds a dense f32 attribute.
mlir::DenseElementsAttr makeFloatsAttr(mlir::MLIRContext *context,
                                       llvm::ArrayRef<int64_t> shape,
                                       llvm::ArrayRef<float> values);

} // namespace qcc::qg

#endif // QCC_DIALECTS_QG_QGELEMENTS_H
