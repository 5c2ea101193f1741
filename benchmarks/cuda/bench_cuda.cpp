// qcc-bench-cuda: the GPU benchmark of issue 6. Prints our CUDA kernels
// against peers measured in the same run, never as a test:
//   - the HBM bandwidth, measured here by a device-to-device copy;
//   - weight-only GEMV packages, int4 (W4A16) and int8 (W8A16) (f32 input
//     [1, K], output [1, N]): enough copies of the model to hold more than
//     twice the L2 cache run round-robin, time per GEMV and bandwidth (the
//     package's weights section plus x and y) as a fraction of the HBM's;
//   - int8 GEMM packages (u8 input [M, K], output [M, N]): our kernel
//     against cuBLAS int8 (cublasGemmEx, 8I x 8I -> 32I) and FP16 GEMM on the
//     same shape, when libcublas can be loaded (--cublas PATH, QCC_CUBLAS,
//     or libcublas.so.13/.12/.so); without it those rows are skipped.
// All times come from CUDA events. The packages come from
// benchmarks/cuda/make_models.py; the tool needs only the runtime.
#include "qcc/runtime.h"
#include "runtime/cuda/CudaDriver.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <functional>
#include <string>
#include <vector>

using namespace qcc::rt;

namespace {

struct Row {
  std::string name, shape, peer;
  double ms = 0, peerMs = 0; // peerMs 0: no peer
  double gbps = 0, hbmFraction = 0, tops = 0, peerTops = 0;
  int copies = 0;
};

[[noreturn]] void die(const std::string &message) {
  std::fprintf(stderr, "qcc-bench-cuda: %s\n", message.c_str());
  std::exit(1);
}

void check(const CudaDriver &d, CUresult r, const char *call) {
  if (std::string e = d.check(r, call); !e.empty())
    die(e);
}

void checkQcc(int status, const std::string &what) {
  if (status != QCC_OK)
    die(what + ": " + qcc_last_error());
}

/// Best (smallest) mean milliseconds per call of `enqueue` over `trials`
/// trials of `repeats` calls each, after `warmup` calls; events on `stream`.
double bestMs(const CudaDriver &d, CUstream stream,
              const std::function<void()> &enqueue, int repeats, int trials = 5,
              int warmup = 3) {
  CUevent start, stop;
  check(d, d.cuEventCreate(&start, kCuEventDefault), "cuEventCreate");
  check(d, d.cuEventCreate(&stop, kCuEventDefault), "cuEventCreate");
  for (int i = 0; i < warmup; ++i)
    enqueue();
  double best = 1e30;
  for (int t = 0; t < trials; ++t) {
    check(d, d.cuEventRecord(start, stream), "cuEventRecord");
    for (int i = 0; i < repeats; ++i)
      enqueue();
    check(d, d.cuEventRecord(stop, stream), "cuEventRecord");
    check(d, d.cuEventSynchronize(stop), "cuEventSynchronize");
    float ms = 0;
    check(d, d.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
    best = std::min(best, static_cast<double>(ms) / repeats);
  }
  d.cuEventDestroy(start);
  d.cuEventDestroy(stop);
  return best;
}

// The few cuBLAS declarations used, with cublas_api.h's values.
using CublasHandle = void *;
constexpr int kCudaR16F = 2, kCudaR8I = 3, kCudaR32I = 10;
constexpr int kCublasCompute32F = 68, kCublasCompute32I = 72;
constexpr int kCublasOpN = 0, kCublasOpT = 1, kCublasGemmDefault = -1;

struct Cublas {
  std::string path;
  int (*create)(CublasHandle *) = nullptr;
  int (*destroy)(CublasHandle) = nullptr;
  int (*setStream)(CublasHandle, CUstream) = nullptr;
  int (*gemmEx)(CublasHandle, int transa, int transb, int m, int n, int k,
                const void *alpha, const void *a, int aType, int lda,
                const void *b, int bType, int ldb, const void *beta, void *c,
                int cType, int ldc, int computeType, int algo) = nullptr;

  /// Loads the first library that opens; returns the reason none did.
  std::string load(const std::vector<std::string> &candidates) {
    std::string tried;
    for (const std::string &candidate : candidates) {
      void *library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!library) {
        const char *e = dlerror();
        tried += "\n  " + candidate + ": " + (e ? e : "not found");
        continue;
      }
      create =
          reinterpret_cast<decltype(create)>(dlsym(library, "cublasCreate_v2"));
      destroy = reinterpret_cast<decltype(destroy)>(
          dlsym(library, "cublasDestroy_v2"));
      setStream = reinterpret_cast<decltype(setStream)>(
          dlsym(library, "cublasSetStream_v2"));
      gemmEx =
          reinterpret_cast<decltype(gemmEx)>(dlsym(library, "cublasGemmEx"));
      if (create && destroy && setStream && gemmEx) {
        path = candidate;
        return {};
      }
      tried += "\n  " + candidate + ": lacks cublasGemmEx or cublasCreate_v2";
    }
    return "cannot load cuBLAS:" + tried;
  }
};

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s)
    out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

void usage() {
  std::fprintf(stderr,
               "usage: qcc-bench-cuda [--json FILE] [--cublas PATH] "
               "[--repeats N] PACKAGE.qpkg...\n"
               "  gemv packages: f32 input [1, K], weight-only int4 or int8 "
               "weights (make_models.py)\n"
               "  gemm packages: u8 input [M, K], int8 weights [N, K]\n"
               "  cuBLAS: --cublas PATH, else $QCC_CUBLAS, else "
               "libcublas.so.13, .so.12, .so\n");
  std::exit(2);
}

} // namespace

int main(int argc, char **argv) {
  std::string jsonPath, cublasPath;
  int repeats = 200;
  std::vector<std::string> packages;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "--json" || a == "--cublas" || a == "--repeats") &&
        i + 1 < argc) {
      std::string v = argv[++i];
      if (a == "--json")
        jsonPath = v;
      else if (a == "--cublas")
        cublasPath = v;
      else
        repeats = std::max(1, std::atoi(v.c_str()));
    } else if (a.starts_with("-")) {
      usage();
    } else {
      packages.push_back(a);
    }
  }
  if (packages.empty())
    usage();

  std::string error;
  const CudaDriver *driverPtr = CudaDriver::get(error);
  if (!driverPtr)
    die(error);
  const CudaDriver &d = *driverPtr;
  CUdevice device;
  check(d, d.cuDeviceGet(&device, 0), "cuDeviceGet");
  char nameBuffer[256] = {};
  check(d, d.cuDeviceGetName(nameBuffer, sizeof nameBuffer - 1, device),
        "cuDeviceGetName");
  int l2 = 0, major = 0, minor = 0;
  check(d, d.cuDeviceGetAttribute(&l2, kCuDeviceAttributeL2CacheSize, device),
        "cuDeviceGetAttribute");
  d.cuDeviceGetAttribute(&major, kCuDeviceAttributeComputeCapabilityMajor,
                         device);
  d.cuDeviceGetAttribute(&minor, kCuDeviceAttributeComputeCapabilityMinor,
                         device);
  // The primary context, which the runtime's models and cuBLAS also use.
  CUcontext context;
  check(d, d.cuDevicePrimaryCtxRetain(&context, device),
        "cuDevicePrimaryCtxRetain");
  check(d, d.cuCtxSetCurrent(context), "cuCtxSetCurrent");
  CUstream stream;
  check(d, d.cuStreamCreate(&stream, kCuStreamNonBlocking), "cuStreamCreate");
  std::printf("device: %s (compute capability %d.%d), L2 %.1f MiB\n",
              nameBuffer, major, minor, l2 / 1048576.0);

  // HBM bandwidth: a 2 GiB device-to-device copy reads and writes 2 GiB.
  double hbmGBps = 0;
  {
    const size_t bytes = size_t{2} << 30;
    CUdeviceptr src, dst;
    check(d, d.cuMemAlloc(&src, bytes), "cuMemAlloc");
    check(d, d.cuMemAlloc(&dst, bytes), "cuMemAlloc");
    check(d, d.cuMemsetD8(src, 1, bytes), "cuMemsetD8");
    const double ms = bestMs(
        d, stream,
        [&] {
          check(d, d.cuMemcpyDtoDAsync(dst, src, bytes, stream),
                "cuMemcpyDtoDAsync");
        },
        2, 8, 2);
    hbmGBps = 2.0 * bytes / (ms * 1e-3) / 1e9;
    d.cuMemFree(src);
    d.cuMemFree(dst);
    std::printf("HBM bandwidth (2 GiB cuMemcpyDtoD, read + write, best of 8):"
                " %.0f GB/s\n\n",
                hbmGBps);
  }

  Cublas cublas;
  std::string cublasError;
  {
    std::vector<std::string> candidates;
    if (!cublasPath.empty())
      candidates.push_back(cublasPath);
    if (const char *env = std::getenv("QCC_CUBLAS"); env && *env)
      candidates.push_back(env);
    for (const char *n : {"libcublas.so.13", "libcublas.so.12", "libcublas.so"})
      candidates.push_back(n);
    cublasError = cublas.load(candidates);
  }
  CublasHandle handle = nullptr;
  if (cublasError.empty()) {
    if (int s = cublas.create(&handle); s != 0)
      cublasError = "cublasCreate failed with status " + std::to_string(s);
    else
      cublas.setStream(handle, stream);
  }
  if (cublasError.empty())
    std::printf("cuBLAS: %s\n\n", cublas.path.c_str());
  else
    std::printf("cuBLAS rows skipped: %s\n\n", cublasError.c_str());

  std::vector<Row> rows;
  for (const std::string &path : packages) {
    std::string base = path.substr(path.find_last_of('/') + 1);
    qcc_model *first = nullptr;
    checkQcc(qcc_model_load_file(path.c_str(), &first), path);
    if (std::string(qcc_model_device(first)) != "cuda")
      die(path + ": not a CUDA package");
    qcc_tensor_info in, out;
    checkQcc(qcc_model_input(first, 0, &in), path);
    checkQcc(qcc_model_output(first, 0, &out), path);
    if (in.rank != 2 || out.rank != 2)
      die(path + ": expected a rank-2 input and output");
    const int64_t m = in.shape[0], k = in.shape[1], n = out.shape[1];
    const size_t kernels = qcc_model_num_kernels(first);
    const bool gemv = in.dtype == QCC_F32;
    // What one run reads of its weights: the codes and their scales.
    const double weightBytes =
        static_cast<double>(qcc_model_weight_bytes(first));
    // GEMV: copies until their weights pass twice the L2 cache.
    int copies = 1;
    if (gemv)
      copies = static_cast<int>(std::ceil(2.0 * l2 / weightBytes)) + 1;
    std::vector<qcc_model *> models{first};
    std::vector<qcc_context *> contexts;
    for (int c = 1; c < copies; ++c) {
      qcc_model *copy = nullptr;
      checkQcc(qcc_model_load_file(path.c_str(), &copy), path);
      models.push_back(copy);
    }
    for (qcc_model *model : models) {
      qcc_context *ctx = nullptr;
      checkQcc(qcc_context_create(model, 0, &ctx), path);
      checkQcc(qcc_context_run(ctx), path + ": first run");
      contexts.push_back(ctx);
    }
    // Best of 5 timings of `reps` round-robin rounds.
    const int reps = gemv ? repeats : std::max(1, repeats / 4);
    std::vector<double> perKernel(kernels);
    double ms = 1e30;
    for (int t = 0; t < 5; ++t) {
      checkQcc(qcc_context_time_kernels(contexts.data(), contexts.size(), reps,
                                        perKernel.data(), perKernel.size()),
               path);
      double sum = 0;
      for (double v : perKernel)
        sum += v;
      ms = std::min(ms, sum);
    }
    Row row;
    row.name = base;
    row.ms = ms;
    row.copies = copies;
    if (gemv) {
      row.shape = "1x" + std::to_string(k) + "x" + std::to_string(n);
      const double bytes =
          weightBytes + static_cast<double>(in.bytes + out.bytes);
      row.gbps = bytes / (ms * 1e-3) / 1e9;
      row.hbmFraction = row.gbps / hbmGBps;
      rows.push_back(row);
    } else {
      row.shape =
          std::to_string(m) + "x" + std::to_string(k) + "x" + std::to_string(n);
      const double ops = 2.0 * m * n * k;
      row.tops = ops / (ms * 1e-3) / 1e12;
      if (handle) {
        // Row-major X [M, K] and W [N, K]: column-major C^T [N, M] =
        // W^T' * X', i.e. A = W transposed (TN, as cuBLAS's int8 wants).
        CUdeviceptr a, b, c;
        check(d, d.cuMemAlloc(&a, size_t(n) * k * 2), "cuMemAlloc");
        check(d, d.cuMemAlloc(&b, size_t(m) * k * 2), "cuMemAlloc");
        check(d, d.cuMemAlloc(&c, size_t(m) * n * 4), "cuMemAlloc");
        check(d, d.cuMemsetD8(a, 1, size_t(n) * k * 2), "cuMemsetD8");
        check(d, d.cuMemsetD8(b, 1, size_t(m) * k * 2), "cuMemsetD8");
        auto gemm = [&](int type, int cType, int compute, const void *alpha,
                        const void *beta) {
          int status = 0;
          auto call = [&] {
            status =
                cublas.gemmEx(handle, kCublasOpT, kCublasOpN, int(n), int(m),
                              int(k), alpha, reinterpret_cast<void *>(a), type,
                              int(k), reinterpret_cast<void *>(b), type, int(k),
                              beta, reinterpret_cast<void *>(c), cType, int(n),
                              compute, kCublasGemmDefault);
          };
          call();
          check(d, d.cuStreamSynchronize(stream), "cuStreamSynchronize");
          if (status != 0)
            return -double(status);
          return bestMs(d, stream, call, reps);
        };
        const int32_t alphaI = 1, betaI = 0;
        const float alphaF = 1, betaF = 0;
        for (int fp16 = 0; fp16 < 2; ++fp16) {
          Row peer = row;
          peer.peer = fp16 ? "cuBLAS FP16 (16F x 16F -> 16F, compute 32F)"
                           : "cuBLAS int8 (8I x 8I -> 32I, compute 32I)";
          const double t = fp16 ? gemm(kCudaR16F, kCudaR16F, kCublasCompute32F,
                                       &alphaF, &betaF)
                                : gemm(kCudaR8I, kCudaR32I, kCublasCompute32I,
                                       &alphaI, &betaI);
          if (t < 0) {
            std::printf("%s: %s failed with status %d\n", base.c_str(),
                        peer.peer.c_str(), int(-t));
            continue;
          }
          peer.peerMs = t;
          peer.peerTops = ops / (t * 1e-3) / 1e12;
          rows.push_back(peer);
        }
        d.cuMemFree(a);
        d.cuMemFree(b);
        d.cuMemFree(c);
      } else {
        rows.push_back(row);
      }
    }
    for (qcc_context *ctx : contexts)
      qcc_context_free(ctx);
    for (qcc_model *model : models)
      qcc_model_free(model);
  }

  std::printf("%-34s %-16s %6s %10s %9s %8s\n", "package", "shape", "copies",
              "ours (us)", "GB/s", "% HBM");
  for (const Row &r : rows)
    if (r.gbps > 0)
      std::printf("%-34s %-16s %6d %10.2f %9.0f %7.1f%%\n", r.name.c_str(),
                  r.shape.c_str(), r.copies, r.ms * 1e3, r.gbps,
                  100 * r.hbmFraction);
  std::printf("\n%-34s %-16s %10s %7s %-44s %10s %7s %8s\n", "package",
              "shape MxKxN", "ours (us)", "TOPS", "peer", "peer (us)", "TOPS",
              "ours/peer");
  for (const Row &r : rows)
    if (r.gbps == 0)
      std::printf("%-34s %-16s %10.1f %7.1f %-44s %10.1f %7.1f %8.3f\n",
                  r.name.c_str(), r.shape.c_str(), r.ms * 1e3, r.tops,
                  r.peerMs ? r.peer.c_str() : "(no cuBLAS)", r.peerMs * 1e3,
                  r.peerTops, r.peerMs ? r.peerMs / r.ms : 0.0);
  std::printf("(ours/peer: peer time / our time; above 1 means ours is "
              "faster)\n");

  if (!jsonPath.empty()) {
    FILE *f = std::fopen(jsonPath.c_str(), "w");
    if (!f)
      die("cannot write " + jsonPath);
    std::fprintf(f,
                 "{\n  \"device\": %s,\n  \"l2_bytes\": %d,\n"
                 "  \"hbm_GBps\": %.1f,\n  \"cublas\": %s,\n  \"rows\": [",
                 jsonString(nameBuffer).c_str(), l2, hbmGBps,
                 jsonString(cublasError.empty() ? cublas.path : "").c_str());
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row &r = rows[i];
      std::fprintf(f,
                   "%s\n    {\"package\": %s, \"shape\": %s, \"copies\": %d, "
                   "\"ms\": %.6f, \"GBps\": %.1f, \"hbm_fraction\": %.4f, "
                   "\"tops\": %.2f, \"peer\": %s, \"peer_ms\": %.6f, "
                   "\"peer_tops\": %.2f, \"peer_over_ours\": %.4f}",
                   i ? "," : "", jsonString(r.name).c_str(),
                   jsonString(r.shape).c_str(), r.copies, r.ms, r.gbps,
                   r.hbmFraction, r.tops, jsonString(r.peer).c_str(), r.peerMs,
                   r.peerTops, r.peerMs ? r.peerMs / r.ms : 0.0);
    }
    std::fprintf(f, "\n  ]\n}\n");
    std::fclose(f);
  }
  if (handle)
    cublas.destroy(handle);
  d.cuStreamDestroy(stream);
  d.cuDevicePrimaryCtxRelease(device);
  return 0;
}
