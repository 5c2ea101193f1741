// The operations of the qg dialect.
#ifndef QCC_DIALECTS_QG_QGOPS_H
#define QCC_DIALECTS_QG_QGOPS_H

#include "dialects/qg/QGDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/qg/QGOps.h.inc"

namespace qcc::qg {
/// Whether a 2-D quantized weight, [K, N] (or [N, K] with `transB`), is one
/// that qg.dequant_matmul's kernels take: uint4/int4/NF4 in blocks along K,
/// or uint8/int8 per tensor, per output channel or in blocks along K,
/// without double quantization.
bool isWeightOnlyWeight(mlir::RankedTensorType weightType, bool transB);
} // namespace qcc::qg

#endif // QCC_DIALECTS_QG_QGOPS_H
