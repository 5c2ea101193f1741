// The runtime C API on packages made by hand: everything is checked before
// any code is loaded, and each failure says why.
#include "qcc/runtime.h"
#include "runtime/api/KernelParams.h"
#include "runtime/package/Manifest.h"
#include "runtime/package/Package.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace qcc;
namespace q = qcc::rt::kernel::qlinear;

namespace {

pkg::Manifest linearManifest() {
  pkg::Manifest m;
  m.model = "hand.mlir";
  m.target = "cpu x86_64";
  m.entry = "qcc_model_run";
  m.arenaBytes = 256;
  m.weightBytes = 128;
  m.inputs.push_back({"x", pkg::ElementType::U8, {2, 4}, 0});
  m.outputs.push_back({"y", pkg::ElementType::F32, {2, 3}, 64});
  std::vector<int64_t> p(q::Count, -1);
  p[q::M] = 2;
  p[q::K] = 4;
  p[q::N] = 3;
  p[q::XOffset] = 0;
  p[q::XZeroPoint] = 128;
  p[q::XSigned] = 0;
  p[q::WOffset] = 0;   // 12 bytes of weights
  p[q::ScaleOffset] = 64;
  p[q::ScaleCount] = 3;
  p[q::OutputKind] = 0;
  p[q::YZeroPoint] = 0;
  p[q::LoBits] = 0xff800000; // -inf
  p[q::HiBits] = 0x7f800000; // +inf
  p[q::YOffset] = 64;
  m.kernels.push_back({"qlinear", "fc", pkg::KernelKind::QLinear, p});
  return m;
}

std::vector<uint8_t> build(const pkg::Manifest &m, size_t weights,
                           bool withCode = true) {
  pkg::Writer w;
  w.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  if (weights)
    w.add(pkg::SectionKind::Weights, std::vector<uint8_t>(weights, 1), 64);
  if (withCode)
    w.add(pkg::SectionKind::CpuCode, std::vector<uint8_t>{1, 2, 3, 4}, 4096);
  return w.finish();
}

std::string loadError(const std::vector<uint8_t> &bytes) {
  qcc_model *model = reinterpret_cast<qcc_model *>(1);
  EXPECT_EQ(qcc_model_load_memory(bytes.data(), bytes.size(), &model),
            QCC_ERROR);
  EXPECT_EQ(model, nullptr);
  return qcc_last_error();
}

TEST(Runtime, ChecksKernelParametersBeforeLoadingCode) {
  // Valid parameters: the failure is the code, which is not an ELF object.
  EXPECT_NE(loadError(build(linearManifest(), 128)).find("code: "),
            std::string::npos);

  auto withParam = [](int index, int64_t value) {
    pkg::Manifest m = linearManifest();
    m.kernels[0].params[index] = value;
    return m;
  };
  EXPECT_EQ(loadError(build(withParam(q::WOffset, 120), 128)),
            "kernel 0 (qlinear): weights lie outside the weights section");
  EXPECT_EQ(loadError(build(withParam(q::ScaleOffset, 126), 128)),
            "kernel 0 (qlinear): scales lie outside the weights section");
  EXPECT_EQ(loadError(build(withParam(q::ScaleOffset, 66), 128)),
            "kernel 0 (qlinear): scales lie outside the weights section");
  EXPECT_EQ(loadError(build(withParam(q::YOffset, 240), 128)),
            "kernel 0 (qlinear): output lies outside the arena");
  EXPECT_EQ(loadError(build(withParam(q::XOffset, -64), 128)),
            "kernel 0 (qlinear): input lies outside the arena");
  EXPECT_EQ(loadError(build(withParam(q::XZeroPoint, 300), 128)),
            "kernel 0 (qlinear): input zero point out of range");
  EXPECT_EQ(loadError(build(withParam(q::K, 0), 128)),
            "kernel 0 (qlinear): reduction size 0 or 3 outputs out of range");
  EXPECT_EQ(loadError(build(withParam(q::ScaleCount, 2), 128)),
            "kernel 0 (qlinear): scale count must be 1 or the output count");
  EXPECT_EQ(loadError(build(withParam(q::OutputKind, 7), 128)),
            "kernel 0 (qlinear): unknown output kind");
  EXPECT_EQ(loadError(build(withParam(q::LoBits, 0x7fc00000), 128)),
            "kernel 0 (qlinear): bad clamp bounds");
  pkg::Manifest shortParams = linearManifest();
  shortParams.kernels[0].params.pop_back();
  EXPECT_EQ(loadError(build(shortParams, 128)),
            "kernel 0 (qlinear): expected 16 parameters");
}

TEST(Runtime, ChecksSections) {
  EXPECT_EQ(loadError(build(linearManifest(), 64)),
            "weights section holds 64 bytes; the manifest expects 128");
  EXPECT_EQ(loadError(build(linearManifest(), 128, false)),
            "package has no CPU code");
  std::vector<uint8_t> bytes = build(linearManifest(), 128);
  bytes.resize(bytes.size() - 1);
  EXPECT_NE(loadError(bytes), "");
  EXPECT_NE(loadError({}), "");
}

TEST(Runtime, RejectsBadArguments) {
  qcc_model *model = nullptr;
  EXPECT_EQ(qcc_model_load_file("/nonexistent/model.qpkg", &model), QCC_ERROR);
  EXPECT_EQ(std::string(qcc_last_error()),
            "/nonexistent/model.qpkg: cannot open");
  EXPECT_EQ(qcc_model_load_memory(nullptr, 10, &model), QCC_ERROR);
  qcc_context *context = nullptr;
  EXPECT_EQ(qcc_context_create(nullptr, 1, &context), QCC_ERROR);
  EXPECT_EQ(qcc_run(nullptr, nullptr, 0, nullptr, 0), QCC_ERROR);
  EXPECT_EQ(qcc_model_num_inputs(nullptr), 0u);
  qcc_tensor_info info;
  EXPECT_EQ(qcc_model_input(nullptr, 0, &info), QCC_ERROR);
  EXPECT_EQ(std::string(qcc_version()), "0.1.0");
}

} // namespace
