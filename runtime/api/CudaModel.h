// The CUDA side of the runtime behind qcc/runtime.h: a package whose code is
// PTX. Loading checks the manifest, the PTX section and every kernel's
// launch configuration before the driver is touched, then JIT-compiles the
// PTX for the GPU and uploads the weights once. A context owns the device
// arena and a stream; a run copies the inputs up, launches the kernels in
// manifest order and copies the outputs back to the host arena.
#ifndef QCC_RUNTIME_API_CUDAMODEL_H
#define QCC_RUNTIME_API_CUDAMODEL_H

#include "runtime/cuda/CudaDriver.h"
#include "runtime/package/Manifest.h"
#include "runtime/package/PtxModules.h"

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace qcc::rt {

/// Checks what needs no GPU: the target and entry, the PTX section, and that
/// every kernel is a CudaKernel with a launch configuration inside CUDA's
/// limits. Fills `modules`; returns an empty string or the reason.
std::string checkCudaPackage(const pkg::Manifest &manifest,
                             std::span<const uint8_t> ptxSection,
                             std::vector<pkg::PtxModule> &modules);

class CudaModel {
public:
  /// Loads a package that checkCudaPackage accepted on device 0. The
  /// manifest must outlive the model; `weights` holds manifest.weightBytes
  /// bytes (it may be null when that is 0). Returns null and sets `error`.
  static std::unique_ptr<CudaModel>
  load(const pkg::Manifest &manifest,
       const std::vector<pkg::PtxModule> &modules, const uint8_t *weights,
       std::string &error);
  ~CudaModel();
  CudaModel(const CudaModel &) = delete;
  CudaModel &operator=(const CudaModel &) = delete;

private:
  friend class CudaContext;
  CudaModel() = default;
  std::string load(const std::vector<pkg::PtxModule> &modules,
                   const uint8_t *weights);

  const CudaDriver *driver = nullptr;
  const pkg::Manifest *manifest = nullptr;
  CUdevice device = 0;
  CUcontext context = nullptr; // the device's primary context, retained
  CUmodule module = nullptr;
  std::vector<CUfunction> functions; // one per manifest kernel
  CUdeviceptr weights = 0;
};

class CudaContext {
public:
  static std::unique_ptr<CudaContext> create(const CudaModel &model,
                                             std::string &error);
  ~CudaContext();
  CudaContext(const CudaContext &) = delete;
  CudaContext &operator=(const CudaContext &) = delete;

  /// One run: the inputs from `hostArena` (arenaBytes bytes, laid out as the
  /// device arena) up, every kernel, the outputs back into `hostArena`.
  /// Returns an empty string or the reason the run failed.
  std::string run(uint8_t *hostArena);

  /// For benchmarks: times each kernel with CUDA events on the stream of
  /// contexts[0]. Per kernel i, one warm-up round, then `repeats` rounds
  /// that each launch kernel i of every context in turn (copies of a model
  /// with their own weights, run round-robin, keep the weights out of the L2
  /// cache). msPerKernel[i] gets the mean time of one launch. All contexts
  /// must be of one GPU and have msPerKernel.size() kernels. The kernels see
  /// whatever the device arenas hold. Returns an empty string or the reason.
  static std::string timeKernels(std::span<CudaContext *const> contexts,
                                 int repeats, std::span<double> msPerKernel);

private:
  explicit CudaContext(const CudaModel &model) : model(model) {}
  /// Queues kernel `index` on `on`.
  std::string launch(size_t index, CUstream on) const;
  const CudaModel &model;
  CUdeviceptr arena = 0;
  CUstream stream = nullptr;
  /// QCC_CUDA_SYNC=1: wait for each kernel, so that an error that only
  /// shows when the GPU runs it names the kernel.
  bool syncEachKernel = false;
};

} // namespace qcc::rt

#endif // QCC_RUNTIME_API_CUDAMODEL_H
