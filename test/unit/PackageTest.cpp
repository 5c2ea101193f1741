// The .qpkg container and manifest: round trips, and that every kind of
// damage (truncation at any length, any single flipped bit, hand-made bad
// fields) is reported as an error.
#include "runtime/package/Package.h"
#include "runtime/package/Manifest.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace qcc::pkg;

namespace {

Manifest sampleManifest() {
  Manifest m;
  m.model = "mlp.onnx";
  m.target = "cpu x86-64";
  m.entry = "qcc_model_run";
  m.arenaBytes = 4096;
  m.weightBytes = 96;
  m.inputs.push_back({"x", ElementType::F32, {1, 16}, 0});
  m.outputs.push_back({"y", ElementType::F32, {1, 4}, 128});
  m.kernels.push_back(
      {"qlinear u8xi8->f32", "fc1+relu1", KernelKind::QLinear, {1, 16, -4}});
  return m;
}

std::vector<uint8_t> samplePackage() {
  Writer writer;
  writer.add(SectionKind::Manifest, encode(sampleManifest()), 8);
  std::vector<uint8_t> weights(96);
  for (size_t i = 0; i < weights.size(); ++i)
    weights[i] = static_cast<uint8_t>(i * 7 + 1);
  writer.add(SectionKind::Weights, weights, 64);
  writer.add(SectionKind::CpuCode, std::vector<uint8_t>{0x7f, 'E', 'L', 'F'},
             4096);
  return writer.finish();
}

void put64(std::vector<uint8_t> &b, size_t at, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

/// Rewrites the section table checksum after a deliberate edit, so the
/// test reaches the check behind it.
void resealTable(std::vector<uint8_t> &b) {
  uint32_t count;
  std::memcpy(&count, &b[12], 4);
  put64(b, 32, checksum({&b[64], size_t{count} * 32}));
}

} // namespace

TEST(Package, RoundTripKeepsSectionsAlignedAndIntact) {
  std::vector<uint8_t> file = samplePackage();
  Package package;
  ASSERT_EQ(package.open(file), "");
  ASSERT_EQ(package.sections().size(), 3u);
  const Section *code = package.find(SectionKind::CpuCode);
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(code->bytes.data()) -
                reinterpret_cast<uintptr_t>(file.data()),
            4096u);
  EXPECT_EQ(code->bytes.size(), 4u);
  const Section *weights = package.find(SectionKind::Weights);
  ASSERT_NE(weights, nullptr);
  EXPECT_EQ((weights->bytes.data() - file.data()) % 64, 0);
  EXPECT_EQ(weights->bytes[5], 36);
  EXPECT_EQ(package.find(SectionKind::Ptx), nullptr);

  Manifest m;
  ASSERT_EQ(decode(package.find(SectionKind::Manifest)->bytes, m), "");
  EXPECT_EQ(m.model, "mlp.onnx");
  EXPECT_EQ(m.entry, "qcc_model_run");
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].shape, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(m.outputs[0].offset, 128u);
  EXPECT_EQ(m.outputs[0].byteSize(), 16u);
  ASSERT_EQ(m.kernels.size(), 1u);
  EXPECT_EQ(m.kernels[0].source, "fc1+relu1");
  EXPECT_EQ(m.kernels[0].kind, KernelKind::QLinear);
  EXPECT_EQ(m.kernels[0].params, (std::vector<int64_t>{1, 16, -4}));
}

TEST(Package, EveryTruncationIsAnError) {
  std::vector<uint8_t> file = samplePackage();
  for (size_t length = 0; length < file.size(); ++length) {
    Package package;
    EXPECT_NE(package.open({file.data(), length}), "") << "length " << length;
    EXPECT_TRUE(package.sections().empty());
  }
}

TEST(Package, EverySingleBitFlipIsAnError) {
  std::vector<uint8_t> file = samplePackage();
  for (size_t byte = 0; byte < file.size(); ++byte)
    for (int bit = 0; bit < 8; ++bit) {
      std::vector<uint8_t> damaged = file;
      damaged[byte] ^= static_cast<uint8_t>(1 << bit);
      Package package;
      ASSERT_NE(package.open(damaged), "") << "byte " << byte << " bit " << bit;
    }
}

TEST(Package, ExplainsBadFields) {
  std::vector<uint8_t> file = samplePackage();
  Package package;
  EXPECT_EQ(package.open({file.data(), 10}),
            "file is 10 bytes, shorter than the 64-byte package header");

  std::vector<uint8_t> b = file;
  b[8] = 1; // version 1 packages lack the activation parameters
  EXPECT_EQ(package.open(b), "package format version 1 is not supported "
                             "(this runtime reads version 2)");

  b = file;
  b.push_back(0);
  EXPECT_NE(package.open(b).find("but its header says"), std::string::npos)
      << package.open(b);

  // A section offset past the end, with a consistent table checksum.
  b = file;
  put64(b, 64 + 32 + 8, uint64_t{1} << 20);
  resealTable(b);
  EXPECT_EQ(package.open(b),
            "section 1 (weights) runs past the end of the file");

  // Offset + size overflowing 64 bits.
  b = file;
  put64(b, 64 + 32 + 16, ~uint64_t{0} - 10);
  resealTable(b);
  EXPECT_EQ(package.open(b),
            "section 1 (weights) runs past the end of the file");

  // Two sections over the same bytes.
  b = file;
  std::memcpy(&b[64 + 32 + 8], &b[64 + 8], 16); // weights := manifest's range
  std::memcpy(&b[64 + 32 + 24], &b[64 + 24], 8);
  resealTable(b);
  EXPECT_EQ(package.open(b), "section 1 offset 160 is not aligned to 64");
  b[64 + 32 + 4] = 8; // weights alignment 8, like the manifest
  resealTable(b);
  EXPECT_EQ(package.open(b), "sections overlap");

  // A repeated kind.
  b = file;
  b[64 + 32] = 1;
  resealTable(b);
  EXPECT_EQ(package.open(b), "section 1: second manifest section");
}

TEST(Manifest, RejectsInconsistentContents) {
  Manifest m;
  std::vector<uint8_t> bytes = encode(sampleManifest());
  for (size_t length = 0; length < bytes.size(); ++length)
    EXPECT_NE(decode({bytes.data(), length}, m), "") << "length " << length;
  bytes.push_back(0);
  EXPECT_EQ(decode(bytes, m), "1 unexpected bytes at the end of the manifest");

  auto expectError = [](Manifest bad, const std::string &error) {
    Manifest out;
    EXPECT_EQ(decode(encode(bad), out), error);
  };
  Manifest bad = sampleManifest();
  bad.outputs[0].offset = 4096 - 64; // 16 bytes would fit, so grow it
  bad.outputs[0].shape = {1, 64};
  expectError(bad, "output 'y' lies outside the 4096-byte arena");
  bad = sampleManifest();
  bad.inputs[0].offset = 4;
  expectError(bad, "input 'x' is at an unaligned arena offset");
  bad = sampleManifest();
  bad.outputs[0].name = "x";
  expectError(bad, "output 0 has an empty or repeated name");
  bad = sampleManifest();
  bad.inputs[0].shape = {1, -3};
  expectError(bad, "input 'x' has a bad dimension -3");
  bad = sampleManifest();
  bad.inputs[0].shape = std::vector<int64_t>(9, 1);
  expectError(bad, "input 'x' has rank 9 (at most 8)");
  bad = sampleManifest();
  bad.inputs[0].type = static_cast<ElementType>(9);
  expectError(bad, "input 'x' has an unknown element type");
  bad = sampleManifest();
  bad.inputs[0].shape = {int64_t{1} << 31, int64_t{1} << 31};
  expectError(bad, "input 'x' is too large");
  bad = sampleManifest();
  bad.arenaBytes = uint64_t{1} << 41;
  expectError(bad, "manifest asks for more than 1 TiB of memory");
  bad = sampleManifest();
  bad.entry.clear();
  expectError(bad, "manifest names no entry point");
  bad = sampleManifest();
  bad.kernels[0].kind = static_cast<KernelKind>(7);
  expectError(bad, "kernel 0 has an unknown kind 7");
  bad = sampleManifest();
  bad.kernels[0].params.assign(65, 0);
  expectError(bad, "kernel 0 has 65 parameters (at most 64)");
}

TEST(ByteReader, StopsAtTheEnd) {
  ByteWriter w;
  w.u32(7);
  w.str("abc");
  std::vector<uint8_t> b = w.take();
  ByteReader r(b);
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.str(2), ""); // longer than allowed
  EXPECT_TRUE(r.failed());
  EXPECT_EQ(r.u64(), 0u);
  EXPECT_EQ(r.remaining(), 0u);
}
