// Registration of the qg dialect.
#include "dialects/qg/QGDialect.h"
#include "dialects/qg/QGOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace qcc::qg;

#include "dialects/qg/QGDialect.cpp.inc"

void QGDialect::initialize() {
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "dialects/qg/QGOps.cpp.inc"
      >();
}

Operation *QGDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!elements || !tensorType)
    return nullptr;
  return ConstantOp::create(builder, loc, tensorType, elements);
}
