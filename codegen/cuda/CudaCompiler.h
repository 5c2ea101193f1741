// The CUDA backend's driver: the emitted CUDA C++ (CudaEmitter.h) compiled
// by NVRTC to PTX for each requested architecture, in process, and written
// into a .qpkg with the manifest and weights (the same container as the CPU
// backend; the PTX goes to a Ptx section, runtime/package/PtxModules.h).
#ifndef QCC_CODEGEN_CUDA_CUDACOMPILER_H
#define QCC_CODEGEN_CUDA_CUDACOMPILER_H

#include "runtime/package/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qcc::cuda {

/// "sm_80,sm_90", the default architectures.
inline constexpr const char *kDefaultArchs = "sm_80,sm_90";

/// Splits and checks an architecture list ("sm_80,sm_90"); returns an empty
/// string or the reason it is invalid.
std::string parseArchs(const std::string &list, std::vector<std::string> &out);

/// Whether this build has NVRTC (the CUDA toolkit was found).
bool haveNvrtc();

/// Compiles CUDA C++ to PTX for `arch` ("sm_80"). Returns an empty string,
/// or the reason with NVRTC's log.
std::string compileToPtx(const std::string &source, const std::string &name,
                         const std::string &arch, std::string &ptx);

/// The function's CUDA C++ (for --emit=cuda).
mlir::FailureOr<std::string> emitSource(mlir::func::FuncOp function);

/// Everything: the bytes of a .qpkg holding PTX for each of `archs`.
/// `modelName` goes to the manifest; `ptxOut`, when given, receives the PTX
/// of each arch in order.
mlir::FailureOr<std::vector<uint8_t>>
compilePackage(mlir::func::FuncOp function,
               const std::vector<std::string> &archs,
               const std::string &modelName, pkg::Manifest *manifest = nullptr,
               std::vector<std::string> *ptxOut = nullptr);

} // namespace qcc::cuda

#endif // QCC_CODEGEN_CUDA_CUDACOMPILER_H
