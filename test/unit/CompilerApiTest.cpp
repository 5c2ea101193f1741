// The compiler API through its public headers only (qcc/compiler.hpp and
// qcc/compiler.h), on the bundled CNN: samples in memory behave like the same
// samples in a file (batched or not, any numeric dtype), bad samples and
// options fail with messages that name the input or option, errors carry the
// ONNX node, and nothing is written on failure.
#include "qcc/compiler.h"
#include "qcc/compiler.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

namespace qc = qcc::compiler;
namespace fs = std::filesystem;

namespace {

const std::string kModel = QCC_SOURCE_DIR "/examples/fashion_mnist_cnn.onnx";
const std::vector<int64_t> kShape = {1, 1, 28, 28};

qc::Model importCnn() {
  qc::ImportOptions options;
  options.inputShapes["input"] = kShape;
  qc::Result<qc::Model> model = qc::Model::importOnnx(kModel, options);
  EXPECT_TRUE(model.ok()) << (model ? "" : model.error().describe());
  return std::move(*model);
}

/// `count` images of uniform values in [-1, 1), one after another.
std::vector<float> randomImages(int count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::vector<float> values(count * 784);
  for (float &v : values)
    v = uniform(rng);
  return values;
}

qc::SampleSet oneArrayPerSample(const std::vector<float> &images) {
  qc::SampleSet set;
  for (size_t s = 0; s < images.size() / 784; ++s)
    set.samples.push_back(
        {{"input", qc::DType::F32, kShape, &images[s * 784]}});
  return set;
}

qc::QuantizeOptions int8Options() {
  qc::QuantizeOptions options;
  options.holdout = 0;
  return options;
}

std::string quantizedIr(const qc::Model &model, const qc::SampleSet &set,
                        const qc::QuantizeOptions &options = int8Options()) {
  qc::Result<qc::Model> quantized = model.quantize(set, options);
  EXPECT_TRUE(quantized.ok())
      << (quantized ? "" : quantized.error().describe());
  return quantized ? quantized->mlir() : "";
}

TEST(CompilerApi, ABatchedArrayIsTheSameAsOneArrayPerSample) {
  qc::Model model = importCnn();
  std::vector<float> images = randomImages(6, 1);
  qc::SampleSet batched;
  batched.samples.push_back(
      {{"input", qc::DType::F32, {6, 1, 1, 28, 28}, images.data()}});
  EXPECT_EQ(quantizedIr(model, batched),
            quantizedIr(model, oneArrayPerSample(images)));
}

TEST(CompilerApi, IntegerAndDoubleArraysAreReadAsTheirValues) {
  // Pixel values 0..255 as u8, f64 and f32 give the same calibration.
  qc::Model model = importCnn();
  std::vector<uint8_t> pixels(3 * 784);
  for (size_t i = 0; i < pixels.size(); ++i)
    pixels[i] = static_cast<uint8_t>((i * 37) % 256);
  std::vector<double> asDouble(pixels.begin(), pixels.end());
  std::vector<float> asFloat(pixels.begin(), pixels.end());
  auto set = [&](qc::DType dtype, const void *data) {
    qc::SampleSet s;
    s.samples.push_back({{"input", dtype, {3, 1, 1, 28, 28}, data}});
    return s;
  };
  const std::string fromFloat =
      quantizedIr(model, set(qc::DType::F32, asFloat.data()));
  EXPECT_EQ(quantizedIr(model, set(qc::DType::U8, pixels.data())), fromFloat);
  EXPECT_EQ(quantizedIr(model, set(qc::DType::F64, asDouble.data())),
            fromFloat);
}

TEST(CompilerApi, SamplesInMemoryEqualTheSameSamplesInAFile) {
  qc::Model model = importCnn();
  std::vector<float> images = randomImages(5, 2);
  // The same five images as one .npy file, [5, 1, 1, 28, 28] f32.
  const fs::path file = fs::temp_directory_path() / "qcc-api-calib.npy";
  {
    std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': "
                         "(5, 1, 1, 28, 28), }";
    header += std::string(63 - (header.size() + 10) % 64, ' ') + "\n";
    std::ofstream out(file, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const uint16_t length = static_cast<uint16_t>(header.size());
    out.write(reinterpret_cast<const char *>(&length), 2);
    out << header;
    out.write(reinterpret_cast<const char *>(images.data()),
              images.size() * sizeof(float));
  }
  qc::SampleSet fromFile;
  fromFile.files = file.string();
  EXPECT_EQ(quantizedIr(model, fromFile),
            quantizedIr(model, oneArrayPerSample(images)));
  fs::remove(file);
}

TEST(CompilerApi, BadSamplesNameTheInputAndTheReason) {
  qc::Model model = importCnn();
  std::vector<float> images = randomImages(2, 3);
  auto failure = [&](const qc::SampleSet &set) {
    qc::Result<qc::Model> result = model.quantize(set, int8Options());
    return result ? std::string("succeeded") : result.error().message;
  };
  qc::SampleSet extra = oneArrayPerSample(images);
  extra.samples[1].push_back({"mask", qc::DType::F32, kShape, images.data()});
  EXPECT_NE(failure(extra).find("calibration sample 1: array 'mask' feeds no "
                                "model input (the inputs are 'input')"),
            std::string::npos)
      << failure(extra);
  qc::SampleSet wrongShape;
  wrongShape.samples.push_back(
      {{"input", qc::DType::F32, {1, 1, 27, 28}, images.data()}});
  EXPECT_NE(failure(wrongShape)
                .find("input 'input' has shape 1x1x27x28, "
                      "expected 1x1x28x28"),
            std::string::npos)
      << failure(wrongShape);
  qc::SampleSet negative;
  negative.samples.push_back(
      {{"input", qc::DType::F32, {-1, 784}, images.data()}});
  EXPECT_NE(failure(negative).find("negative dimension"), std::string::npos);
  qc::SampleSet both = oneArrayPerSample(images);
  both.files = "calib.npy";
  EXPECT_NE(failure(both).find("not both"), std::string::npos);
  EXPECT_NE(failure({}).find("needs calibration samples"), std::string::npos);
}

TEST(CompilerApi, OptionsByNameAreCheckedAndParsed) {
  qc::QuantizeOptions options;
  EXPECT_TRUE(qc::setOption(options, "group_size", "64"));
  EXPECT_TRUE(qc::setOption(options, "--calib-method", "entropy"));
  EXPECT_TRUE(qc::setOption(options, "act-order", "true"));
  EXPECT_TRUE(qc::setOption(options, "also-quantize", "softmax, layer_norm"));
  EXPECT_EQ(options.groupSize, 64);
  EXPECT_EQ(options.calibMethod, "entropy");
  EXPECT_TRUE(options.actOrder);
  EXPECT_EQ(options.alsoQuantize,
            (std::vector<std::string>{"softmax", "layer_norm"}));
  qc::Status bad = qc::setOption(options, "group-size", "sixty-four");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "option 'group-size' takes an integer, got 'sixty-four'");
  EXPECT_FALSE(qc::setOption(options, "act-order", "maybe"));
  qc::Status unknown = qc::setOption(options, "bits", "4");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message.rfind("unknown quantize option 'bits'", 0),
            0u);
  qc::CompileOptions compile;
  EXPECT_TRUE(qc::setOption(compile, "opt_level", "3"));
  EXPECT_EQ(compile.optLevel, 3);
  EXPECT_FALSE(qc::setOption(compile, "scheme", "int8"));

  // Values the pipeline rejects fail before any work, with the CLI's words.
  qc::Model model = importCnn();
  qc::QuantizeOptions scheme = int8Options();
  scheme.scheme = "int3";
  qc::Result<qc::Model> result = model.quantize({}, scheme);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().describe(),
            "error: --scheme must be int8, w8a8, w8a16, fp8, w4a16, nf4 or mixed, got "
            "'int3'\n");
}

TEST(CompilerApi, ImportErrorsNameTheFileAndTheOnnxNode) {
  // Rename the first conv's weight input in the serialized model: the node
  // now reads a value nothing produces.
  std::ifstream in(kModel, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)),
                    std::istreambuf_iterator<char>());
  const size_t at = bytes.find("Conv");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 4, "Cnvx");
  qc::Result<qc::Model> model =
      qc::Model::importOnnx(bytes.data(), bytes.size(), "edited.onnx");
  ASSERT_FALSE(model);
  EXPECT_EQ(model.error().message.rfind(
                "edited.onnx: node '/features/features.0/Conv' (Conv): input "
                "'onnx::Cnvx",
                0),
            0u)
      << model.error().message;
  EXPECT_NE(model.error().message.find("is not produced by any node"),
            std::string::npos);
}

TEST(CompilerApi, SavingFailsWithoutLeavingAFile) {
  qc::Model model = importCnn();
  const fs::path dir = fs::temp_directory_path() / "qcc-api-save";
  fs::remove_all(dir);
  fs::create_directories(dir);
  EXPECT_FALSE(model.save((dir / "model.txt").string()));
  // A float model has no QDQ form.
  qc::Status qdq = model.save((dir / "model.onnx").string());
  ASSERT_FALSE(qdq);
  EXPECT_NE(qdq.error().message.find("only a quantized model"),
            std::string::npos);
  EXPECT_TRUE(fs::is_empty(dir));
  // A quantized model round-trips through .mlir.
  qc::Result<qc::Model> int8 =
      model.quantize(oneArrayPerSample(randomImages(3, 4)), int8Options());
  ASSERT_TRUE(int8);
  ASSERT_TRUE(int8->save((dir / "int8.mlir").string()));
  qc::Result<qc::Model> parsed =
      qc::Model::parseMlir((dir / "int8.mlir").string());
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(parsed->mlir(), int8->mlir());
  EXPECT_EQ(parsed->report(), nullptr);
  fs::remove_all(dir);
}

TEST(CompilerApi, TheCApiReportsNullArgumentsAndBadOptions) {
  qcc_compiler_model *model = nullptr;
  EXPECT_EQ(qcc_compiler_import_file(nullptr, nullptr, 0, &model),
            QCC_COMPILER_ERROR);
  EXPECT_STREQ(qcc_compiler_last_error(),
               "qcc_compiler_import_file: null argument");
  qcc_compiler_option shape{"input-shape", "input=1x1x2y8x28"};
  EXPECT_EQ(qcc_compiler_import_file(kModel.c_str(), &shape, 1, &model),
            QCC_COMPILER_ERROR);
  EXPECT_NE(std::string(qcc_compiler_last_error()).find("bad dimension '2y8'"),
            std::string::npos);
  shape.value = "input=1x1x28x28";
  ASSERT_EQ(qcc_compiler_import_file(kModel.c_str(), &shape, 1, &model),
            QCC_COMPILER_OK)
      << qcc_compiler_last_diagnostics();
  EXPECT_EQ(qcc_compiler_report_json(model), nullptr);
  std::vector<float> images = randomImages(2, 5);
  const int64_t dims[] = {2, 1, 1, 28, 28};
  qcc_compiler_array array{"input", QCC_COMPILER_F32, 5, dims, images.data()};
  qcc_compiler_option options[] = {{"holdout", "0"}, {"method", "gptq"}};
  qcc_compiler_model *quantized = nullptr;
  ASSERT_EQ(qcc_compiler_quantize(model, &array, 1, 1, nullptr, options, 2,
                                  &quantized),
            QCC_COMPILER_OK)
      << qcc_compiler_last_diagnostics();
  const std::string json = qcc_compiler_report_json(quantized);
  EXPECT_NE(json.find("\"method\": \"gptq\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"calibration\": \"minmax, 2 samples\""),
            std::string::npos)
      << json;
  array.dtype = static_cast<qcc_compiler_dtype>(99);
  qcc_compiler_model *unused = nullptr;
  EXPECT_EQ(
      qcc_compiler_quantize(model, &array, 1, 1, nullptr, options, 2, &unused),
      QCC_COMPILER_ERROR);
  EXPECT_NE(std::string(qcc_compiler_last_error()).find("unknown dtype 99"),
            std::string::npos);
  qcc_compiler_option target{"target", "tpu"};
  EXPECT_EQ(qcc_compiler_compile(quantized, &target, 1, "/tmp/never.qpkg"),
            QCC_COMPILER_ERROR);
  EXPECT_STREQ(qcc_compiler_last_error(),
               "--target must be cpu or cuda, got 'tpu'");
  EXPECT_FALSE(fs::exists("/tmp/never.qpkg"));
  qcc_compiler_model_free(quantized);
  qcc_compiler_model_free(model);
}

} // namespace
