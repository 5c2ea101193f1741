// The parameters of the runtime micro-kernels that compiled code calls by
// index (pkg::KernelInfo::params), and the launch configuration of CUDA
// kernels. The compiler writes them; the runtime checks every one against
// the arena and the weights section (or the GPU's limits) at load time,
// before any code runs.
#ifndef QCC_RUNTIME_API_KERNELPARAMS_H
#define QCC_RUNTIME_API_KERNELPARAMS_H

#include <cstdint>

namespace qcc::rt::kernel {

/// Offsets named *Offset are byte offsets: in the arena for activations, in
/// the weights section for constants. Absent optional tables are -1.
enum class Output : int64_t { F32 = 0, U8 = 1, I8 = 2 };

/// y[m, n] = epilogue(sum_k (x[m, k] - xZeroPoint) * (w[n, k] - wZp[n])).
/// The epilogue is rt::Int8Epilogue's: float output fma(acc, scale, bias)
/// clamped to [lo, hi]; 8-bit output round_half_even((acc + bias) * scale) +
/// yZeroPoint, clamped to the storage range and to [lo, hi] (codes). With an
/// Activation (rt::Activation) the bias is f32 for both outputs, the scale is
/// s_x * s_w, and an 8-bit output is round_half_even(act(fma(acc, scale,
/// bias)) / yScale) + yZeroPoint, clamped the same way.
namespace qlinear {
enum : int {
  M,
  K,
  N,
  XOffset,     ///< arena, M*K bytes
  XZeroPoint,  ///< in the range of the input format
  XSigned,     ///< 1 for i8 input, 0 for u8
  WOffset,     ///< weights, N*K i8 codes, row n contiguous
  WZeroPoints, ///< weights, N i32, or -1 for all zero
  ScaleOffset, ///< weights, ScaleCount f32 (multipliers for 8-bit output)
  ScaleCount,  ///< 1 or N
  BiasOffset,  ///< weights, N f32 (float output) or N i32 (8-bit), or -1
  OutputKind,  ///< Output
  YZeroPoint,
  LoBits, ///< f32 bit pattern of the lower clamp
  HiBits,
  YOffset,    ///< arena, M*N elements of the output type
  Activation, ///< rt::Activation
  YScaleBits, ///< f32 bit pattern of the output scale (8-bit output with an
              ///< activation), else 0
  Count
};
} // namespace qlinear

/// NCHW convolution of 8-bit codes with i8 weights [F, C, KH, KW]: each
/// image is unfolded (padding reads as the input zero point), multiplied by
/// the same GEMM and epilogue as qlinear (per output channel), and written
/// back as [F, OH, OW].
namespace qconv {
enum : int {
  Batch,
  Channels,
  Height,
  Width,
  Filters,
  KernelH,
  KernelW,
  StrideH,
  StrideW,
  PadTop,
  PadLeft,
  DilationH,
  DilationW,
  OutH,
  OutW,
  XOffset,
  XZeroPoint,
  XSigned,
  WOffset, ///< weights, F * C*KH*KW i8 codes
  WZeroPoints,
  ScaleOffset,
  ScaleCount,
  BiasOffset,
  OutputKind,
  YZeroPoint,
  LoBits,
  HiBits,
  YOffset,
  Activation,
  YScaleBits,
  Count
};
} // namespace qconv

/// Weight-only matmul: y[m, n] = sum_k x[m, k] * w[n, k] (+ bias[n]) in
/// f32, where w[n, k] = (level(code) - zeroPoint[n, g]) * scale[n, g] for
/// group g = k / GroupSize: DequantizeLinear's value, formed in registers.
/// 4-bit formats (W4A16) and 8-bit ones (W8A16) share the layout; a weight
/// per-channel along N is one group of K.
namespace wonly {
enum : int {
  M,
  K,
  N,
  XOffset,          ///< arena, M*K f32, rows contiguous
  CodesOffset,      ///< weights, N rows of bytesPerRow(Format, K) bytes;
                    ///< 4-bit: code k of a row in the low nibble of byte
                    ///< k/2 when k is even; 8-bit: byte k
  GroupSize,        ///< 4-bit: a positive multiple of 16; 8-bit: positive
  ScalesOffset,     ///< weights, N * ceil(K/GroupSize) f32, row n contiguous
  ZeroPointsOffset, ///< weights, as many i8 (4-bit) or i16 (8-bit), or -1
  Format,           ///< WeightFormat
  BiasOffset,       ///< weights, N f32, or -1
  YOffset,          ///< arena, M*N f32
  Count
};
enum class WeightFormat : int64_t {
  Uint4 = 0,
  Int4 = 1,
  NF4 = 2,
  Uint8 = 3,
  Int8 = 4
};
inline bool isEightBit(WeightFormat f) {
  return f == WeightFormat::Uint8 || f == WeightFormat::Int8;
}
/// Bytes of one row of K codes.
inline int64_t bytesPerRow(WeightFormat f, int64_t k) {
  return isEightBit(f) ? k : (k + 1) / 2;
}
/// Bytes of one zero point.
inline int64_t zeroPointBytes(WeightFormat f) { return isEightBit(f) ? 2 : 1; }
} // namespace wonly

/// The launch of a CudaKernel: grid x in [1, 2^31-1], y and z in [1, 65535];
/// block dimensions >= 1 with x, y <= 1024, z <= 64 and at most 1024
/// threads; dynamic shared memory in [0, 227 KiB] (above 48 KiB the runtime
/// raises the kernel's limit, which needs a GPU that has that much).
namespace cuda {
enum : int {
  GridX,
  GridY,
  GridZ,
  BlockX,
  BlockY,
  BlockZ,
  DynamicSharedBytes,
  Count
};
} // namespace cuda

} // namespace qcc::rt::kernel

#endif // QCC_RUNTIME_API_KERNELPARAMS_H
