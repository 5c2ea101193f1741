// Registration of qcc's dialects and passes for the tools.
#include "passes/Registration.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

void qcc::registerDialects(mlir::DialectRegistry &registry) {
  registry.insert<qcc::qg::QGDialect, mlir::arith::ArithDialect,
                  mlir::func::FuncDialect, mlir::LLVM::LLVMDialect,
                  mlir::linalg::LinalgDialect, mlir::quant::QuantDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect,
                  mlir::vector::VectorDialect>();
}

void qcc::buildPreparePipeline(mlir::OpPassManager &pm) {
  pm.addPass(qcc::qg::createQGFoldBatchNorm());
  pm.addPass(mlir::createCanonicalizerPass());
  pm.addPass(qcc::qg::createQGFoldConstants());
  pm.addPass(mlir::createCanonicalizerPass());
}

void qcc::buildFusionPipeline(mlir::OpPassManager &pm) {
  pm.addPass(qcc::qg::createQGFuseQuantizedLayers());
  pm.addPass(qcc::qg::createQGFoldTransposes());
  pm.addPass(qcc::qg::createQGFuseWeightOnly());
  pm.addPass(qcc::qg::createQGFuseElementwise());
}

void qcc::registerPasses() {
  qcc::qg::registerQGPasses();
  mlir::PassPipelineRegistration<>(
      "qg-prepare",
      "Prepare a float graph for quantization: fold batch norms into convs "
      "and gemms, fold constants, canonicalize",
      buildPreparePipeline);
  mlir::PassPipelineRegistration<>(
      "qg-fuse",
      "Fuse for code generation: quantized layers into integer ops, "
      "transposes into matmul operand layouts, 4-bit and 8-bit weight-only "
      "matmuls into dequant_matmul, elementwise chains into one loop each",
      buildFusionPipeline);
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
}
