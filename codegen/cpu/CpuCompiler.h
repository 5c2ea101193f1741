// The CPU backend's compiler: a qg function (after fusion) becomes a .qpkg
// package, in three steps that can each be looked at on their own:
//
//   1. planMemory: every activation gets a fixed offset in one arena, and a
//      buffer is reused once its last reader has run; reshapes alias their
//      input. Constants go to the weights section.
//   2. lowerToLoops: a module in upstream dialects (func, linalg, memref,
//      scf, arith, math) with one function, qcc_model_run(ctx, arena,
//      weights, call). Elementwise ops become linalg.generic over views of
//      the arena, windowed ops scf loops; the integer layers (qg.qlinear,
//      qg.qconv2d) become calls, through `call`, into the runtime's
//      micro-kernels, whose parameters go to the manifest.
//   3. lowerToLLVM + emitSharedObject: linalg becomes scf.parallel loops,
//      the large ones of which are outlined for the runtime's thread pool
//      (ParallelKernels.h: the entry gains a `parallel` callback); then the
//      usual conversions to the LLVM dialect, LLVM's optimizer and code
//      generator and lld, in process.
//
// An op the backend cannot lower is an error at that op's location.
#ifndef QCC_CODEGEN_CPU_CPUCOMPILER_H
#define QCC_CODEGEN_CPU_CPUCOMPILER_H

#include "codegen/cpu/ObjectEmitter.h"
#include "runtime/package/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qcc::cpu {

inline constexpr const char *kEntryName = "qcc_model_run";

/// Steps 1 and 2: the loop-level module, the manifest (without target) and
/// the weights section. Registers the upstream dialects it needs.
struct LoweredModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  pkg::Manifest manifest;
  std::vector<uint8_t> weights;
};
mlir::FailureOr<LoweredModel> lowerToLoops(mlir::func::FuncOp function);

/// Step 3a: converts the loop-level module to the LLVM dialect in place.
mlir::LogicalResult lowerToLLVM(mlir::ModuleOp module);

/// Everything: the bytes of a .qpkg file. `modelName` goes to the manifest.
mlir::FailureOr<std::vector<uint8_t>>
compilePackage(mlir::func::FuncOp function, const CpuTarget &target,
               const std::string &modelName, pkg::Manifest *manifest = nullptr);

} // namespace qcc::cpu

#endif // QCC_CODEGEN_CPU_CPUCOMPILER_H
