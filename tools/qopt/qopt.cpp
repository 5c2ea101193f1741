// qopt: mlir-opt with the qg dialect and every qcc pass.
#include "passes/Registration.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  qcc::registerDialects(registry);
  qcc::registerPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "qopt: the qcc optimizer driver for the qg dialect\n",
      registry));
}
