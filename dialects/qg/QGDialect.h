// The qg dialect and its quantized element type.
#ifndef QCC_DIALECTS_QG_QGDIALECT_H
#define QCC_DIALECTS_QG_QGDIALECT_H

#include "runtime/numerics/Numerics.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"

#include "dialects/qg/QGDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/qg/QGTypes.h.inc"

namespace qcc::qg {

/// The quantized element type of a shaped type, or null.
QuantType getQuantElementType(mlir::Type type);

/// Checks every quantized tensor among an op's operands and results against
/// its scale tables (shape-dependent rules the element type cannot check).
llvm::LogicalResult verifyQuantizedTensors(mlir::Operation *op);

template <typename ConcreteType>
class VerifiesQuantizedTensors
    : public mlir::OpTrait::TraitBase<ConcreteType, VerifiesQuantizedTensors> {
public:
  static llvm::LogicalResult verifyTrait(mlir::Operation *op) {
    return verifyQuantizedTensors(op);
  }
};

} // namespace qcc::qg

#endif // QCC_DIALECTS_QG_QGDIALECT_H
