// The runtime's CUDA path on packages made by hand: the Ptx section's
// encoding, the checks that need no GPU (they must report a bad package on
// any machine), the errors without a driver, and, where a GPU and its driver
// are present, runs of hand-written PTX checked against formulas.
#include "qcc/runtime.h"
#include "runtime/api/KernelParams.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/package/Manifest.h"
#include "runtime/package/Package.h"
#include "runtime/package/PtxModules.h"
#include "test/unit/HandWrittenPtx.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

using namespace qcc;
namespace cl = qcc::rt::kernel::cuda;
using qcc::test::kPtx;

namespace {

uint8_t weightAt(size_t i) { return static_cast<uint8_t>(i * 7 + 3); }

std::vector<int64_t> launch(int64_t gridX, int64_t blockX, int64_t shared = 0) {
  std::vector<int64_t> p(cl::Count, 1);
  p[cl::GridX] = gridX;
  p[cl::BlockX] = blockX;
  p[cl::DynamicSharedBytes] = shared;
  return p;
}

/// arena[0, 256): input x (u8); arena[256, 512): output y (u8).
pkg::Manifest cudaManifest(std::vector<std::string> kernels = {"k1"}) {
  pkg::Manifest m;
  m.model = "hand.ptx";
  m.target = "cuda sm_80";
  m.arenaBytes = 512;
  m.weightBytes = 256;
  m.inputs.push_back({"x", pkg::ElementType::U8, {256}, 0});
  m.outputs.push_back({"y", pkg::ElementType::U8, {256}, 256});
  for (const std::string &name : kernels)
    m.kernels.push_back(
        {name, "node_" + name, pkg::KernelKind::CudaKernel, launch(1, 256)});
  return m;
}

std::vector<uint8_t> build(const pkg::Manifest &m,
                           std::vector<pkg::PtxModule> modules = {
                               {"sm_80", kPtx}}) {
  pkg::Writer w;
  w.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  std::vector<uint8_t> weights(m.weightBytes);
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = weightAt(i);
  if (!weights.empty())
    w.add(pkg::SectionKind::Weights, weights, 64);
  w.add(pkg::SectionKind::Ptx, pkg::encodePtxModules(modules), 8);
  return w.finish();
}

std::string loadError(const std::vector<uint8_t> &bytes) {
  qcc_model *model = reinterpret_cast<qcc_model *>(1);
  EXPECT_EQ(qcc_model_load_memory(bytes.data(), bytes.size(), &model),
            QCC_ERROR);
  EXPECT_EQ(model, nullptr);
  return qcc_last_error();
}

/// Sets QCC_CUDA_DRIVER for a scope.
class DriverPath {
public:
  explicit DriverPath(const char *path) {
    if (const char *old = std::getenv("QCC_CUDA_DRIVER"))
      saved = old;
    setenv("QCC_CUDA_DRIVER", path, 1);
  }
  ~DriverPath() {
    if (saved)
      setenv("QCC_CUDA_DRIVER", saved->c_str(), 1);
    else
      unsetenv("QCC_CUDA_DRIVER");
  }

private:
  std::optional<std::string> saved;
};

/// Whether the driver loads and sees a GPU; otherwise the reason.
bool haveGpu(std::string &why) {
  const rt::CudaDriver *d = rt::CudaDriver::get(why);
  if (!d)
    return false;
  int count = 0;
  if (d->cuDeviceGetCount(&count) != rt::kCudaSuccess || count < 1) {
    why = "no GPU";
    return false;
  }
  return true;
}

#define REQUIRE_GPU()                                                          \
  do {                                                                         \
    std::string why;                                                           \
    if (!haveGpu(why))                                                         \
      GTEST_SKIP() << "needs a CUDA GPU: " << why;                             \
  } while (false)

// ---------------------------------------------------------------------------
// The Ptx section.

TEST(PtxModules, RoundTrip) {
  std::vector<pkg::PtxModule> in = {{"sm_80", kPtx}, {"sm_90a", "// x\n"}};
  std::vector<pkg::PtxModule> out;
  ASSERT_EQ(pkg::decodePtxModules(pkg::encodePtxModules(in), out), "");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].arch, "sm_80");
  EXPECT_EQ(out[0].ptx, kPtx);
  EXPECT_EQ(out[1].arch, "sm_90a");
  EXPECT_EQ(out[1].ptx, "// x\n");
}

TEST(PtxModules, ArchVersions) {
  EXPECT_EQ(pkg::ptxArchVersion("sm_80"), 80);
  EXPECT_EQ(pkg::ptxArchVersion("sm_90a"), 90);
  EXPECT_EQ(pkg::ptxArchVersion("sm_120"), 120);
  for (const char *bad : {"", "sm_", "sm_a", "sm80", "compute_80", "sm_8x",
                          "sm_80b", "sm_90aa", "SM_80", "sm_-1", "sm_12345"})
    EXPECT_EQ(pkg::ptxArchVersion(bad), -1) << bad;
}

std::string decodeError(const std::vector<uint8_t> &bytes) {
  std::vector<pkg::PtxModule> out;
  return pkg::decodePtxModules(bytes, out);
}

TEST(PtxModules, RejectsBadSections) {
  EXPECT_EQ(decodeError(pkg::encodePtxModules({})),
            "ptx section holds 0 modules (1 to 16)");
  EXPECT_EQ(decodeError(pkg::encodePtxModules(
                std::vector<pkg::PtxModule>(17, {"sm_80", "x"}))),
            "ptx section holds 17 modules (1 to 16)");
  EXPECT_EQ(decodeError(pkg::encodePtxModules({{"compute_80", "x"}})),
            "ptx module 0 has a bad architecture 'compute_80' (expected "
            "sm_<digits>, e.g. sm_80)");
  EXPECT_EQ(decodeError(pkg::encodePtxModules({{"sm_80", ""}})),
            "ptx module 0 (sm_80) is empty");
  EXPECT_EQ(decodeError(pkg::encodePtxModules(
                {{"sm_80", "x"}, {"sm_90", std::string("a\0b", 3)}})),
            "ptx module 1 (sm_90) holds a NUL byte");
  EXPECT_EQ(
      decodeError(pkg::encodePtxModules({{"sm_80", "x"}, {"sm_80", "y"}})),
      "ptx module 1 repeats architecture sm_80");

  std::vector<uint8_t> good = pkg::encodePtxModules({{"sm_80", kPtx}});
  ASSERT_EQ(decodeError(good), "");
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    EXPECT_NE(decodeError(cut).find("truncated"), std::string::npos) << n;
  }
  std::vector<uint8_t> longer = good;
  longer.push_back(0);
  EXPECT_EQ(decodeError(longer), "1 unexpected bytes at the end of the ptx "
                                 "section");
}

// ---------------------------------------------------------------------------
// Checks that need no GPU.

TEST(CudaRuntime, ManifestOfCudaTargetNeedsNoEntry) {
  pkg::Manifest decoded;
  ASSERT_EQ(pkg::decode(pkg::encode(cudaManifest()), decoded), "");
  EXPECT_TRUE(pkg::isCudaTarget(decoded));
  EXPECT_EQ(decoded.kernels[0].kind, pkg::KernelKind::CudaKernel);
  EXPECT_EQ(decoded.kernels[0].params, launch(1, 256));
  pkg::Manifest cpu = cudaManifest();
  cpu.target = "cpu x86_64";
  EXPECT_EQ(pkg::decode(pkg::encode(cpu), decoded),
            "manifest names no entry point");
}

TEST(CudaRuntime, MissingDriverLibraryIsAnError) {
  DriverPath path("/nonexistent/libcuda.so.1");
  const std::string e = loadError(build(cudaManifest()));
  EXPECT_NE(e.find("CUDA: cannot load the NVIDIA driver library "
                   "/nonexistent/libcuda.so.1"),
            std::string::npos)
      << e;
}

TEST(CudaRuntime, LibraryWithoutDriverEntryPointsIsAnError) {
  // A library that loads but is no driver: libz is what Npz links.
  DriverPath path("libz.so.1");
  EXPECT_EQ(loadError(build(cudaManifest())),
            "CUDA: the driver library libz.so.1 has no cuInit (not an NVIDIA "
            "driver, or one too old for this runtime)");
}

TEST(CudaRuntime, NoDriverOnThisMachine) {
  std::string why;
  if (haveGpu(why))
    GTEST_SKIP() << "this machine has a CUDA GPU";
  const std::string e = loadError(build(cudaManifest()));
  EXPECT_EQ(e, why);
  EXPECT_TRUE(e.find("libcuda.so.1") != std::string::npos ||
              e.find("no GPU found") != std::string::npos)
      << e;
}

TEST(CudaRuntime, ChecksLaunchParametersWithoutDriver) {
  // Every check here happens before the driver is opened, so the messages
  // are the same with or without one.
  DriverPath path("/nonexistent/libcuda.so.1");
  auto withLaunch = [](std::vector<int64_t> p) {
    pkg::Manifest m = cudaManifest({"k0", "k1"});
    m.kernels[1].params = std::move(p);
    return build(m);
  };
  EXPECT_EQ(loadError(withLaunch(launch(1, 2048))),
            "kernel 1 (k1): block (2048, 1, 1) out of range (x and y 1 to "
            "1024, z 1 to 64, at most 1024 threads)");
  std::vector<int64_t> p = launch(1, 64);
  p[cl::BlockY] = 32; // 2048 threads
  EXPECT_EQ(loadError(withLaunch(p)),
            "kernel 1 (k1): block (64, 32, 1) out of range (x and y 1 to "
            "1024, z 1 to 64, at most 1024 threads)");
  p = launch(1, 1);
  p[cl::BlockZ] = 65;
  EXPECT_NE(loadError(withLaunch(p)).find("block (1, 1, 65) out of range"),
            std::string::npos);
  EXPECT_EQ(loadError(withLaunch(launch(0, 256))),
            "kernel 1 (k1): grid (0, 1, 1) out of range (x 1 to 2^31-1, y and "
            "z 1 to 65535)");
  EXPECT_NE(loadError(withLaunch(launch(int64_t{1} << 31, 256)))
                .find("grid (2147483648, 1, 1) out of range"),
            std::string::npos);
  p = launch(1, 256);
  p[cl::GridY] = 65536;
  EXPECT_NE(loadError(withLaunch(p)).find("grid (1, 65536, 1) out of range"),
            std::string::npos);
  EXPECT_EQ(loadError(withLaunch(launch(1, 256, 227 * 1024 + 1))),
            "kernel 1 (k1): dynamic shared memory of 232449 bytes out of "
            "range (0 to 232448)");
  EXPECT_NE(loadError(withLaunch(launch(1, 256, -1))).find("dynamic shared"),
            std::string::npos);
  EXPECT_EQ(loadError(withLaunch({1, 1, 1})),
            "kernel 1 (k1): expected 7 launch parameters (grid x, y, z, block "
            "x, y, z, dynamic shared bytes), got 3");

  // Valid limits pass the checks and reach the driver.
  p = launch((int64_t{1} << 31) - 1, 1024, 227 * 1024);
  p[cl::GridY] = p[cl::GridZ] = 65535;
  EXPECT_NE(loadError(withLaunch(p)).find("/nonexistent/libcuda.so.1"),
            std::string::npos);
}

TEST(CudaRuntime, ChecksPackageShapeWithoutDriver) {
  DriverPath path("/nonexistent/libcuda.so.1");
  pkg::Manifest m = cudaManifest({"k0", "k1"});
  m.kernels[1].kind = pkg::KernelKind::QLinear;
  EXPECT_EQ(loadError(build(m)),
            "kernel 1 (k1): a CUDA package holds only CUDA kernels; this is a "
            "qlinear CPU kernel");
  m = cudaManifest();
  m.kernels[0].name = "k1(";
  EXPECT_EQ(loadError(build(m)),
            "kernel 0 (k1(): the name is not a PTX symbol");
  m = cudaManifest();
  m.target = "cpu x86_64";
  m.entry = "qcc_model_run";
  EXPECT_EQ(loadError(build(m)),
            "package holds PTX code but its manifest targets 'cpu x86_64'");
  m = cudaManifest();
  m.entry = "run";
  EXPECT_EQ(loadError(build(m)),
            "manifest of a CUDA package names an entry point 'run'; CUDA "
            "kernels are launched one by one");
  EXPECT_EQ(loadError(build(cudaManifest(), {{"sm80", kPtx}})),
            "ptx module 0 has a bad architecture 'sm80' (expected "
            "sm_<digits>, e.g. sm_80)");

  // A CUDA manifest without PTX, and a CPU package with a CUDA kernel.
  pkg::Writer w;
  w.add(pkg::SectionKind::Manifest, pkg::encode(cudaManifest()), 8);
  w.add(pkg::SectionKind::Weights, std::vector<uint8_t>(256), 64);
  EXPECT_EQ(loadError(w.finish()), "package has no PTX code");
  m = cudaManifest();
  m.target = "cpu x86_64";
  m.entry = "qcc_model_run";
  pkg::Writer cpu;
  cpu.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  cpu.add(pkg::SectionKind::Weights, std::vector<uint8_t>(256), 64);
  cpu.add(pkg::SectionKind::CpuCode, std::vector<uint8_t>{1, 2, 3, 4}, 4096);
  EXPECT_EQ(loadError(cpu.finish()),
            "kernel 0 (k1): a CUDA kernel in a package of CPU code");
  m = cudaManifest();
  pkg::Writer wrongTarget;
  wrongTarget.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  wrongTarget.add(pkg::SectionKind::Weights, std::vector<uint8_t>(256), 64);
  wrongTarget.add(pkg::SectionKind::CpuCode, std::vector<uint8_t>{1}, 4096);
  EXPECT_EQ(loadError(wrongTarget.finish()),
            "manifest targets 'cuda sm_80' but the package holds CPU code");
}

// ---------------------------------------------------------------------------
// Runs on a GPU (skipped without one).

struct Loaded {
  qcc_model *model = nullptr;
  qcc_context *context = nullptr;
  ~Loaded() {
    qcc_context_free(context);
    qcc_model_free(model);
  }
};

void load(const std::vector<uint8_t> &bytes, Loaded &out) {
  ASSERT_EQ(qcc_model_load_memory(bytes.data(), bytes.size(), &out.model),
            QCC_OK)
      << qcc_last_error();
  EXPECT_STREQ(qcc_model_device(out.model), "cuda");
  ASSERT_EQ(qcc_context_create(out.model, 4, &out.context), QCC_OK)
      << qcc_last_error();
  EXPECT_EQ(qcc_context_threads(out.context), 1);
}

TEST(CudaRuntimeGpu, WeightsPlusOne) {
  REQUIRE_GPU();
  // k0 alone: arena[i] = weights[i] + 1, with the output at offset 0.
  pkg::Manifest m = cudaManifest({"k0"});
  m.inputs.clear();
  m.outputs[0].offset = 0;
  Loaded l;
  load(build(m), l);
  ASSERT_EQ(qcc_context_run(l.context), QCC_OK) << qcc_last_error();
  const auto *y =
      static_cast<const uint8_t *>(qcc_context_output_data(l.context, 0));
  for (size_t i = 0; i < 256; ++i)
    ASSERT_EQ(y[i], static_cast<uint8_t>(weightAt(i) + 1)) << i;
}

TEST(CudaRuntimeGpu, InputsGoUpAndOutputsComeBack) {
  REQUIRE_GPU();
  Loaded l;
  load(build(cudaManifest({"k1"})), l);
  for (int round = 0; round < 3; ++round) {
    std::vector<uint8_t> x(256), y(256, 0xAA);
    for (size_t i = 0; i < 256; ++i)
      x[i] = static_cast<uint8_t>(i * round + 11);
    const void *inputs[] = {x.data()};
    void *outputs[] = {y.data()};
    ASSERT_EQ(qcc_run(l.context, inputs, 1, outputs, 1), QCC_OK)
        << qcc_last_error();
    for (size_t i = 0; i < 256; ++i)
      ASSERT_EQ(y[i], static_cast<uint8_t>(x[i] + weightAt(i)))
          << "round " << round << " element " << i;
  }
}

TEST(CudaRuntimeGpu, KernelsRunInManifestOrder) {
  REQUIRE_GPU();
  // k0 overwrites the input with weights + 1 before k1 reads it. k0 asks
  // for 64 KiB of dynamic shared memory, above the default 48 KiB limit.
  pkg::Manifest m = cudaManifest({"k0", "k1"});
  m.kernels[0].params = launch(1, 256, 64 * 1024);
  Loaded l;
  load(build(m, {{"sm_80", kPtx}, {"sm_999", "not ptx"}}), l);
  auto *x = static_cast<uint8_t *>(qcc_context_input_data(l.context, 0));
  for (size_t i = 0; i < 256; ++i)
    x[i] = 200;
  ASSERT_EQ(qcc_context_run(l.context), QCC_OK) << qcc_last_error();
  const auto *y =
      static_cast<const uint8_t *>(qcc_context_output_data(l.context, 0));
  for (size_t i = 0; i < 256; ++i)
    ASSERT_EQ(y[i], static_cast<uint8_t>(2 * weightAt(i) + 1)) << i;
}

TEST(CudaRuntimeGpu, ReportsDriverErrors) {
  REQUIRE_GPU();
  // A kernel the PTX does not define.
  std::string e = loadError(build(cudaManifest({"k0", "k7"})));
  EXPECT_NE(e.find("kernel 1 (k7, from node_k7): not found in the sm_80 PTX"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("cuModuleGetFunction"), std::string::npos) << e;
  // PTX that does not compile: the JIT's log is in the message.
  e = loadError(
      build(cudaManifest(), {{"sm_80", ".version 8.0\n.target sm_80\n"
                                       ".address_size 64\nbogus;\n"}}));
  EXPECT_NE(e.find("cuModuleLoadDataEx failed"), std::string::npos) << e;
  EXPECT_NE(e.find("JIT log"), std::string::npos) << e;
  // Only PTX for a GPU newer than any there is.
  e = loadError(build(cudaManifest(), {{"sm_999", kPtx}}));
  EXPECT_NE(e.find("the package's PTX is for sm_999; this GPU"),
            std::string::npos)
      << e;
}

} // namespace
