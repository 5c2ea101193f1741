// CUDA models and contexts of the runtime: checks, PTX loading, launches.
#include "runtime/api/CudaModel.h"

#include "runtime/api/KernelParams.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace qcc::rt {

namespace {
namespace cl = kernel::cuda;

constexpr int64_t kMaxGridX = (int64_t{1} << 31) - 1;
constexpr int64_t kMaxGridYZ = 65535;
constexpr int64_t kMaxBlockThreads = 1024;
constexpr int64_t kMaxBlockZ = 64;
/// The most dynamic shared memory any GPU offers a block (sm_90).
constexpr int64_t kMaxSharedBytes = 227 * 1024;
/// What a kernel gets without opting in through cuFuncSetAttribute.
constexpr int64_t kDefaultSharedBytes = 48 * 1024;

const char *kindName(pkg::KernelKind kind) {
  switch (kind) {
  case pkg::KernelKind::Generated:
    return "generated CPU code";
  case pkg::KernelKind::QLinear:
    return "a qlinear CPU kernel";
  case pkg::KernelKind::QConv2D:
    return "a qconv2d CPU kernel";
  case pkg::KernelKind::WeightOnly:
    return "a weight-only CPU kernel";
  case pkg::KernelKind::CudaKernel:
    return "a CUDA kernel";
  }
  return "an unknown kind";
}

/// A PTX identifier: a letter, '_' or '$', then letters, digits, '_', '$'.
bool isPtxSymbol(const std::string &name) {
  auto letter = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == '$';
  };
  return !name.empty() && name.size() <= 1024 && letter(name[0]) &&
         std::all_of(name.begin(), name.end(), [&](char c) {
           return letter(c) || (c >= '0' && c <= '9');
         });
}

std::string triple(const std::vector<int64_t> &p, int first) {
  return "(" + std::to_string(p[first]) + ", " + std::to_string(p[first + 1]) +
         ", " + std::to_string(p[first + 2]) + ")";
}

std::string checkLaunch(const pkg::KernelInfo &k) {
  if (k.kind != pkg::KernelKind::CudaKernel)
    return std::string("a CUDA package holds only CUDA kernels; this is ") +
           kindName(k.kind);
  if (!isPtxSymbol(k.name))
    return "the name is not a PTX symbol";
  const std::vector<int64_t> &p = k.params;
  if (p.size() != cl::Count)
    return "expected " + std::to_string(cl::Count) +
           " launch parameters (grid x, y, z, block x, y, z, dynamic shared "
           "bytes), got " +
           std::to_string(p.size());
  if (p[cl::GridX] < 1 || p[cl::GridX] > kMaxGridX || p[cl::GridY] < 1 ||
      p[cl::GridY] > kMaxGridYZ || p[cl::GridZ] < 1 ||
      p[cl::GridZ] > kMaxGridYZ)
    return "grid " + triple(p, cl::GridX) +
           " out of range (x 1 to 2^31-1, y and z 1 to 65535)";
  const int64_t bx = p[cl::BlockX], by = p[cl::BlockY], bz = p[cl::BlockZ];
  if (bx < 1 || by < 1 || bz < 1 || bx > kMaxBlockThreads ||
      by > kMaxBlockThreads || bz > kMaxBlockZ ||
      bx * by * bz > kMaxBlockThreads)
    return "block " + triple(p, cl::BlockX) +
           " out of range (x and y 1 to 1024, z 1 to 64, at most 1024 "
           "threads)";
  if (p[cl::DynamicSharedBytes] < 0 ||
      p[cl::DynamicSharedBytes] > kMaxSharedBytes)
    return "dynamic shared memory of " +
           std::to_string(p[cl::DynamicSharedBytes]) +
           " bytes out of range (0 to " + std::to_string(kMaxSharedBytes) + ")";
  return {};
}

std::string kernelLabel(const pkg::Manifest &m, size_t i) {
  const pkg::KernelInfo &k = m.kernels[i];
  return "kernel " + std::to_string(i) + " (" + k.name +
         (k.source.empty() ? "" : ", from " + k.source) + ")";
}

/// Makes `context` current on this thread for a scope, and restores the
/// caller's context after (an application may use its own CUDA contexts).
class ScopedCurrent {
public:
  ScopedCurrent(const CudaDriver &driver, CUcontext context) : driver(driver) {
    if (driver.cuCtxGetCurrent(&previous) != kCudaSuccess)
      previous = nullptr;
    if (previous == context)
      return;
    error = driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    switched = error.empty();
  }
  ~ScopedCurrent() {
    if (switched)
      driver.cuCtxSetCurrent(previous);
  }
  ScopedCurrent(const ScopedCurrent &) = delete;
  ScopedCurrent &operator=(const ScopedCurrent &) = delete;
  std::string error;

private:
  const CudaDriver &driver;
  CUcontext previous = nullptr;
  bool switched = false;
};
} // namespace

std::string checkCudaPackage(const pkg::Manifest &m,
                             std::span<const uint8_t> ptxSection,
                             std::vector<pkg::PtxModule> &modules) {
  if (!pkg::isCudaTarget(m))
    return "package holds PTX code but its manifest targets '" + m.target + "'";
  if (!m.entry.empty())
    return "manifest of a CUDA package names an entry point '" + m.entry +
           "'; CUDA kernels are launched one by one";
  if (std::string e = pkg::decodePtxModules(ptxSection, modules); !e.empty())
    return e;
  for (size_t i = 0; i < m.kernels.size(); ++i)
    if (std::string e = checkLaunch(m.kernels[i]); !e.empty())
      return "kernel " + std::to_string(i) + " (" + m.kernels[i].name +
             "): " + e;
  return {};
}

std::unique_ptr<CudaModel>
CudaModel::load(const pkg::Manifest &manifest,
                const std::vector<pkg::PtxModule> &modules,
                const uint8_t *weights, std::string &error) {
  std::unique_ptr<CudaModel> model(new CudaModel);
  model->manifest = &manifest;
  error = model->load(modules, weights);
  if (!error.empty())
    return nullptr;
  return model;
}

std::string CudaModel::load(const std::vector<pkg::PtxModule> &modules,
                            const uint8_t *hostWeights) {
  std::string error;
  driver = CudaDriver::get(error);
  if (!driver)
    return error;
  const CudaDriver &d = *driver;
  int count = 0;
  if (std::string e = d.check(d.cuDeviceGetCount(&count), "cuDeviceGetCount");
      !e.empty())
    return e;
  if (count < 1)
    return "CUDA: no GPU found (cuDeviceGetCount: 0 devices)";
  if (std::string e = d.check(d.cuDeviceGet(&device, 0), "cuDeviceGet");
      !e.empty())
    return e;
  int major = 0, minor = 0;
  if (std::string e =
          d.check(d.cuDeviceGetAttribute(
                      &major, kCuDeviceAttributeComputeCapabilityMajor, device),
                  "cuDeviceGetAttribute");
      !e.empty())
    return e;
  if (std::string e =
          d.check(d.cuDeviceGetAttribute(
                      &minor, kCuDeviceAttributeComputeCapabilityMinor, device),
                  "cuDeviceGetAttribute");
      !e.empty())
    return e;
  char nameBuffer[256] = {};
  if (d.cuDeviceGetName(nameBuffer, sizeof nameBuffer - 1, device) !=
      kCudaSuccess)
    nameBuffer[0] = 0;
  const std::string gpu = std::string(nameBuffer[0] ? nameBuffer : "GPU 0") +
                          ", compute capability " + std::to_string(major) +
                          "." + std::to_string(minor);

  // The newest PTX this GPU runs. PTX for sm_XY runs on compute capability
  // X.Y and later, except the architecture-specific sm_XYa, which runs on
  // X.Y only and is preferred there.
  const int capability = major * 10 + minor;
  const pkg::PtxModule *chosen = nullptr;
  int chosenVersion = -1;
  std::string archs;
  for (const pkg::PtxModule &m : modules) {
    archs += (archs.empty() ? "" : ", ") + m.arch;
    const int version = pkg::ptxArchVersion(m.arch);
    const bool specific = m.arch.ends_with('a');
    if (specific ? version != capability : version > capability)
      continue;
    if (version > chosenVersion || (version == chosenVersion && specific)) {
      chosen = &m;
      chosenVersion = version;
    }
  }
  if (!chosen)
    return "CUDA: the package's PTX is for " + archs + "; this GPU (" + gpu +
           ") runs none of them";

  if (std::string e = d.check(d.cuDevicePrimaryCtxRetain(&context, device),
                              "cuDevicePrimaryCtxRetain");
      !e.empty()) {
    context = nullptr;
    return e;
  }
  ScopedCurrent current(d, context);
  if (!current.error.empty())
    return current.error;

  char log[8192] = {};
  int options[] = {kCuJitErrorLogBuffer, kCuJitErrorLogBufferSizeBytes};
  void *values[] = {log, reinterpret_cast<void *>(uintptr_t{sizeof log - 1})};
  if (CUresult r = d.cuModuleLoadDataEx(&module, chosen->ptx.c_str(), 2,
                                        options, values);
      r != kCudaSuccess) {
    module = nullptr;
    return "CUDA: cannot load the " + chosen->arch + " PTX on " + gpu + ": " +
           d.check(r, "cuModuleLoadDataEx") +
           (log[0] ? std::string("; JIT log: ") + log : "");
  }

  int sharedOptin = 0;
  for (size_t i = 0; i < manifest->kernels.size(); ++i) {
    const pkg::KernelInfo &k = manifest->kernels[i];
    CUfunction f = nullptr;
    if (std::string e =
            d.check(d.cuModuleGetFunction(&f, module, k.name.c_str()),
                    "cuModuleGetFunction");
        !e.empty())
      return kernelLabel(*manifest, i) + ": not found in the " + chosen->arch +
             " PTX (" + e + ")";
    functions.push_back(f);
    const int64_t shared = k.params[cl::DynamicSharedBytes];
    if (shared <= kDefaultSharedBytes)
      continue;
    if (!sharedOptin &&
        d.cuDeviceGetAttribute(&sharedOptin,
                               kCuDeviceAttributeMaxSharedMemoryPerBlockOptin,
                               device) != kCudaSuccess)
      sharedOptin = 0;
    if (sharedOptin && shared > sharedOptin)
      return kernelLabel(*manifest, i) + ": needs " + std::to_string(shared) +
             " bytes of dynamic shared memory; " + gpu + " allows " +
             std::to_string(sharedOptin);
    if (std::string e = d.check(
            d.cuFuncSetAttribute(f, kCuFuncAttributeMaxDynamicSharedSizeBytes,
                                 static_cast<int>(shared)),
            "cuFuncSetAttribute");
        !e.empty())
      return kernelLabel(*manifest, i) + ": " + e;
  }

  const size_t weightBytes = manifest->weightBytes;
  if (std::string e =
          d.check(d.cuMemAlloc(&weights, std::max<size_t>(weightBytes, 1)),
                  "cuMemAlloc");
      !e.empty()) {
    weights = 0;
    return e + " (" + std::to_string(weightBytes) + " bytes of weights)";
  }
  if (weightBytes)
    return d.check(d.cuMemcpyHtoD(weights, hostWeights, weightBytes),
                   "cuMemcpyHtoD");
  return {};
}

CudaModel::~CudaModel() {
  if (!driver || !context)
    return;
  const CudaDriver &d = *driver;
  {
    ScopedCurrent current(d, context);
    if (current.error.empty()) {
      if (weights)
        d.cuMemFree(weights);
      if (module)
        d.cuModuleUnload(module);
    }
  }
  d.cuDevicePrimaryCtxRelease(device);
}

std::unique_ptr<CudaContext> CudaContext::create(const CudaModel &model,
                                                 std::string &error) {
  std::unique_ptr<CudaContext> ctx(new CudaContext(model));
  const CudaDriver &d = *model.driver;
  ScopedCurrent current(d, model.context);
  if (!current.error.empty()) {
    error = current.error;
    return nullptr;
  }
  const size_t bytes = std::max<size_t>(model.manifest->arenaBytes, 1);
  error = d.check(d.cuMemAlloc(&ctx->arena, bytes), "cuMemAlloc");
  if (!error.empty()) {
    ctx->arena = 0;
    error += " (" + std::to_string(bytes) + " bytes of arena)";
    return nullptr;
  }
  // Zeroed like the CPU arena, so that a run never sees stale memory.
  error = d.check(d.cuMemsetD8(ctx->arena, 0, bytes), "cuMemsetD8");
  if (error.empty())
    error = d.check(d.cuStreamCreate(&ctx->stream, kCuStreamNonBlocking),
                    "cuStreamCreate");
  if (!error.empty()) {
    ctx->stream = nullptr;
    return nullptr;
  }
  const char *sync = std::getenv("QCC_CUDA_SYNC");
  ctx->syncEachKernel = sync && *sync && std::string(sync) != "0";
  return ctx;
}

CudaContext::~CudaContext() {
  const CudaDriver &d = *model.driver;
  ScopedCurrent current(d, model.context);
  if (!current.error.empty())
    return;
  if (stream) {
    d.cuStreamSynchronize(stream);
    d.cuStreamDestroy(stream);
  }
  if (arena)
    d.cuMemFree(arena);
}

std::string CudaContext::run(uint8_t *hostArena) {
  const CudaDriver &d = *model.driver;
  const pkg::Manifest &m = *model.manifest;
  ScopedCurrent current(d, model.context);
  if (!current.error.empty())
    return current.error;
  // On a failure, work already queued must finish before the host arena may
  // be touched again; its own error, if any, is the one reported.
  auto abandon = [&](std::string error) {
    d.cuStreamSynchronize(stream);
    return error;
  };
  for (const pkg::TensorInfo &t : m.inputs)
    if (t.byteSize())
      if (std::string e = d.check(d.cuMemcpyHtoDAsync(arena + t.offset,
                                                      hostArena + t.offset,
                                                      t.byteSize(), stream),
                                  "cuMemcpyHtoDAsync");
          !e.empty())
        return abandon(e + " (input '" + t.name + "')");
  for (size_t i = 0; i < m.kernels.size(); ++i) {
    if (std::string e = launch(i, stream); !e.empty())
      return abandon(e);
    if (syncEachKernel)
      if (std::string e =
              d.check(d.cuStreamSynchronize(stream), "cuStreamSynchronize");
          !e.empty())
        return kernelLabel(m, i) + ": " + e;
  }
  for (const pkg::TensorInfo &t : m.outputs)
    if (t.byteSize())
      if (std::string e = d.check(d.cuMemcpyDtoHAsync(hostArena + t.offset,
                                                      arena + t.offset,
                                                      t.byteSize(), stream),
                                  "cuMemcpyDtoHAsync");
          !e.empty())
        return abandon(e + " (output '" + t.name + "')");
  if (std::string e =
          d.check(d.cuStreamSynchronize(stream), "cuStreamSynchronize");
      !e.empty())
    return e + (m.kernels.empty() || syncEachKernel
                    ? ""
                    : " (in one of the " + std::to_string(m.kernels.size()) +
                          " kernels; run with QCC_CUDA_SYNC=1 to find which)");
  return {};
}

std::string CudaContext::launch(size_t index, CUstream on) const {
  const CudaDriver &d = *model.driver;
  const pkg::Manifest &m = *model.manifest;
  const std::vector<int64_t> &p = m.kernels[index].params;
  auto u = [&](int i) { return static_cast<unsigned>(p[i]); };
  CUdeviceptr arenaPointer = arena, weightsPointer = model.weights;
  void *args[] = {&arenaPointer, &weightsPointer};
  if (std::string e =
          d.check(d.cuLaunchKernel(
                      model.functions[index], u(cl::GridX), u(cl::GridY),
                      u(cl::GridZ), u(cl::BlockX), u(cl::BlockY), u(cl::BlockZ),
                      u(cl::DynamicSharedBytes), on, args, nullptr),
                  "cuLaunchKernel");
      !e.empty())
    return kernelLabel(m, index) + ": " + e;
  return {};
}

std::string CudaContext::timeKernels(std::span<CudaContext *const> contexts,
                                     int repeats,
                                     std::span<double> msPerKernel) {
  if (contexts.empty() || repeats < 1)
    return "timing needs a context and at least one repeat";
  const CudaModel &first = contexts[0]->model;
  for (const CudaContext *c : contexts)
    if (c->model.context != first.context)
      return "timing needs contexts of one GPU";
    else if (c->model.manifest->kernels.size() != msPerKernel.size())
      return "a model has " +
             std::to_string(c->model.manifest->kernels.size()) +
             " kernels, not " + std::to_string(msPerKernel.size());
  const CudaDriver &d = *first.driver;
  ScopedCurrent current(d, first.context);
  if (!current.error.empty())
    return current.error;
  CUstream on = contexts[0]->stream;
  CUevent start = nullptr, stop = nullptr;
  std::string error =
      d.check(d.cuEventCreate(&start, kCuEventDefault), "cuEventCreate");
  if (error.empty())
    error = d.check(d.cuEventCreate(&stop, kCuEventDefault), "cuEventCreate");
  for (size_t i = 0; error.empty() && i < msPerKernel.size(); ++i) {
    auto round = [&]() -> std::string {
      for (const CudaContext *c : contexts)
        if (std::string e = c->launch(i, on); !e.empty())
          return e;
      return {};
    };
    error = round();
    if (error.empty())
      error = d.check(d.cuEventRecord(start, on), "cuEventRecord");
    for (int r = 0; error.empty() && r < repeats; ++r)
      error = round();
    if (error.empty())
      error = d.check(d.cuEventRecord(stop, on), "cuEventRecord");
    if (error.empty())
      error = d.check(d.cuEventSynchronize(stop), "cuEventSynchronize");
    float ms = 0;
    if (error.empty())
      error =
          d.check(d.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
    msPerKernel[i] = error.empty()
                         ? ms / (static_cast<double>(repeats) * contexts.size())
                         : 0;
  }
  d.cuStreamSynchronize(on);
  if (start)
    d.cuEventDestroy(start);
  if (stop)
    d.cuEventDestroy(stop);
  return error;
}

} // namespace qcc::rt
