// Bad input to the ONNX reader and importer: every case must fail with an
// error naming the file, the node and the reason, and never crash.
#include "OnnxTestModels.h"

#include "importers/onnx/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace qcc;
using ::testing::HasSubstr;

namespace {

std::string parseError(const std::string &bytes,
                       const std::string &baseDir = "") {
  onnx::Result<onnx::Model> model = onnx::parseModel(bytes, baseDir, "m.onnx");
  return model ? std::string() : model.error().message;
}

/// Imports a serialized model; returns the first error and its location.
struct ImportResult {
  bool ok = false;
  std::string error, location;
};
ImportResult importBytes(const std::string &bytes) {
  ImportResult result;
  onnx::Result<onnx::Model> model = onnx::parseModel(bytes, "", "m.onnx");
  if (!model) {
    result.error = model.error().message;
    return result;
  }
  mlir::MLIRContext context;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &diag) {
    if (result.error.empty()) {
      result.error = diag.str();
      llvm::raw_string_ostream os(result.location);
      diag.getLocation().print(os);
    }
    return mlir::success();
  });
  result.ok = static_cast<bool>(onnx::importModel(*model, context, {}));
  return result;
}

TEST(OnnxReader, ValidModelImports) {
  ImportResult result = importBytes(testmodels::validModel());
  EXPECT_TRUE(result.ok) << result.error;
}

TEST(OnnxReader, TruncatedFileIsRejected) {
  const std::string bytes = testmodels::validModel();
  for (size_t keep :
       {size_t{0}, size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string error = parseError(bytes.substr(0, keep));
    EXPECT_THAT(error, HasSubstr("m.onnx")) << keep;
    EXPECT_FALSE(error.empty())
        << "accepted a model cut to " << keep << " bytes";
  }
}

TEST(OnnxReader, WrongMagicIsRejected) {
  EXPECT_THAT(parseError("\x93NUMPY\x01\x00garbage that is not a model"),
              HasSubstr("m.onnx: not"));
  EXPECT_THAT(parseError(std::string(64, '\xff')), HasSubstr("m.onnx: not"));
}

TEST(OnnxReader, InitializerSizeMustMatchDims) {
  EXPECT_THAT(parseError(testmodels::shortInitializerModel()),
              HasSubstr("initializer 'W': raw data holds 16 bytes but FLOAT "
                        "with 6 elements needs 24"));
}

TEST(OnnxReader, NegativeDimensionIsRejected) {
  EXPECT_THAT(parseError(testmodels::negativeDimModel()),
              HasSubstr("initializer 'B': negative dimension -2"));
}

TEST(OnnxReader, CyclesNameTheirNodes) {
  EXPECT_THAT(
      parseError(testmodels::cyclicModel()),
      HasSubstr("m.onnx: the graph has a cycle through nodes 'a', 'b'"));
}

TEST(OnnxReader, DanglingInputsNameTheNode) {
  EXPECT_THAT(
      parseError(testmodels::danglingInputModel()),
      HasSubstr("node 'adder' (Add): input 'nowhere' is not produced by "
                "any node, initializer or graph input"));
}

TEST(OnnxReader, MissingExternalDataIsReported) {
  const auto dir = std::filesystem::temp_directory_path() / "qcc-external-test";
  std::filesystem::create_directories(dir);
  EXPECT_THAT(
      parseError(testmodels::externalDataModel("weights.bin"), dir.string()),
      HasSubstr("missing external data file"));
  EXPECT_THAT(
      parseError(testmodels::externalDataModel("../escape.bin"), dir.string()),
      HasSubstr("must stay inside the model's directory"));
  EXPECT_THAT(parseError(testmodels::externalDataModel("weights.bin")),
              HasSubstr("cannot be resolved for a model read from memory"));
  // Present but too short for a 3x2 float tensor.
  std::ofstream(dir / "short.bin", std::ios::binary) << std::string(10, 'x');
  EXPECT_THAT(
      parseError(testmodels::externalDataModel("short.bin"), dir.string()),
      HasSubstr("holds 10 bytes; 24 are needed at offset 0"));
  // Present and complete: loads.
  std::ofstream(dir / "full.bin", std::ios::binary) << std::string(24, '\0');
  EXPECT_EQ(parseError(testmodels::externalDataModel("full.bin"), dir.string()),
            "");
}

TEST(OnnxImporter, InconsistentShapesNameTheNode) {
  ImportResult result = importBytes(testmodels::inconsistentShapesModel());
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.error, HasSubstr("contraction dimensions differ"));
  EXPECT_THAT(result.location, HasSubstr("mm_bad"));
  EXPECT_THAT(result.location, HasSubstr("m.onnx"));
}

TEST(OnnxImporter, ConvIntegerChecksTheWeightRank) {
  ImportResult result = importBytes(testmodels::convIntegerBadWeightModel());
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.error,
              HasSubstr("only 2-D convolution (4-D input and weight)"));
  EXPECT_THAT(result.location, HasSubstr("conv_int"));
}

TEST(OnnxImporter, UnsupportedOpsAreAllListedAtOnce) {
  ImportResult result = importBytes(testmodels::unsupportedOpsModel());
  EXPECT_FALSE(result.ok);
  EXPECT_THAT(result.error, HasSubstr("opset 17"));
  EXPECT_THAT(result.error, HasSubstr("Foo in nodes 'f1', 'f2'"));
  EXPECT_THAT(result.error, HasSubstr("Bar in nodes 'b1'"));
}

} // namespace
