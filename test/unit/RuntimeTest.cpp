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
  p[q::WOffset] = 0; // 12 bytes of weights
  p[q::ScaleOffset] = 64;
  p[q::ScaleCount] = 3;
  p[q::OutputKind] = 0;
  p[q::YZeroPoint] = 0;
  p[q::LoBits] = 0xff800000; // -inf
  p[q::HiBits] = 0x7f800000; // +inf
  p[q::YOffset] = 64;
  p[q::Activation] = 0;
  p[q::YScaleBits] = 0;
  m.kernels.push_back({"qlinear", "fc", pkg::KernelKind::QLinear, p});
  return m;
}

std::vector<uint8_t> build(const pkg::Manifest &m, size_t weights,
                           bool withCode = true, uint8_t fill = 1) {
  pkg::Writer w;
  w.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  if (weights)
    w.add(pkg::SectionKind::Weights, std::vector<uint8_t>(weights, fill), 64);
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
  EXPECT_EQ(loadError(build(withParam(q::Activation, 4), 128)),
            "kernel 0 (qlinear): unknown activation");
  // An 8-bit output with an activation divides by its scale, which must be
  // positive and finite (here NaN).
  pkg::Manifest divides = withParam(q::Activation, 1);
  divides.kernels[0].params[q::OutputKind] = 1;
  divides.kernels[0].params[q::YScaleBits] = 0x7fc00000;
  divides.outputs[0].type = pkg::ElementType::U8;
  EXPECT_EQ(loadError(build(divides, 128)),
            "kernel 0 (qlinear): bad output scale");
  pkg::Manifest shortParams = linearManifest();
  shortParams.kernels[0].params.pop_back();
  EXPECT_EQ(loadError(build(shortParams, 128)),
            "kernel 0 (qlinear): expected 18 parameters");
}

/// y [2, 3] = x [2, 32] times 4-bit weights [3, 32] in groups of 16.
pkg::Manifest weightInt4Manifest() {
  namespace w = qcc::rt::kernel::wonly;
  pkg::Manifest m;
  m.model = "hand.mlir";
  m.target = "cpu x86_64";
  m.entry = "qcc_model_run";
  m.arenaBytes = 512;
  m.weightBytes = 128;
  m.inputs.push_back({"x", pkg::ElementType::F32, {2, 32}, 0});
  m.outputs.push_back({"y", pkg::ElementType::F32, {2, 3}, 256});
  std::vector<int64_t> p(w::Count, -1);
  p[w::M] = 2;
  p[w::K] = 32;
  p[w::N] = 3;
  p[w::XOffset] = 0;
  p[w::CodesOffset] = 0; // 3 rows of 16 bytes
  p[w::GroupSize] = 16;
  p[w::ScalesOffset] = 64;     // 3 x 2 f32
  p[w::ZeroPointsOffset] = 96; // 3 x 2 i8
  p[w::Format] = static_cast<int64_t>(w::WeightFormat::Uint4);
  p[w::YOffset] = 256;
  m.kernels.push_back({"matmul", "fc", pkg::KernelKind::WeightOnly, p});
  return m;
}

TEST(Runtime, ChecksWeightInt4Parameters) {
  namespace w = qcc::rt::kernel::wonly;
  EXPECT_NE(loadError(build(weightInt4Manifest(), 128)).find("code: "),
            std::string::npos);
  auto withParam = [](int index, int64_t value) {
    pkg::Manifest m = weightInt4Manifest();
    m.kernels[0].params[index] = value;
    return m;
  };
  EXPECT_EQ(loadError(build(withParam(w::GroupSize, 24), 128)),
            "kernel 0 (matmul): group size must be a positive multiple of 16");
  EXPECT_EQ(loadError(build(withParam(w::CodesOffset, 96), 128)),
            "kernel 0 (matmul): weight codes lie outside the weights section");
  EXPECT_EQ(loadError(build(withParam(w::ScalesOffset, 110), 128)),
            "kernel 0 (matmul): scales lie outside the weights section");
  EXPECT_EQ(loadError(build(withParam(w::Format, 5), 128)),
            "kernel 0 (matmul): unknown weight format 5");
  EXPECT_EQ(
      loadError(build(
          withParam(w::Format, static_cast<int64_t>(w::WeightFormat::NF4)),
          128)),
      "kernel 0 (matmul): zero points lie outside the weights section (or "
      "NF4 has some)");
  EXPECT_EQ(loadError(build(withParam(w::YOffset, 500), 128)),
            "kernel 0 (matmul): output lies outside the arena");
  EXPECT_EQ(loadError(build(withParam(w::K, 0), 128)),
            "kernel 0 (matmul): sizes out of range");
  // Bytes of 0xF0: the zero points are -16, outside uint4's and int4's
  // ranges.
  EXPECT_EQ(loadError(build(weightInt4Manifest(), 128, true, 0xF0)),
            "kernel 0 (matmul): zero point out of the format's range");
}

/// y [2, 3] = x [2, 32] times uint8 weights [3, 32], one scale and one i16
/// zero point per output channel.
pkg::Manifest weightInt8Manifest() {
  namespace w = qcc::rt::kernel::wonly;
  pkg::Manifest m = weightInt4Manifest();
  std::vector<int64_t> &p = m.kernels[0].params;
  p[w::CodesOffset] = 0; // 3 rows of 32 bytes
  p[w::GroupSize] = 32;
  p[w::ScalesOffset] = 96;      // 3 f32
  p[w::ZeroPointsOffset] = 112; // 3 i16
  p[w::Format] = static_cast<int64_t>(w::WeightFormat::Uint8);
  return m;
}

TEST(Runtime, ChecksWeightInt8Parameters) {
  namespace w = qcc::rt::kernel::wonly;
  // Weights of zero bytes are valid: the failure is the code.
  EXPECT_NE(loadError(build(weightInt8Manifest(), 128, true, 0)).find("code: "),
            std::string::npos);
  auto withParam = [](int index, int64_t value) {
    pkg::Manifest m = weightInt8Manifest();
    m.kernels[0].params[index] = value;
    return m;
  };
  // 8-bit groups need not be multiples of 16; groups of 24 need 3 x 2
  // scales and zero points, which still fit.
  EXPECT_NE(loadError(build(withParam(w::GroupSize, 24), 128, true, 0))
                .find("code: "),
            std::string::npos);
  EXPECT_EQ(loadError(build(withParam(w::GroupSize, 0), 128, true, 0)),
            "kernel 0 (matmul): group size must be positive");
  // 3 rows of 32 codes from offset 40 pass the end of the section.
  EXPECT_EQ(loadError(build(withParam(w::CodesOffset, 40), 128, true, 0)),
            "kernel 0 (matmul): weight codes lie outside the weights section");
  // i16 zero points are 2-byte aligned, and 3 of them from 124 do not fit.
  for (int64_t at : {113, 124})
    EXPECT_EQ(
        loadError(build(withParam(w::ZeroPointsOffset, at), 128, true, 0)),
        "kernel 0 (matmul): zero points lie outside the weights "
        "section (or NF4 has some)");
  // Bytes of 1: each zero point is 0x0101 = 257, past uint8's 255.
  EXPECT_EQ(loadError(build(weightInt8Manifest(), 128)),
            "kernel 0 (matmul): zero point 257 at 0 is outside the uint8 "
            "range");
  // Bytes of 0xFF: the scales are NaN.
  EXPECT_EQ(loadError(build(weightInt8Manifest(), 128, true, 0xFF)),
            "kernel 0 (matmul): scale 0 is not finite");
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
