// The CUDA backend's code generator: a fused qg function becomes CUDA C++
// with one kernel per op, specialized to that op's shapes, storage types,
// quantization parameters and arena offsets, plus the manifest and weights
// section that the runtime loads (the same package design as the CPU
// backend: codegen/common/ModelLayout.h).
//
// Every kernel has the signature
//   extern "C" __global__ void kN_op(unsigned char *arena,
//                                    const unsigned char *weights)
// and reads its tensors at constant offsets. The manifest lists the kernels
// in launch order with their grid and block (pkg::KernelKind::CudaKernel).
// What a kernel computes is chosen from the op's types and attributes:
// integer layers get a dp4a GEMM with their epilogue, 4-bit weight-only
// layers a GEMV (or tiled GEMM) that forms weights in registers with the
// group size and format as constants, elementwise chains one pass.
#ifndef QCC_CODEGEN_CUDA_CUDAEMITTER_H
#define QCC_CODEGEN_CUDA_CUDAEMITTER_H

#include "runtime/package/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qcc::cuda {

struct EmittedModel {
  std::string source;     ///< CUDA C++, one translation unit
  pkg::Manifest manifest; ///< without model name and target
  std::vector<uint8_t> weights;
};

/// Generates the CUDA C++ of a function after qg fusion. An op without a
/// CUDA kernel is an error at its location.
mlir::FailureOr<EmittedModel> emitModel(mlir::func::FuncOp function);

} // namespace qcc::cuda

#endif // QCC_CODEGEN_CUDA_CUDAEMITTER_H
