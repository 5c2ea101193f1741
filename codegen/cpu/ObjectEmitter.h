// CPU code generation's last step: an MLIR module in the LLVM dialect
// becomes a position-independent x86-64 shared object, in process: LLVM's
// optimizer and TargetMachine emit the object (no llc), and lld, linked in
// as a library, turns it into a shared object (no external linker).
#ifndef QCC_CODEGEN_CPU_OBJECTEMITTER_H
#define QCC_CODEGEN_CPU_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qcc::cpu {

/// What to generate code for. An empty `cpu` means this machine's CPU and
/// its features (`--cpu=native`); `features` adds or removes LLVM features,
/// e.g. "+avx512f,-avx512vnni".
struct CpuTarget {
  std::string cpu;
  std::string features;
  int optLevel = 2; ///< 0..3
};

struct SharedObject {
  std::vector<uint8_t> bytes;
  std::string triple, cpu, features; ///< as resolved, for the manifest
};

/// Translates `module` (LLVM dialect only) to LLVM IR, optimizes it, emits an
/// object for `target` and links it with lld into a shared object. Returns
/// an empty string on success, otherwise what went wrong (an unknown CPU
/// name or feature, a translation or link error).
std::string emitSharedObject(mlir::ModuleOp module, const CpuTarget &target,
                             SharedObject &out);

/// The LLVM IR of `module` after LLVM's optimizer ran for `target`: what the
/// code generator would see (for inspection and tests).
std::string emitOptimizedIR(mlir::ModuleOp module, const CpuTarget &target,
                            std::string &ir);

} // namespace qcc::cpu

#endif // QCC_CODEGEN_CPU_OBJECTEMITTER_H
