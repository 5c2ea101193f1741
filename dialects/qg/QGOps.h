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

#endif // QCC_DIALECTS_QG_QGOPS_H
