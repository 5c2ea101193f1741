// The runtime behind qcc/runtime.h: loads a package, checks everything in it
// before anything runs, prepares the micro-kernels' weights once per model,
// and runs the compiled code in per-thread contexts. Packages of PTX code
// run on the GPU through CudaModel.h.
#include "qcc/runtime.h"

#include "runtime/api/CudaModel.h"
#include "runtime/api/KernelParams.h"
#include "runtime/cpu/AlignedBuffer.h"
#include "runtime/cpu/CodeLoader.h"
#include "runtime/cpu/GemmInt4.h"
#include "runtime/cpu/GemmInt8.h"
#include "runtime/cpu/GemmW8.h"
#include "runtime/cpu/ThreadPool.h"
#include "runtime/numerics/Numerics.h"
#include "runtime/package/Manifest.h"
#include "runtime/package/Package.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace qcc;
namespace kp = qcc::rt::kernel;

thread_local std::string lastError;

int fail(std::string message) {
  lastError = std::move(message);
  return QCC_ERROR;
}

/// The compiled entry: run(context, arena, weights, call, parallel), where
/// the code calls call(context, i) for each runtime kernel i of the manifest,
/// and parallel(context, part, arena, weights, n) for each large parallel
/// loop of a generated kernel, whose iterations [begin, end) part runs
/// (codegen/cpu/ParallelKernels.h).
using KernelCall = void (*)(int64_t context, int64_t kernel);
using LoopPart = void (*)(uint8_t *arena, const uint8_t *weights, int64_t begin,
                          int64_t end);
using ParallelCall = void (*)(int64_t context, LoopPart part, uint8_t *arena,
                              const uint8_t *weights, int64_t n);
using EntryFn = void (*)(int64_t context, uint8_t *arena,
                         const uint8_t *weights, KernelCall call,
                         ParallelCall parallel);

/// A micro-kernel call, checked and with its weights packed for this CPU.
struct Prepared {
  pkg::KernelKind kind;
  std::vector<int64_t> p;
  rt::PackedInt8Weights packed;
  rt::PackedInt4Weights packed4; // WeightOnly, 4-bit formats
  rt::W8Weights w8;              // WeightOnly, 8-bit formats (borrowed)
  rt::Int8Epilogue epilogue;
  int64_t gemmRows = 0;    // rows of one GEMM call (M, or OH*OW for conv)
  size_t scratchBytes = 0; // per context, conv only
};

} // namespace

struct qcc_model {
  rt::AlignedBuffer<uint8_t> file;
  pkg::Package package;
  pkg::Manifest manifest;
  const uint8_t *weights = nullptr;
  rt::LoadedCode code;
  EntryFn entry = nullptr;
  std::vector<Prepared> kernels;
  size_t scratchBytes = 0;
  std::vector<std::vector<int64_t>> inputShapes, outputShapes;
  std::unique_ptr<rt::CudaModel> cuda; // set for a package of PTX code
};

struct qcc_context {
  const qcc_model *model = nullptr;
  // The host arena. For CUDA, the inputs are copied from it to the device
  // arena at the same offsets, and the outputs back, in each run.
  rt::AlignedBuffer<uint8_t> arena, scratch;
  std::unique_ptr<rt::ThreadPool> pool; // CPU only
  std::unique_ptr<rt::CudaContext> cuda;
  std::string error; // set by a kernel that failed during a run
};

namespace {

bool fitsIn(int64_t offset, int64_t bytes, uint64_t limit, int64_t align) {
  return offset >= 0 && bytes >= 0 && offset % align == 0 &&
         static_cast<uint64_t>(offset) <= limit &&
         static_cast<uint64_t>(bytes) <= limit - static_cast<uint64_t>(offset);
}

/// Multiplies non-negative sizes, or returns -1 when one is negative or the
/// product passes 2^50.
int64_t product(std::initializer_list<int64_t> values) {
  int64_t r = 1;
  for (int64_t v : values) {
    if (v < 0 || (v != 0 && r > (int64_t{1} << 50) / v))
      return -1;
    r *= v;
  }
  return r;
}

/// Checks and prepares the shared GEMM part of qlinear and qconv: the
/// weights [n, k], their zero points, the epilogue tables and the input and
/// output formats. `x`/`y` are the parameter indices of the kernel kind.
struct GemmFields {
  int xZeroPoint, xSigned, w, wZeroPoints, scale, scaleCount, bias, output,
      yZeroPoint, lo, hi, activation, yScale;
};

std::string prepareGemm(const qcc_model &model, Prepared &k, int64_t n,
                        int64_t kDim, const GemmFields &f) {
  const std::vector<int64_t> &p = k.p;
  const uint64_t wBytes = model.manifest.weightBytes;
  if (n <= 0 || kDim <= 0 || kDim > 16384)
    return "reduction size " + std::to_string(kDim) + " or " +
           std::to_string(n) + " outputs out of range";
  if (p[f.xSigned] != 0 && p[f.xSigned] != 1)
    return "bad input signedness";
  const bool xSigned = p[f.xSigned] == 1;
  if (p[f.xZeroPoint] < (xSigned ? -128 : 0) ||
      p[f.xZeroPoint] > (xSigned ? 127 : 255))
    return "input zero point out of range";
  if (!fitsIn(p[f.w], n * kDim, wBytes, 1))
    return "weights lie outside the weights section";
  std::vector<int32_t> zeroPoints;
  if (p[f.wZeroPoints] != -1) {
    if (!fitsIn(p[f.wZeroPoints], n * 4, wBytes, 4))
      return "weight zero points lie outside the weights section";
    zeroPoints.resize(n);
    std::memcpy(zeroPoints.data(), model.weights + p[f.wZeroPoints], n * 4);
    for (int32_t z : zeroPoints)
      if (z < -128 || z > 127)
        return "weight zero point out of range";
  }
  if (p[f.scaleCount] != 1 && p[f.scaleCount] != n)
    return "scale count must be 1 or the output count";
  if (!fitsIn(p[f.scale], p[f.scaleCount] * 4, wBytes, 4))
    return "scales lie outside the weights section";
  if (p[f.bias] != -1 && !fitsIn(p[f.bias], n * 4, wBytes, 4))
    return "bias lies outside the weights section";
  if (p[f.output] < 0 || p[f.output] > 2)
    return "unknown output kind";
  const auto out = static_cast<kp::Output>(p[f.output]);
  if (out != kp::Output::F32 &&
      (p[f.yZeroPoint] < (out == kp::Output::I8 ? -128 : 0) ||
       p[f.yZeroPoint] > (out == kp::Output::I8 ? 127 : 255)))
    return "output zero point out of range";
  auto bits = [](int64_t v) {
    return std::bit_cast<float>(static_cast<uint32_t>(v));
  };
  if (p[f.lo] < 0 || p[f.lo] > 0xffffffff || p[f.hi] < 0 ||
      p[f.hi] > 0xffffffff || !(bits(p[f.lo]) <= bits(p[f.hi])))
    return "bad clamp bounds";
  if (p[f.activation] < 0 ||
      p[f.activation] > static_cast<int64_t>(rt::Activation::Silu))
    return "unknown activation";
  const auto activation = static_cast<rt::Activation>(p[f.activation]);
  const bool divides =
      activation != rt::Activation::None && out != kp::Output::F32;
  if (p[f.yScale] < 0 || p[f.yScale] > 0xffffffff ||
      (divides &&
       !(bits(p[f.yScale]) > 0 &&
         bits(p[f.yScale]) < std::numeric_limits<float>::infinity())))
    return "bad output scale";

  // The weights are packed by repack() once every check has passed.
  rt::Int8Epilogue &e = k.epilogue;
  e.output = out == kp::Output::F32  ? rt::Int8Epilogue::Output::Float32
             : out == kp::Output::U8 ? rt::Int8Epilogue::Output::Uint8
                                     : rt::Int8Epilogue::Output::Int8;
  e.scale = reinterpret_cast<const float *>(model.weights + p[f.scale]);
  e.perColumnScale = p[f.scaleCount] != 1;
  e.activation = activation;
  e.outputScale = divides ? bits(p[f.yScale]) : 1.0f;
  if (p[f.bias] != -1) {
    if (out == kp::Output::F32 || activation != rt::Activation::None)
      e.bias = reinterpret_cast<const float *>(model.weights + p[f.bias]);
    else
      e.biasInt = reinterpret_cast<const int32_t *>(model.weights + p[f.bias]);
  }
  e.outputZeroPoint = static_cast<int32_t>(p[f.yZeroPoint]);
  e.lo = bits(p[f.lo]);
  e.hi = bits(p[f.hi]);
  return {};
}

size_t outputSize(int64_t kind) { return kind == 0 ? 4 : 1; }

/// Checks a weight-only matmul; packs 4-bit weights for this CPU and points
/// at 8-bit ones in place.
std::string prepareWeightOnly(const qcc_model &model, Prepared &k) {
  namespace w = kp::wonly;
  const std::vector<int64_t> &p = k.p;
  if (p.size() != w::Count)
    return "expected " + std::to_string(w::Count) + " parameters";
  const uint64_t arena = model.manifest.arenaBytes;
  const uint64_t wBytes = model.manifest.weightBytes;
  const int64_t m = p[w::M], kDim = p[w::K], n = p[w::N], g = p[w::GroupSize];
  if (m < 0 || m > (int64_t{1} << 40) || kDim <= 0 || kDim > (1 << 20) ||
      n <= 0 || n > (1 << 24))
    return "sizes out of range";
  if (p[w::Format] < 0 || p[w::Format] > 4)
    return "unknown weight format " + std::to_string(p[w::Format]);
  const auto format = static_cast<w::WeightFormat>(p[w::Format]);
  const bool eightBit = w::isEightBit(format);
  if (g <= 0 || g > (1 << 20) || (!eightBit && g % 16 != 0))
    return eightBit ? "group size must be positive"
                    : "group size must be a positive multiple of 16";
  const int64_t groups = (kDim + g - 1) / g;
  const int64_t rowBytes = w::bytesPerRow(format, kDim);
  const int64_t zpBytes = w::zeroPointBytes(format);
  if (!fitsIn(p[w::CodesOffset], product({n, rowBytes}), wBytes, 1))
    return "weight codes lie outside the weights section";
  if (!fitsIn(p[w::ScalesOffset], product({n, groups, 4}), wBytes, 4))
    return "scales lie outside the weights section";
  if (p[w::ZeroPointsOffset] != -1 &&
      (format == w::WeightFormat::NF4 ||
       !fitsIn(p[w::ZeroPointsOffset], product({n, groups, zpBytes}), wBytes,
               zpBytes)))
    return "zero points lie outside the weights section (or NF4 has some)";
  if (p[w::BiasOffset] != -1 && !fitsIn(p[w::BiasOffset], n * 4, wBytes, 4))
    return "bias lies outside the weights section";
  if (!fitsIn(p[w::XOffset], product({m, kDim, 4}), arena, 4))
    return "input lies outside the arena";
  if (!fitsIn(p[w::YOffset], product({m, n, 4}), arena, 4))
    return "output lies outside the arena";
  // 4-byte aligned and inside the section, checked above.
  const auto *scales =
      reinterpret_cast<const float *>(model.weights + p[w::ScalesOffset]);
  k.gemmRows = m;
  if (eightBit) {
    rt::W8Weights &w8 = k.w8;
    w8.isa = rt::defaultIsa();
    w8.n = n;
    w8.k = kDim;
    w8.groupSize = g;
    w8.groups = groups;
    w8.isSigned = format == w::WeightFormat::Int8;
    w8.codes = model.weights + p[w::CodesOffset];
    w8.scales = scales;
    w8.zeroPoints = p[w::ZeroPointsOffset] == -1
                        ? nullptr
                        : reinterpret_cast<const int16_t *>(
                              model.weights + p[w::ZeroPointsOffset]);
    return rt::checkW8Weights(w8);
  }
  const int8_t *zp = p[w::ZeroPointsOffset] == -1
                         ? nullptr
                         : reinterpret_cast<const int8_t *>(
                               model.weights + p[w::ZeroPointsOffset]);
  const int zpLo = format == w::WeightFormat::Int4 ? -8 : 0;
  if (zp)
    for (int64_t i = 0; i < n * groups; ++i)
      if (zp[i] < zpLo || zp[i] > zpLo + 15)
        return "zero point out of the format's range";
  // One code per byte, as packInt4Weights takes them.
  std::vector<uint8_t> codes(static_cast<size_t>(n * kDim));
  const uint8_t *packed = model.weights + p[w::CodesOffset];
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < kDim; ++c)
      codes[r * kDim + c] =
          (packed[r * rowBytes + c / 2] >> (4 * (c % 2))) & 15;
  for (int64_t i = 0; i < n * groups; ++i)
    if (!std::isfinite(scales[i]))
      return "scale is not finite";
  const std::array<float, 16> levels =
      format == w::WeightFormat::Uint4  ? rt::uint4Levels()
      : format == w::WeightFormat::Int4 ? rt::int4Levels()
                                        : rt::nf4Levels();
  std::string error;
  k.packed4 = rt::packInt4Weights(codes.data(), n, kDim, g, scales, zp, levels,
                                  rt::defaultIsa(), error);
  return error;
}

std::string prepare(qcc_model &model, size_t index) {
  const pkg::KernelInfo &info = model.manifest.kernels[index];
  Prepared &k = model.kernels[index];
  k.kind = info.kind;
  k.p = info.params;
  const std::vector<int64_t> &p = k.p;
  const uint64_t arena = model.manifest.arenaBytes;
  if (info.kind == pkg::KernelKind::Generated)
    return p.empty() ? std::string() : "generated kernel with parameters";
  if (info.kind == pkg::KernelKind::QLinear) {
    namespace q = kp::qlinear;
    if (p.size() != q::Count)
      return "expected " + std::to_string(q::Count) + " parameters";
    if (p[q::M] < 0 || p[q::M] > (int64_t{1} << 40))
      return "bad row count";
    if (std::string e =
            prepareGemm(model, k, p[q::N], p[q::K],
                        {q::XZeroPoint, q::XSigned, q::WOffset, q::WZeroPoints,
                         q::ScaleOffset, q::ScaleCount, q::BiasOffset,
                         q::OutputKind, q::YZeroPoint, q::LoBits, q::HiBits,
                         q::Activation, q::YScaleBits});
        !e.empty())
      return e;
    if (!fitsIn(p[q::XOffset], product({p[q::M], p[q::K]}), arena, 1))
      return "input lies outside the arena";
    if (!fitsIn(p[q::YOffset],
                product({p[q::M], p[q::N],
                         static_cast<int64_t>(outputSize(p[q::OutputKind]))}),
                arena, 4))
      return "output lies outside the arena";
    k.gemmRows = p[q::M];
    return {};
  }
  if (info.kind == pkg::KernelKind::WeightOnly)
    return prepareWeightOnly(model, k);
  if (info.kind == pkg::KernelKind::CudaKernel)
    return "a CUDA kernel in a package of CPU code";
  namespace c = kp::qconv;
  if (p.size() != c::Count)
    return "expected " + std::to_string(c::Count) + " parameters";
  for (int i : {c::Batch, c::Channels, c::Height, c::Width, c::Filters,
                c::KernelH, c::KernelW, c::StrideH, c::StrideW, c::DilationH,
                c::DilationW, c::OutH, c::OutW})
    if (p[i] < (i == c::Batch ? 0 : 1) || p[i] > (int64_t{1} << 24))
      return "bad convolution size";
  if (p[c::PadTop] < 0 || p[c::PadLeft] < 0 || p[c::PadTop] > 1 << 20 ||
      p[c::PadLeft] > 1 << 20)
    return "bad padding";
  // Every window read must stay within the padded image: the last output's
  // window starts at (out-1)*stride - pad and spans (kernel-1)*dilation + 1.
  auto lastRead = [&](int outDim, int stride, int kernel, int dilation,
                      int pad) {
    return (p[outDim] - 1) * p[stride] + (p[kernel] - 1) * p[dilation] - p[pad];
  };
  if (lastRead(c::OutH, c::StrideH, c::KernelH, c::DilationH, c::PadTop) >=
          p[c::Height] + (int64_t{1} << 20) ||
      lastRead(c::OutW, c::StrideW, c::KernelW, c::DilationW, c::PadLeft) >=
          p[c::Width] + (int64_t{1} << 20))
    return "output size does not fit the input";
  const int64_t kDim = product({p[c::Channels], p[c::KernelH], p[c::KernelW]});
  const int64_t spatial = product({p[c::OutH], p[c::OutW]});
  if (kDim < 0 || spatial < 0)
    return "convolution too large";
  if (std::string e = prepareGemm(
          model, k, p[c::Filters], kDim,
          {c::XZeroPoint, c::XSigned, c::WOffset, c::WZeroPoints,
           c::ScaleOffset, c::ScaleCount, c::BiasOffset, c::OutputKind,
           c::YZeroPoint, c::LoBits, c::HiBits, c::Activation, c::YScaleBits});
      !e.empty())
    return e;
  const int64_t inBytes =
      product({p[c::Batch], p[c::Channels], p[c::Height], p[c::Width]});
  const int64_t outBytes =
      product({p[c::Batch], p[c::Filters], spatial,
               static_cast<int64_t>(outputSize(p[c::OutputKind]))});
  if (!fitsIn(p[c::XOffset], inBytes, arena, 1))
    return "input lies outside the arena";
  if (!fitsIn(p[c::YOffset], outBytes, arena, 4))
    return "output lies outside the arena";
  const int64_t cols = product({spatial, kDim});
  const int64_t tile = product({spatial, p[c::Filters], 4});
  if (cols < 0 || tile < 0 || cols + tile > (int64_t{1} << 40))
    return "convolution scratch too large";
  k.gemmRows = spatial;
  k.scratchBytes = (static_cast<size_t>(cols) + 63) / 64 * 64 + tile;
  return {};
}

/// packInt8Weights wants B as [k, n]; packages store weights as [n, k] rows
/// (the layout of the qg op), so they are transposed once at load.
void repack(qcc_model &model, Prepared &k, int64_t n, int64_t kDim,
            int64_t wOffset, int64_t zpOffset) {
  std::vector<int8_t> b(static_cast<size_t>(n * kDim));
  const auto *w = reinterpret_cast<const int8_t *>(model.weights + wOffset);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < kDim; ++i)
      b[i * n + j] = w[j * kDim + i];
  std::vector<int32_t> zeroPoints;
  if (zpOffset != -1) {
    zeroPoints.resize(n);
    std::memcpy(zeroPoints.data(), model.weights + zpOffset, n * 4);
  }
  k.packed = rt::packInt8Weights(
      b.data(), kDim, n, zeroPoints.empty() ? nullptr : zeroPoints.data(),
      rt::defaultIsa());
}

int loadBytes(rt::AlignedBuffer<uint8_t> file, qcc_model **out) {
  if (!out)
    return fail("qcc_model_load: null output pointer");
  *out = nullptr;
  auto model = std::make_unique<qcc_model>();
  model->file = std::move(file);
  std::span<const uint8_t> bytes(model->file.data(), model->file.size());
  if (std::string e = model->package.open(bytes); !e.empty())
    return fail(e);
  const pkg::Section *manifest =
      model->package.find(pkg::SectionKind::Manifest);
  const pkg::Section *weights = model->package.find(pkg::SectionKind::Weights);
  const pkg::Section *code = model->package.find(pkg::SectionKind::CpuCode);
  if (!manifest)
    return fail("package has no manifest");
  if (std::string e = pkg::decode(manifest->bytes, model->manifest); !e.empty())
    return fail("manifest: " + e);
  const pkg::Manifest &m = model->manifest;
  const uint64_t weightBytes = weights ? weights->bytes.size() : 0;
  if (weightBytes != m.weightBytes)
    return fail("weights section holds " + std::to_string(weightBytes) +
                " bytes; the manifest expects " +
                std::to_string(m.weightBytes));
  if (weights && weights->alignment < 64)
    return fail("weights section is not 64-byte aligned");
  model->weights = weights ? weights->bytes.data() : nullptr;
  if (!code) {
    const pkg::Section *ptx = model->package.find(pkg::SectionKind::Ptx);
    if (!ptx)
      return fail(pkg::isCudaTarget(m) ? "package has no PTX code"
                                       : "package has no CPU code");
    // Everything that needs no GPU is checked first, so that a bad package
    // is reported as such on any machine.
    std::vector<pkg::PtxModule> modules;
    if (std::string e = rt::checkCudaPackage(m, ptx->bytes, modules);
        !e.empty())
      return fail(e);
    std::string error;
    model->cuda = rt::CudaModel::load(m, modules, model->weights, error);
    if (!model->cuda)
      return fail(error);
    *out = model.release();
    return QCC_OK;
  }
  if (pkg::isCudaTarget(m))
    return fail("manifest targets '" + m.target +
                "' but the package holds CPU code");
  model->kernels.resize(m.kernels.size());
  for (size_t i = 0; i < m.kernels.size(); ++i) {
    if (std::string e = prepare(*model, i); !e.empty())
      return fail("kernel " + std::to_string(i) + " (" + m.kernels[i].name +
                  "): " + e);
    Prepared &k = model->kernels[i];
    if (k.kind == pkg::KernelKind::QLinear)
      repack(*model, k, k.p[kp::qlinear::N], k.p[kp::qlinear::K],
             k.p[kp::qlinear::WOffset], k.p[kp::qlinear::WZeroPoints]);
    else if (k.kind == pkg::KernelKind::QConv2D)
      repack(*model, k, k.p[kp::qconv::Filters],
             k.p[kp::qconv::Channels] * k.p[kp::qconv::KernelH] *
                 k.p[kp::qconv::KernelW],
             k.p[kp::qconv::WOffset], k.p[kp::qconv::WZeroPoints]);
    model->scratchBytes = std::max(model->scratchBytes, k.scratchBytes);
  }
  if (std::string e = model->code.load(code->bytes); !e.empty())
    return fail("code: " + e);
  model->entry = reinterpret_cast<EntryFn>(model->code.symbol(m.entry.c_str()));
  if (!model->entry)
    return fail("code has no entry point '" + m.entry + "'");
  *out = model.release();
  return QCC_OK;
}

/// dst[f][s] = src[s][f] for a [rows, cols] matrix.
template <typename T>
void transpose(const T *__restrict src, T *__restrict dst, int64_t rows,
               int64_t cols) {
  // Blocks of 16 rows keep the reads and writes within a few cache lines.
  for (int64_t s0 = 0; s0 < rows; s0 += 16) {
    const int64_t s1 = std::min(rows, s0 + 16);
    for (int64_t f = 0; f < cols; ++f) {
      T *__restrict out = dst + f * rows;
      for (int64_t s = s0; s < s1; ++s)
        out[s] = src[s * cols + f];
    }
  }
}

/// The context's pool for work of `macs` multiply-adds, or none when it is
/// too small to repay waking the other threads.
rt::ThreadPool *poolFor(qcc_context &ctx, int64_t macs) {
  return macs >= (int64_t{1} << 20) ? ctx.pool.get() : nullptr;
}

void runQLinear(qcc_context &ctx, const Prepared &k) {
  namespace q = kp::qlinear;
  const std::vector<int64_t> &p = k.p;
  rt::Int8Activations a;
  a.data = ctx.arena.data() + p[q::XOffset];
  a.m = p[q::M];
  a.lda = p[q::K];
  a.zeroPoint = static_cast<int32_t>(p[q::XZeroPoint]);
  a.isSigned = p[q::XSigned] == 1;
  std::string e =
      rt::gemmInt8(a, k.packed, k.epilogue, ctx.arena.data() + p[q::YOffset],
                   p[q::N], poolFor(ctx, p[q::M] * p[q::N] * p[q::K]));
  if (!e.empty() && ctx.error.empty())
    ctx.error = e;
}

void runQConv(qcc_context &ctx, const Prepared &k) {
  namespace c = kp::qconv;
  const std::vector<int64_t> &p = k.p;
  const int64_t C = p[c::Channels], H = p[c::Height], W = p[c::Width],
                F = p[c::Filters], KH = p[c::KernelH], KW = p[c::KernelW],
                OH = p[c::OutH], OW = p[c::OutW];
  const int64_t kDim = C * KH * KW, spatial = OH * OW;
  const size_t outSize = outputSize(p[c::OutputKind]);
  uint8_t *cols = ctx.scratch.data();
  uint8_t *tile = cols + (static_cast<size_t>(spatial * kDim) + 63) / 64 * 64;
  const uint8_t pad = static_cast<uint8_t>(p[c::XZeroPoint]);
  const int64_t sh = p[c::StrideH], sw = p[c::StrideW], dh = p[c::DilationH],
                dw = p[c::DilationW], pt = p[c::PadTop], pl = p[c::PadLeft];
  // The output columns whose whole window row lies inside the image, so
  // that their bytes are copied without bounds checks.
  const int64_t owFirst = std::min<int64_t>(OW, (pl + sw - 1) / sw);
  int64_t owEnd = OW;
  while (owEnd > owFirst && (owEnd - 1) * sw + (KW - 1) * dw - pl >= W)
    --owEnd;
  for (int64_t b = 0; b < p[c::Batch]; ++b) {
    const uint8_t *x = ctx.arena.data() + p[c::XOffset] + b * C * H * W;
    // Unfold: row (oh, ow) holds the window in (c, kh, kw) order, the order
    // of the weights' reduction axis; positions in the padding read the
    // zero point.
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ch = 0; ch < C; ++ch)
        for (int64_t kh = 0; kh < KH; ++kh) {
          const int64_t ih = oh * sh + kh * dh - pt;
          uint8_t *dst = cols + oh * OW * kDim + (ch * KH + kh) * KW;
          if (ih < 0 || ih >= H) {
            for (int64_t ow = 0; ow < OW; ++ow)
              std::memset(dst + ow * kDim, pad, static_cast<size_t>(KW));
            continue;
          }
          const uint8_t *src = x + (ch * H + ih) * W;
          auto edge = [&](int64_t ow) {
            for (int64_t kw = 0; kw < KW; ++kw) {
              const int64_t iw = ow * sw + kw * dw - pl;
              dst[ow * kDim + kw] = iw >= 0 && iw < W ? src[iw] : pad;
            }
          };
          for (int64_t ow = 0; ow < owFirst; ++ow)
            edge(ow);
          if (KW == 3 && dw == 1)
            for (int64_t ow = owFirst; ow < owEnd; ++ow) {
              const uint8_t *in = src + ow * sw - pl;
              uint8_t *out = dst + ow * kDim;
              out[0] = in[0];
              out[1] = in[1];
              out[2] = in[2];
            }
          else
            for (int64_t ow = owFirst; ow < owEnd; ++ow)
              for (int64_t kw = 0; kw < KW; ++kw)
                dst[ow * kDim + kw] = src[ow * sw + kw * dw - pl];
          for (int64_t ow = std::max(owEnd, owFirst); ow < OW; ++ow)
            edge(ow);
        }
    rt::Int8Activations a;
    a.data = cols;
    a.m = spatial;
    a.lda = kDim;
    a.zeroPoint = static_cast<int32_t>(p[c::XZeroPoint]);
    a.isSigned = p[c::XSigned] == 1;
    std::string e = rt::gemmInt8(a, k.packed, k.epilogue, tile, F,
                                 poolFor(ctx, spatial * F * kDim));
    if (!e.empty()) {
      if (ctx.error.empty())
        ctx.error = e;
      return;
    }
    // [OH*OW, F] -> [F, OH*OW]
    uint8_t *y = ctx.arena.data() + p[c::YOffset] + b * F * spatial * outSize;
    if (outSize == 4)
      transpose(reinterpret_cast<const float *>(tile),
                reinterpret_cast<float *>(y), spatial, F);
    else
      transpose(tile, y, spatial, F);
  }
}

void runWeightOnly(qcc_context &ctx, const Prepared &k) {
  namespace w = kp::wonly;
  const std::vector<int64_t> &p = k.p;
  uint8_t *arena = ctx.arena.data();
  const float *bias = p[w::BiasOffset] == -1
                          ? nullptr
                          : reinterpret_cast<const float *>(ctx.model->weights +
                                                            p[w::BiasOffset]);
  const auto *x = reinterpret_cast<const float *>(arena + p[w::XOffset]);
  auto *y = reinterpret_cast<float *>(arena + p[w::YOffset]);
  rt::ThreadPool *pool = poolFor(ctx, p[w::M] * p[w::N] * p[w::K]);
  std::string e =
      w::isEightBit(static_cast<w::WeightFormat>(p[w::Format]))
          ? rt::gemmW8(x, p[w::M], p[w::K], k.w8, bias, y, p[w::N], pool)
          : rt::gemmWeightInt4(x, p[w::M], p[w::K], k.packed4, bias, y, p[w::N],
                               pool);
  if (!e.empty() && ctx.error.empty())
    ctx.error = e;
}

void callKernel(int64_t context, int64_t index) {
  auto *ctx = reinterpret_cast<qcc_context *>(context);
  if (index < 0 || static_cast<size_t>(index) >= ctx->model->kernels.size()) {
    if (ctx->error.empty())
      ctx->error = "compiled code called kernel " + std::to_string(index) +
                   ", which the manifest does not have";
    return;
  }
  const Prepared &k = ctx->model->kernels[index];
  if (k.kind == pkg::KernelKind::QLinear)
    runQLinear(*ctx, k);
  else if (k.kind == pkg::KernelKind::QConv2D)
    runQConv(*ctx, k);
  else if (k.kind == pkg::KernelKind::WeightOnly)
    runWeightOnly(*ctx, k);
  else if (ctx->error.empty())
    ctx->error = "compiled code called kernel " + std::to_string(index) +
                 ", which is generated code, not a runtime kernel";
}

void callParallel(int64_t context, LoopPart part, uint8_t *arena,
                  const uint8_t *weights, int64_t n) {
  auto *ctx = reinterpret_cast<qcc_context *>(context);
  if (n <= 0)
    return;
  if (!ctx->pool || n < 2) {
    part(arena, weights, 0, n);
    return;
  }
  ctx->pool->parallelFor(
      n, [&](int64_t begin, int64_t end) { part(arena, weights, begin, end); });
}

const pkg::TensorInfo *tensorAt(const qcc_model *model, size_t index,
                                bool output) {
  if (!model)
    return nullptr;
  const auto &list = output ? model->manifest.outputs : model->manifest.inputs;
  return index < list.size() ? &list[index] : nullptr;
}

int describe(const qcc_model *model, size_t index, qcc_tensor_info *info,
             bool output) {
  const pkg::TensorInfo *t = tensorAt(model, index, output);
  if (!t || !info)
    return fail(std::string("no ") + (output ? "output " : "input ") +
                std::to_string(index));
  info->name = t->name.c_str();
  info->dtype = static_cast<qcc_dtype>(t->type);
  info->rank = t->shape.size();
  info->shape = t->shape.data();
  info->bytes = t->byteSize();
  return QCC_OK;
}

} // namespace

extern "C" {

const char *qcc_version(void) { return "0.1.0"; }

const char *qcc_last_error(void) { return lastError.c_str(); }

int qcc_model_load_file(const char *path, qcc_model **model) {
  if (!path)
    return fail("qcc_model_load_file: null path");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in)
    return fail(std::string(path) + ": cannot open");
  const std::streamoff size = in.tellg();
  if (size < 0)
    return fail(std::string(path) + ": cannot read");
  rt::AlignedBuffer<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char *>(bytes.data()), size))
    return fail(std::string(path) + ": cannot read");
  if (loadBytes(std::move(bytes), model) != QCC_OK)
    return fail(std::string(path) + ": " + lastError);
  return QCC_OK;
}

int qcc_model_load_memory(const void *data, size_t size, qcc_model **model) {
  if (!data && size)
    return fail("qcc_model_load_memory: null data");
  rt::AlignedBuffer<uint8_t> bytes(size);
  if (size)
    std::memcpy(bytes.data(), data, size);
  return loadBytes(std::move(bytes), model);
}

void qcc_model_free(qcc_model *model) { delete model; }

size_t qcc_model_num_inputs(const qcc_model *model) {
  return model ? model->manifest.inputs.size() : 0;
}
size_t qcc_model_num_outputs(const qcc_model *model) {
  return model ? model->manifest.outputs.size() : 0;
}
int qcc_model_input(const qcc_model *model, size_t index,
                    qcc_tensor_info *info) {
  return describe(model, index, info, false);
}
int qcc_model_output(const qcc_model *model, size_t index,
                     qcc_tensor_info *info) {
  return describe(model, index, info, true);
}
size_t qcc_model_arena_bytes(const qcc_model *model) {
  return model ? model->manifest.arenaBytes : 0;
}
size_t qcc_model_weight_bytes(const qcc_model *model) {
  return model ? model->manifest.weightBytes : 0;
}
const char *qcc_model_target(const qcc_model *model) {
  return model ? model->manifest.target.c_str() : "";
}
const char *qcc_model_device(const qcc_model *model) {
  return model && model->cuda ? "cuda" : "cpu";
}

int qcc_context_create(const qcc_model *model, int threads,
                       qcc_context **context) {
  if (!model || !context)
    return fail("qcc_context_create: null argument");
  if (threads < 0)
    return fail("qcc_context_create: negative thread count");
  auto ctx = std::make_unique<qcc_context>();
  ctx->model = model;
  ctx->arena.resize(std::max<size_t>(model->manifest.arenaBytes, 1));
  if (model->cuda) {
    std::string error;
    ctx->cuda = rt::CudaContext::create(*model->cuda, error);
    if (!ctx->cuda)
      return fail(error);
    *context = ctx.release();
    return QCC_OK;
  }
  ctx->scratch.resize(model->scratchBytes);
  ctx->pool = std::make_unique<rt::ThreadPool>(threads);
  *context = ctx.release();
  return QCC_OK;
}

void qcc_context_free(qcc_context *context) { delete context; }

int qcc_context_threads(const qcc_context *context) {
  if (!context)
    return 0;
  return context->cuda ? 1 : context->pool->threads();
}

void *qcc_context_input_data(qcc_context *context, size_t index) {
  const pkg::TensorInfo *t =
      context ? tensorAt(context->model, index, false) : nullptr;
  return t ? context->arena.data() + t->offset : nullptr;
}

const void *qcc_context_output_data(const qcc_context *context, size_t index) {
  const pkg::TensorInfo *t =
      context ? tensorAt(context->model, index, true) : nullptr;
  return t ? context->arena.data() + t->offset : nullptr;
}

int qcc_context_run(qcc_context *context) {
  if (!context)
    return fail("qcc_context_run: null context");
  if (context->cuda) {
    if (std::string e = context->cuda->run(context->arena.data()); !e.empty())
      return fail("run failed: " + e);
    return QCC_OK;
  }
  context->error.clear();
  context->model->entry(reinterpret_cast<int64_t>(context),
                        context->arena.data(), context->model->weights,
                        &callKernel, &callParallel);
  if (!context->error.empty())
    return fail("run failed: " + context->error);
  return QCC_OK;
}

size_t qcc_model_num_kernels(const qcc_model *model) {
  return model ? model->manifest.kernels.size() : 0;
}

int qcc_context_time_kernels(qcc_context *const *contexts, size_t num_contexts,
                             int repeats, double *ms_per_kernel,
                             size_t num_kernels) {
  if (!contexts || num_contexts == 0 || (!ms_per_kernel && num_kernels))
    return fail("qcc_context_time_kernels: null argument");
  std::vector<rt::CudaContext *> cuda;
  for (size_t i = 0; i < num_contexts; ++i) {
    if (!contexts[i])
      return fail("qcc_context_time_kernels: null context");
    if (!contexts[i]->cuda)
      return fail("qcc_context_time_kernels: kernels of a CPU package are "
                  "not timed one by one");
    cuda.push_back(contexts[i]->cuda.get());
  }
  if (std::string e = rt::CudaContext::timeKernels(
          cuda, repeats, std::span<double>(ms_per_kernel, num_kernels));
      !e.empty())
    return fail("qcc_context_time_kernels: " + e);
  return QCC_OK;
}

int qcc_run(qcc_context *context, const void *const *inputs, size_t num_inputs,
            void *const *outputs, size_t num_outputs) {
  if (!context)
    return fail("qcc_run: null context");
  const pkg::Manifest &m = context->model->manifest;
  if (num_inputs != m.inputs.size() || num_outputs != m.outputs.size())
    return fail("qcc_run: the model takes " + std::to_string(m.inputs.size()) +
                " inputs and gives " + std::to_string(m.outputs.size()) +
                " outputs; got " + std::to_string(num_inputs) + " and " +
                std::to_string(num_outputs));
  for (size_t i = 0; i < num_inputs; ++i) {
    if (!inputs[i] && m.inputs[i].byteSize())
      return fail("qcc_run: input '" + m.inputs[i].name + "' is null");
    if (m.inputs[i].byteSize())
      std::memcpy(context->arena.data() + m.inputs[i].offset, inputs[i],
                  m.inputs[i].byteSize());
  }
  if (qcc_context_run(context) != QCC_OK)
    return QCC_ERROR;
  for (size_t o = 0; o < num_outputs; ++o) {
    if (!outputs[o] && m.outputs[o].byteSize())
      return fail("qcc_run: output '" + m.outputs[o].name + "' is null");
    if (m.outputs[o].byteSize())
      std::memcpy(outputs[o], context->arena.data() + m.outputs[o].offset,
                  m.outputs[o].byteSize());
  }
  return QCC_OK;
}

} // extern "C"
