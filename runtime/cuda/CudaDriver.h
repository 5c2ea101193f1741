// The CUDA driver API, reached through a table of function pointers that is
// filled from libcuda.so.1 at run time (dlopen). The runtime builds and runs
// on machines without an NVIDIA driver: there it reports that CUDA is
// unavailable instead of failing to start. No CUDA headers are needed; the
// few types and constants used are declared here with the driver's values.
#ifndef QCC_RUNTIME_CUDA_CUDADRIVER_H
#define QCC_RUNTIME_CUDA_CUDADRIVER_H

#include <cstddef>
#include <string>

namespace qcc::rt {

// Opaque handles and plain types of cuda.h.
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUevent = void *;

// The values of cuda.h's enumerators that the runtime uses.
inline constexpr CUresult kCudaSuccess = 0;
inline constexpr CUresult kCudaErrorNoDevice = 100;
inline constexpr int kCuDeviceAttributeComputeCapabilityMajor = 75;
inline constexpr int kCuDeviceAttributeComputeCapabilityMinor = 76;
inline constexpr int kCuDeviceAttributeMaxSharedMemoryPerBlockOptin = 97;
inline constexpr int kCuDeviceAttributeL2CacheSize = 38;
inline constexpr int kCuFuncAttributeMaxDynamicSharedSizeBytes = 8;
inline constexpr int kCuJitInfoLogBuffer = 3;
inline constexpr int kCuJitInfoLogBufferSizeBytes = 4;
inline constexpr int kCuJitErrorLogBuffer = 5;
inline constexpr int kCuJitErrorLogBufferSizeBytes = 6;
inline constexpr unsigned kCuStreamNonBlocking = 1;
inline constexpr unsigned kCuEventDefault = 0;

/// The driver's entry points. Each member points to the versioned symbol
/// where the driver exports one (cuMemAlloc is cuMemAlloc_v2, as cuda.h
/// maps it).
class CudaDriver {
public:
  /// The driver library that QCC_CUDA_DRIVER names, or libcuda.so.1, loaded
  /// and initialized (cuInit) once per process and path; thread-safe. Returns
  /// null and sets `error` when there is no driver, it lacks an entry point,
  /// or it finds no GPU.
  static const CudaDriver *get(std::string &error);

  /// "" for CUDA_SUCCESS, otherwise "CUDA: <call> failed: <name>: <text>".
  std::string check(CUresult result, const char *call) const;
  /// "CUDA_ERROR_OUT_OF_MEMORY: out of memory" (or the number, for a value
  /// the driver does not know).
  std::string describe(CUresult result) const;

  CUresult (*cuInit)(unsigned flags) = nullptr;
  CUresult (*cuGetErrorName)(CUresult, const char **) = nullptr;
  CUresult (*cuGetErrorString)(CUresult, const char **) = nullptr;
  CUresult (*cuDeviceGetCount)(int *) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice *, int ordinal) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int *, int attribute, CUdevice) = nullptr;
  CUresult (*cuDeviceGetName)(char *, int length, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice) = nullptr;
  CUresult (*cuCtxSetCurrent)(CUcontext) = nullptr;
  CUresult (*cuCtxGetCurrent)(CUcontext *) = nullptr;
  CUresult (*cuCtxSynchronize)() = nullptr;
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t) = nullptr;
  CUresult (*cuMemFree)(CUdeviceptr) = nullptr;
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t) = nullptr;
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t) = nullptr;
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t) = nullptr;
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t,
                                CUstream) = nullptr;
  CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t,
                                CUstream) = nullptr;
  CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t,
                                CUstream) = nullptr;
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *image,
                                 unsigned numOptions, int *options,
                                 void **optionValues) = nullptr;
  CUresult (*cuModuleUnload)(CUmodule) = nullptr;
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule,
                                  const char *name) = nullptr;
  CUresult (*cuFuncSetAttribute)(CUfunction, int attribute,
                                 int value) = nullptr;
  CUresult (*cuLaunchKernel)(CUfunction, unsigned gridX, unsigned gridY,
                             unsigned gridZ, unsigned blockX, unsigned blockY,
                             unsigned blockZ, unsigned sharedBytes, CUstream,
                             void **params, void **extra) = nullptr;
  CUresult (*cuStreamCreate)(CUstream *, unsigned flags) = nullptr;
  CUresult (*cuStreamDestroy)(CUstream) = nullptr;
  CUresult (*cuStreamSynchronize)(CUstream) = nullptr;
  CUresult (*cuEventCreate)(CUevent *, unsigned flags) = nullptr;
  CUresult (*cuEventRecord)(CUevent, CUstream) = nullptr;
  CUresult (*cuEventSynchronize)(CUevent) = nullptr;
  CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent) = nullptr;
  CUresult (*cuEventDestroy)(CUevent) = nullptr;

  /// The library the table came from.
  const std::string &path() const { return library; }

private:
  CudaDriver() = default;
  std::string load(const std::string &path);
  std::string library;
};

} // namespace qcc::rt

#endif // QCC_RUNTIME_CUDA_CUDADRIVER_H
