// Loads the CUDA driver library and its entry points, once per path.
#include "runtime/cuda/CudaDriver.h"

#include <dlfcn.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

namespace qcc::rt {

namespace {
constexpr const char *kDefaultLibrary = "libcuda.so.1";

/// Points `slot` at the first of `names` that the library exports.
template <typename Fn>
bool bind(void *library, Fn &slot, std::initializer_list<const char *> names) {
  for (const char *name : names)
    if (void *symbol = dlsym(library, name)) {
      slot = reinterpret_cast<Fn>(symbol);
      return true;
    }
  return false;
}
} // namespace

std::string CudaDriver::load(const std::string &path) {
  library = path;
  const bool fromEnvironment = path != kDefaultLibrary;
  dlerror();
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char *why = dlerror();
    return "CUDA: cannot load the NVIDIA driver library " + path +
           (fromEnvironment ? " (named by QCC_CUDA_DRIVER)"
                            : " (no NVIDIA driver installed?)") +
           ": " + (why ? why : "unknown error");
  }
  // The library stays loaded for the life of the process: the driver does
  // not support being unloaded while its contexts may still exist.
  std::string missing;
  auto need = [&](auto &slot, std::initializer_list<const char *> names) {
    if (!bind(handle, slot, names) && missing.empty())
      missing = *names.begin();
  };
  need(cuInit, {"cuInit"});
  need(cuGetErrorName, {"cuGetErrorName"});
  need(cuGetErrorString, {"cuGetErrorString"});
  need(cuDeviceGetCount, {"cuDeviceGetCount"});
  need(cuDeviceGet, {"cuDeviceGet"});
  need(cuDeviceGetAttribute, {"cuDeviceGetAttribute"});
  need(cuDeviceGetName, {"cuDeviceGetName"});
  need(cuDevicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
  need(cuDevicePrimaryCtxRelease, {"cuDevicePrimaryCtxRelease_v2"});
  need(cuCtxSetCurrent, {"cuCtxSetCurrent"});
  need(cuCtxGetCurrent, {"cuCtxGetCurrent"});
  need(cuCtxSynchronize, {"cuCtxSynchronize"});
  need(cuMemAlloc, {"cuMemAlloc_v2"});
  need(cuMemFree, {"cuMemFree_v2"});
  need(cuMemsetD8, {"cuMemsetD8_v2"});
  need(cuMemcpyHtoD, {"cuMemcpyHtoD_v2"});
  need(cuMemcpyDtoH, {"cuMemcpyDtoH_v2"});
  need(cuMemcpyHtoDAsync, {"cuMemcpyHtoDAsync_v2"});
  need(cuMemcpyDtoHAsync, {"cuMemcpyDtoHAsync_v2"});
  need(cuMemcpyDtoDAsync, {"cuMemcpyDtoDAsync_v2"});
  need(cuModuleLoadDataEx, {"cuModuleLoadDataEx"});
  need(cuModuleUnload, {"cuModuleUnload"});
  need(cuModuleGetFunction, {"cuModuleGetFunction"});
  need(cuFuncSetAttribute, {"cuFuncSetAttribute"});
  need(cuLaunchKernel, {"cuLaunchKernel"});
  need(cuStreamCreate, {"cuStreamCreate"});
  need(cuStreamDestroy, {"cuStreamDestroy_v2"});
  need(cuStreamSynchronize, {"cuStreamSynchronize"});
  need(cuEventCreate, {"cuEventCreate"});
  need(cuEventRecord, {"cuEventRecord"});
  need(cuEventSynchronize, {"cuEventSynchronize"});
  need(cuEventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"});
  need(cuEventDestroy, {"cuEventDestroy_v2"});
  if (!missing.empty())
    return "CUDA: the driver library " + path + " has no " + missing +
           " (not an NVIDIA driver, or one too old for this runtime)";
  if (CUresult r = cuInit(0); r != kCudaSuccess)
    return r == kCudaErrorNoDevice
               ? "CUDA: no GPU found (cuInit: " + describe(r) + ")"
               : check(r, "cuInit");
  return {};
}

const CudaDriver *CudaDriver::get(std::string &error) {
  // One load per path rather than one per process, so that a test can point
  // QCC_CUDA_DRIVER elsewhere after the real driver was loaded.
  struct Loaded {
    std::unique_ptr<CudaDriver> driver;
    std::string error;
  };
  static std::mutex mutex;
  static std::map<std::string, Loaded> loaded;
  const char *env = std::getenv("QCC_CUDA_DRIVER");
  const std::string path = env && *env ? env : kDefaultLibrary;
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = loaded.try_emplace(path);
  if (inserted) {
    std::unique_ptr<CudaDriver> driver(new CudaDriver);
    it->second.error = driver->load(path);
    if (it->second.error.empty())
      it->second.driver = std::move(driver);
  }
  error = it->second.error;
  return it->second.driver.get();
}

std::string CudaDriver::describe(CUresult result) const {
  const char *name = nullptr, *text = nullptr;
  if (cuGetErrorName(result, &name) != kCudaSuccess || !name)
    return "CUDA error " + std::to_string(result);
  std::string s = name;
  if (cuGetErrorString(result, &text) == kCudaSuccess && text)
    s += std::string(": ") + text;
  return s;
}

std::string CudaDriver::check(CUresult result, const char *call) const {
  if (result == kCudaSuccess)
    return {};
  return std::string("CUDA: ") + call + " failed: " + describe(result);
}

} // namespace qcc::rt
