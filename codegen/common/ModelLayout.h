// What every backend decides the same way about a fused qg function before
// it generates code: how each tensor is stored, where each activation lives
// in the arena (the memory plan), how constants are laid out in the weights
// section, and the parameters of the integer and 4-bit layers (the runtime's
// kernel parameter lists, runtime/api/KernelParams.h). The CPU backend calls
// runtime micro-kernels with those parameters; the CUDA backend generates a
// kernel specialized to them. Sharing this keeps one package design.
#ifndef QCC_CODEGEN_COMMON_MODELLAYOUT_H
#define QCC_CODEGEN_COMMON_MODELLAYOUT_H

#include "dialects/qg/QGOps.h"
#include "runtime/package/Manifest.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace qcc::codegen {

/// Arena offsets and weights-section entries are multiples of this.
inline constexpr int64_t kAlign = 64;
inline int64_t alignUp(int64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

/// How a tensor is stored in the arena or the weights: the element type
/// (f32, i8, i32, i64) and whether its integers are unsigned codes.
struct Storage {
  mlir::Type element;
  bool isUnsigned = false;
  pkg::ElementType manifestType = pkg::ElementType::F32;
  int64_t bytes = 4;
  bool float8 = false; ///< FP8 E4M3FN codes, one byte each (CUDA only)
};
/// The storage of a static ranked tensor type, or an error at `where`
/// starting with `backend` ("CPU backend", "CUDA backend").
mlir::FailureOr<Storage> storageOf(mlir::Operation *where,
                                   mlir::Type tensorType,
                                   llvm::StringRef backend);

/// The float-only lowerings' guard: an error at `op` unless its (first)
/// result is f32; `why` is appended to the message.
mlir::LogicalResult requireF32(mlir::Operation *op, llvm::StringRef backend,
                               llvm::StringRef why = "");

/// An I64Attr axis (generated accessors return it unsigned), counted from
/// the end when negative.
int64_t normalizedAxis(uint64_t axis, size_t rank);
int64_t elementsOf(mlir::Value v);
llvm::ArrayRef<int64_t> shapeOf(mlir::Value v);
/// The quantized element type of `v`, or null.
qg::QuantType quantOf(mlir::Value v);

/// A pooling window (max_pool or avg_pool) as both backends read it.
struct PoolWindow {
  llvm::SmallVector<int64_t> kernel, strides, pads; ///< pads: begins, ends
  bool isMax = false, countIncludePad = false;
};
PoolWindow poolWindowOf(mlir::Operation *op);

/// reduce_sum / reduce_mean: which input dims are reduced (all when the op
/// lists no axes), whether they are kept as size 1, and whether it is a
/// mean.
struct Reduction {
  llvm::SmallVector<bool> reduced;
  bool keepdims = true, mean = false;
};
Reduction reductionOf(mlir::Operation *op);

/// matmul/gemm: gemm's flags, alpha, beta and C, and matmul's folded
/// transposes (the product reads operand dim perm[i] as its dim i; empty
/// is the identity).
struct MatMulForm {
  bool transA = false, transB = false;
  float alpha = 1.f, beta = 1.f;
  mlir::Value c;
  llvm::SmallVector<int64_t> aPerm, bPerm;
};
MatMulForm matMulFormOf(mlir::Operation *op);

/// The value whose buffer `v` shares: reshapes are views of their input.
mlir::Value storageRoot(mlir::Value v);
/// Whether `v` lives in the weights section (a constant, or a reshape of
/// one).
bool isConstant(mlir::Value v);

/// Arena offsets: values are grouped with the values they alias (reshape
/// results); a group lives from its first definition to its last use, and
/// first-fit places it among the groups alive at that point.
struct MemoryPlan {
  llvm::DenseMap<mlir::Value, int64_t> offset; ///< every non-constant value
  int64_t arenaBytes = 0;
};
mlir::FailureOr<MemoryPlan> planMemory(mlir::func::FuncOp f,
                                       llvm::StringRef backend);

/// The weights section under construction. Constants are written in their
/// storage type once each, however many ops read them.
class WeightsWriter {
public:
  explicit WeightsWriter(llvm::StringRef backend) : backend(backend) {}
  int64_t add(const void *data, size_t bytes);
  template <typename T> int64_t add(const std::vector<T> &values) {
    return add(values.data(), values.size() * sizeof(T));
  }
  /// Offset of constant `v` (or a reshape of one), written on first use.
  mlir::FailureOr<int64_t> constant(mlir::Value v);
  /// The section, padded to kAlign and at least kAlign bytes.
  std::vector<uint8_t> take();

private:
  std::string backend;
  std::vector<uint8_t> blob;
  llvm::DenseMap<mlir::Value, int64_t> constantOffsets;
};

/// The name of input or result `i` (its qg.name, or input<i>/output<i>).
std::string nameOf(mlir::func::FuncOp f, unsigned i, bool result);
/// A short description of where an op came from: its name location, or the
/// names of a fused location joined with '+'.
std::string sourceOf(mlir::Operation *op);

/// The manifest's inputs and outputs. Outputs that are constants get slots
/// after `arenaBytes`, which grows to cover them; `constantOutputs` gets
/// their indices.
mlir::LogicalResult
describeInterface(mlir::func::FuncOp f, const MemoryPlan &plan,
                  llvm::StringRef backend, pkg::Manifest &manifest,
                  int64_t &arenaBytes, std::vector<unsigned> &constantOutputs);

/// The runtime kernels' parameter lists (KernelParams.h), with their tables
/// added to `weights`; the name says what the kernel does, e.g.
/// "qlinear 1x384x384 u8xi8->u8".
mlir::FailureOr<pkg::KernelInfo> qlinearKernel(qg::QLinearOp op,
                                               const MemoryPlan &plan,
                                               WeightsWriter &weights,
                                               llvm::StringRef backend);
mlir::FailureOr<pkg::KernelInfo> qconvKernel(qg::QConv2DOp op,
                                             const MemoryPlan &plan,
                                             WeightsWriter &weights,
                                             llvm::StringRef backend);
/// x [..., K] times a 4-bit or 8-bit constant: the codes as rows of the
/// transposed weight (two per byte for 4 bits), with each row's scale (and
/// zero point) table; see rt::kernel::wonly.
mlir::FailureOr<pkg::KernelInfo> weightOnlyKernel(qg::DequantMatMulOp op,
                                                  const MemoryPlan &plan,
                                                  WeightsWriter &weights,
                                                  llvm::StringRef backend);

} // namespace qcc::codegen

#endif // QCC_CODEGEN_COMMON_MODELLAYOUT_H
