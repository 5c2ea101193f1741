// Writes the case directories of the qcc-check-package test: a package whose
// code is FixtureCode.c's shared object, its input, and expected outputs
// from the formula (exact, within a tolerance, and wrong in one element);
// and a CUDA case, y = x + w in u8 by hand-written PTX, for GPU machines.
//
//   qcc-make-check-cases FIXTURE.so OUT_DIR
#include "runtime/api/KernelParams.h"
#include "runtime/io/Npy.h"
#include "runtime/package/Manifest.h"
#include "runtime/package/Package.h"
#include "runtime/package/PtxModules.h"
#include "test/unit/HandWrittenPtx.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

using namespace qcc;
namespace fs = std::filesystem;

namespace {

rt::HostArray floats(std::vector<float> values) {
  rt::HostArray a;
  a.kind = rt::ElementKind::F32;
  a.shape = {2, 8};
  a.bytes.resize(values.size() * 4);
  std::memcpy(a.bytes.data(), values.data(), a.bytes.size());
  return a;
}

rt::HostArray bytes(std::vector<uint8_t> values) {
  rt::HostArray a;
  a.kind = rt::ElementKind::U8;
  a.shape = {static_cast<int64_t>(values.size())};
  a.bytes = std::move(values);
  return a;
}

/// HandWrittenPtx.h's k1: y[i] = x[i] + w[i] for 256 bytes.
std::vector<uint8_t> cudaPackage(const std::vector<uint8_t> &weights) {
  namespace cl = rt::kernel::cuda;
  pkg::Manifest m;
  m.model = "fixture";
  m.target = "cuda sm_80";
  m.arenaBytes = 512;
  m.weightBytes = 256;
  m.inputs.push_back({"x", pkg::ElementType::U8, {256}, 0});
  m.outputs.push_back({"y", pkg::ElementType::U8, {256}, 256});
  std::vector<int64_t> launch(cl::Count, 1);
  launch[cl::BlockX] = 256;
  launch[cl::DynamicSharedBytes] = 0;
  m.kernels.push_back({"k1", "add", pkg::KernelKind::CudaKernel, launch});
  pkg::Writer w;
  w.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  w.add(pkg::SectionKind::Weights, weights, 64);
  w.add(pkg::SectionKind::Ptx, pkg::encodePtxModules({{"sm_80", test::kPtx}}),
        8);
  return w.finish();
}

bool writeCase(const fs::path &dir, const std::vector<uint8_t> &package,
               const rt::HostArray &x, const rt::HostArray &y,
               const char *tolerance) {
  fs::create_directories(dir);
  std::ofstream(dir / "model.qpkg", std::ios::binary)
      .write(reinterpret_cast<const char *>(package.data()),
             static_cast<std::streamsize>(package.size()));
  if (tolerance)
    std::ofstream(dir / "tolerance.txt") << tolerance << "\n";
  std::string error;
  if (!rt::writeNpy((dir / "input_0.npy").string(), x, error) ||
      !rt::writeNpy((dir / "expected_0.npy").string(), y, error)) {
    std::fprintf(stderr, "error: %s\n", error.c_str());
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: qcc-make-check-cases FIXTURE.so OUT_DIR\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> code((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
  if (code.empty()) {
    std::fprintf(stderr, "error: cannot read %s\n", argv[1]);
    return 1;
  }
  pkg::Manifest m;
  m.model = "fixture";
  m.target = "cpu x86_64";
  m.entry = "qcc_model_run";
  m.arenaBytes = 128;
  m.weightBytes = 64;
  m.inputs.push_back({"x", pkg::ElementType::F32, {2, 8}, 0});
  m.outputs.push_back({"y", pkg::ElementType::F32, {2, 8}, 64});
  std::vector<float> b(16, 0.0f), x(16), y(16);
  for (int j = 0; j < 8; ++j)
    b[j] = 0.25f * static_cast<float>(j) - 1.0f;
  for (int i = 0; i < 16; ++i) {
    x[i] = 0.5f * static_cast<float>(i) - 3.0f;
    y[i] = 2.0f * x[i] + b[i % 8]; // exact in f32: multiples of 1/4
  }
  std::vector<uint8_t> weights(64);
  std::memcpy(weights.data(), b.data(), 64);
  pkg::Writer w;
  w.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  w.add(pkg::SectionKind::Weights, weights, 64);
  w.add(pkg::SectionKind::CpuCode, code, 4096);
  const std::vector<uint8_t> package = w.finish();

  const fs::path out = argv[2];
  std::vector<float> near = y, wrong = y;
  for (float &v : near)
    v += 1e-4f;
  wrong[5] += 1.0f;
  std::vector<uint8_t> cx(256), cw(256), cy(256);
  for (size_t i = 0; i < 256; ++i) {
    cx[i] = static_cast<uint8_t>(i * 5 + 1);
    cw[i] = static_cast<uint8_t>(i * 7 + 3);
    cy[i] = static_cast<uint8_t>(cx[i] + cw[i]);
  }
  return writeCase(out / "exact", package, floats(x), floats(y), nullptr) &&
                 writeCase(out / "near", package, floats(x), floats(near),
                           "1e-3 0") &&
                 writeCase(out / "wrong", package, floats(x), floats(wrong),
                           nullptr) &&
                 writeCase(out / "cuda_add", cudaPackage(cw), bytes(cx),
                           bytes(cy), nullptr)
             ? 0
             : 1;
}
