// The manifest section of a .qpkg: what the model takes and returns, the
// memory plan (one arena per run context; every tensor at a fixed offset,
// buffers reused once their last reader has run), the weights it expects,
// and the kernels with the source nodes each one came from.
#ifndef QCC_RUNTIME_PACKAGE_MANIFEST_H
#define QCC_RUNTIME_PACKAGE_MANIFEST_H

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qcc::pkg {

enum class ElementType : uint8_t { F32 = 1, U8 = 2, I8 = 3, I32 = 4, I64 = 5 };
/// Bytes per element; 0 for a value that is not an ElementType.
size_t elementSize(ElementType type);
/// "f32", "u8", "i8", "i32", "i64", or "?".
const char *elementName(ElementType type);

inline constexpr size_t kMaxRank = 8;
/// Arena offsets are multiples of this.
inline constexpr uint64_t kArenaAlignment = 64;

struct TensorInfo {
  std::string name;
  ElementType type = ElementType::F32;
  std::vector<int64_t> shape;
  uint64_t offset = 0; ///< in the arena
  uint64_t elementCount() const;
  uint64_t byteSize() const { return elementCount() * elementSize(type); }
};

/// What a kernel is. Generated kernels are loops in the compiled code; the
/// others are runtime micro-kernels that the compiled code calls by index,
/// with their parameters here so that the runtime can check them and
/// prepare their weights once, when the package is loaded.
enum class KernelKind : uint32_t {
  Generated = 0,
  QLinear = 1, ///< int8 GEMM with epilogue; params: see runtime/api
  QConv2D = 2, ///< int8 convolution (im2col + the same GEMM)
  WeightOnly = 3, ///< f32 x 4-bit (uint4/int4/NF4) or 8-bit (uint8/int8)
                  ///< weights, dequantized in registers
  /// A kernel of the package's PTX (SectionKind::Ptx), with the signature
  /// extern "C" __global__ void NAME(unsigned char *arena,
  ///                                 const unsigned char *weights);
  /// `name` is its symbol. The runtime launches a CUDA package's kernels in
  /// manifest order on one stream; params are the launch configuration
  /// (rt::kernel::cuda in runtime/api/KernelParams.h). A CUDA package holds
  /// only these, a CPU package none.
  CudaKernel = 4,
};
inline constexpr uint32_t kMaxKernelParams = 64;

/// One kernel of the model, for the runtime, for reports and for errors.
struct KernelInfo {
  std::string name;   ///< e.g. "qlinear u8xi8->u8 relu"
  std::string source; ///< the source nodes, e.g. "fc1+relu1"
  KernelKind kind = KernelKind::Generated;
  std::vector<int64_t> params; ///< meaning depends on kind
};

struct Manifest {
  std::string model;        ///< the file it was compiled from
  std::string target;       ///< "cpu x86-64 skylake-avx512 +avx512f,...",
                            ///< or "cuda sm_80,sm_90"
  std::string entry;        ///< symbol of the run function in the CPU code;
                            ///< empty for CUDA, whose kernels are launched
                            ///< one by one
  uint64_t arenaBytes = 0;  ///< scratch memory per run context
  uint64_t weightBytes = 0; ///< size the weights section must have
  std::vector<TensorInfo> inputs, outputs;
  std::vector<KernelInfo> kernels;
};

std::vector<uint8_t> encode(const Manifest &manifest);

/// Parses and validates: known element types, ranks up to kMaxRank,
/// non-negative dimensions, sizes that cannot overflow, every tensor inside
/// the arena at an aligned offset, unique non-empty input and output names,
/// no bytes left over, an entry point unless the target is CUDA (it starts
/// with "cuda"). Returns an empty string or the reason it is invalid.
std::string decode(std::span<const uint8_t> bytes, Manifest &manifest);

/// Whether the manifest's target names the CUDA backend.
bool isCudaTarget(const Manifest &manifest);

} // namespace qcc::pkg

#endif // QCC_RUNTIME_PACKAGE_MANIFEST_H
