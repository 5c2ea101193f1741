// Tests of the QDQ exporter (importers/onnx/QdqExport.h). Models are built
// here with the ONNX protobuf classes, exported with a plan, and read back
// with qcc::onnx::loadModel. Expected tensors come from the plan itself and
// from formulas written out in this file (the ONNX nibble order, the
// MatMulNBits layout, Q/DQ arithmetic), never from the exporter's output.
// With QCC_TEST_PYTHON naming a Python that has onnxruntime and numpy, the
// exported models also run in ONNX Runtime and are compared with
// x @ dequantize(codes) computed here.
#include "importers/onnx/QdqExport.h"
#include "importers/onnx/OnnxModel.h"
#include "runtime/io/Npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using qcc::onnx::DataType;
using qcc::onnx::exportQdqModel;
using qcc::onnx::QdqPlan;
using qcc::rt::Format;
using ::testing::HasSubstr;

// ONNX element type codes (the newer ones are not in libonnx 1.12's enum).
constexpr int32_t kFloat = 1, kUInt8 = 2, kInt8 = 3, kFloat8E4M3FN = 17,
                  kInt4 = 22;

//===----------------------------------------------------------------------===//
// Files and models.
//===----------------------------------------------------------------------===//

/// A fresh directory per test, removed afterwards.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (fs::temp_directory_path() / "qcc-qdq-test-XXXXXX").string();
    if (!mkdtemp(pattern.data()))
      ADD_FAILURE() << "mkdtemp failed";
    root = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
  std::string file(const std::string &name) const {
    return (root / name).string();
  }
  /// Names of the directory's entries, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator(root))
      names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

private:
  fs::path root;
};

class ModelBuilder {
public:
  explicit ModelBuilder(int64_t opset = 17, int64_t irVersion = 8) {
    model.set_ir_version(irVersion);
    auto *import = model.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    model.set_producer_name("qcc-test");
    model.set_producer_version("1");
    graph = model.mutable_graph();
    graph->set_name("test");
  }

  void input(const std::string &name, std::vector<int64_t> dims) {
    describe(graph->add_input(), name, dims);
  }
  void output(const std::string &name, std::vector<int64_t> dims) {
    describe(graph->add_output(), name, dims);
  }
  ::onnx::TensorProto *initializer(const std::string &name,
                                   std::vector<int64_t> dims,
                                   const std::vector<float> &values) {
    auto *tensor = graph->add_initializer();
    tensor->set_name(name);
    tensor->set_data_type(kFloat);
    for (int64_t dim : dims)
      tensor->add_dims(dim);
    tensor->set_raw_data(std::string(
        reinterpret_cast<const char *>(values.data()), values.size() * 4));
    return tensor;
  }
  ::onnx::NodeProto *node(const std::string &op, const std::string &name,
                          std::vector<std::string> inputs,
                          std::vector<std::string> outputs) {
    auto *node = graph->add_node();
    node->set_op_type(op);
    node->set_name(name);
    for (const auto &in : inputs)
      node->add_input(in);
    for (const auto &out : outputs)
      node->add_output(out);
    return node;
  }
  static void intAttr(::onnx::NodeProto *node, const std::string &name,
                      int64_t value) {
    auto *attr = node->add_attribute();
    attr->set_name(name);
    attr->set_type(::onnx::AttributeProto::INT);
    attr->set_i(value);
  }
  static void intsAttr(::onnx::NodeProto *node, const std::string &name,
                       std::vector<int64_t> values) {
    auto *attr = node->add_attribute();
    attr->set_name(name);
    attr->set_type(::onnx::AttributeProto::INTS);
    for (int64_t v : values)
      attr->add_ints(v);
  }

  std::string save(const TempDir &dir, const std::string &name) const {
    const std::string path = dir.file(name);
    std::ofstream stream(path, std::ios::binary);
    stream << model.SerializeAsString();
    return path;
  }

  ::onnx::ModelProto model;
  ::onnx::GraphProto *graph;

private:
  static void describe(::onnx::ValueInfoProto *info, const std::string &name,
                       const std::vector<int64_t> &dims) {
    info->set_name(name);
    auto *tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(kFloat);
    for (int64_t dim : dims)
      tensor->mutable_shape()->add_dim()->set_dim_value(dim);
  }
};

/// Deterministic pseudo-random data.
class Random {
public:
  explicit Random(unsigned seed) : engine(seed) {}
  std::vector<float> floats(size_t count, float low, float high) {
    std::uniform_real_distribution<float> dist(low, high);
    std::vector<float> values(count);
    for (float &v : values)
      v = dist(engine);
    return values;
  }
  std::vector<int32_t> ints(size_t count, int32_t low, int32_t high) {
    std::uniform_int_distribution<int32_t> dist(low, high);
    std::vector<int32_t> values(count);
    for (int32_t &v : values)
      v = dist(engine);
    return values;
  }

private:
  std::mt19937 engine;
};

/// y = MatMul(x[m, k], W[k, n]) with the node named "mm".
ModelBuilder matmulModel(int64_t m, int64_t k, int64_t n, int64_t opset = 17) {
  ModelBuilder builder(opset);
  Random random(1);
  builder.input("x", {m, k});
  builder.initializer("W", {k, n}, random.floats(k * n, -1, 1));
  builder.node("MatMul", "mm", {"x", "W"}, {"y"});
  builder.output("y", {m, n});
  return builder;
}

qcc::onnx::Model load(const std::string &path) {
  auto model = qcc::onnx::loadModel(path);
  if (!model) {
    ADD_FAILURE() << model.error().message;
    return {};
  }
  return std::move(*model);
}

const qcc::onnx::Node *findNode(const qcc::onnx::Model &model,
                                const std::string &opType, int index = 0) {
  for (const auto &node : model.graph.nodes)
    if (node.opType == opType && index-- == 0)
      return &node;
  return nullptr;
}

int countNodes(const qcc::onnx::Model &model, const std::string &opType) {
  return static_cast<int>(
      std::count_if(model.graph.nodes.begin(), model.graph.nodes.end(),
                    [&](const auto &node) { return node.opType == opType; }));
}

const qcc::onnx::Tensor *findInitializer(const qcc::onnx::Model &model,
                                         const std::string &name) {
  for (const auto &tensor : model.graph.initializers)
    if (tensor.name == name)
      return &tensor;
  return nullptr;
}

/// The raw bytes of an initializer as stored in the file (for checking
/// 4-bit packing, which loadModel unpacks).
std::string rawInitializer(const std::string &path, const std::string &name) {
  std::ifstream stream(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(stream)), {});
  ::onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(bytes));
  for (const auto &tensor : model.graph().initializer())
    if (tensor.name() == name)
      return tensor.raw_data();
  ADD_FAILURE() << "no initializer " << name;
  return {};
}

std::vector<int64_t> asInt64(const std::vector<int32_t> &values) {
  return {values.begin(), values.end()};
}

/// The exported model must hold a DequantizeLinear whose output feeds input
/// `input` of the node named `consumer`; returns it.
const qcc::onnx::Node *dequantizeFeeding(const qcc::onnx::Model &model,
                                         const std::string &consumer,
                                         int input) {
  for (const auto &node : model.graph.nodes)
    if (node.name == consumer)
      for (const auto &dq : model.graph.nodes)
        if (dq.opType == "DequantizeLinear" &&
            dq.outputs[0] == node.inputs.at(input))
          return &dq;
  return nullptr;
}

//===----------------------------------------------------------------------===//
// Independent arithmetic.
//===----------------------------------------------------------------------===//

/// Dequantizes a 2-D [k, n] weight: one scale per column (axis 1), per
/// block of `blockSize` rows (axis 0), or per tensor.
std::vector<double> dequantize2d(const std::vector<int32_t> &codes, int64_t k,
                                 int64_t n, const std::vector<float> &scales,
                                 const std::vector<int32_t> &zeroPoints,
                                 int64_t axis, int64_t blockSize) {
  std::vector<double> values(k * n);
  for (int64_t row = 0; row < k; ++row)
    for (int64_t col = 0; col < n; ++col) {
      int64_t s = 0;
      if (axis == 1)
        s = col;
      else if (axis == 0 && blockSize > 0)
        s = (row / blockSize) * n + col;
      else if (axis == 0)
        s = row;
      const int32_t zp = zeroPoints.empty() ? 0 : zeroPoints[s];
      values[row * n + col] = static_cast<double>(
          static_cast<float>(codes[row * n + col] - zp) * scales[s]);
    }
  return values;
}

std::vector<double> matmul(const std::vector<float> &x,
                           const std::vector<double> &w, int64_t m, int64_t k,
                           int64_t n) {
  std::vector<double> y(m * n, 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t l = 0; l < k; ++l)
        y[i * n + j] += static_cast<double>(x[i * k + l]) * w[l * n + j];
  return y;
}

/// ONNX QuantizeLinear then DequantizeLinear for an 8-bit format: the
/// quotient in float, rounded half to even, plus the zero point, saturated.
std::vector<float> quantizeDequantize(const std::vector<float> &x, float scale,
                                      int32_t zeroPoint, int32_t low,
                                      int32_t high) {
  std::vector<float> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const float rounded = std::nearbyint(x[i] / scale); // ties to even
    const int32_t q =
        std::clamp(static_cast<int32_t>(rounded) + zeroPoint, low, high);
    out[i] = static_cast<float>(q - zeroPoint) * scale;
  }
  return out;
}

/// FP8 E4M3FN from its definition: bias 7, subnormals at exponent 0, no
/// infinities (the all-ones pattern is NaN).
double decodeE4M3FN(uint8_t code) {
  const int sign = code >> 7, exponent = (code >> 3) & 0xF, mantissa = code & 7;
  double magnitude;
  if (exponent == 0xF && mantissa == 7)
    magnitude = NAN;
  else if (exponent == 0)
    magnitude = std::ldexp(mantissa / 8.0, -6);
  else
    magnitude = std::ldexp(1.0 + mantissa / 8.0, exponent - 7);
  return sign ? -magnitude : magnitude;
}

//===----------------------------------------------------------------------===//
// ONNX Runtime.
//===----------------------------------------------------------------------===//

std::optional<std::string> ortPython() {
  const char *python = std::getenv("QCC_TEST_PYTHON");
  if (!python || !*python)
    return std::nullopt;
  return std::string(python);
}

#define REQUIRE_ORT(python)                                                    \
  const std::optional<std::string> python = ortPython();                       \
  if (!python)                                                                 \
  GTEST_SKIP()                                                                 \
      << "QCC_TEST_PYTHON is not set; the ONNX Runtime check needs a "         \
         "Python with onnxruntime and numpy"

std::string shellQuote(const std::string &text) {
  std::string quoted = "'";
  for (char c : text)
    quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

/// Runs `modelPath` in ONNX Runtime's CPU provider on x and returns output
/// 0. `fuse` keeps ONNX Runtime's default optimizations, which replace Q/DQ
/// patterns with integer kernels; without it only the basic (semantics-
/// preserving) rewrites run.
std::vector<float> runOrt(const std::string &python, const TempDir &dir,
                          const std::string &modelPath,
                          const std::vector<float> &x,
                          const std::vector<int64_t> &shape, bool fuse = true) {
  const std::string script = dir.file("run_ort.py");
  {
    std::ofstream stream(script);
    stream << "import sys\n"
              "import numpy as np\n"
              "import onnxruntime as ort\n"
              "options = ort.SessionOptions()\n"
              "if sys.argv[4] == 'basic':\n"
              "    options.graph_optimization_level = "
              "ort.GraphOptimizationLevel.ORT_ENABLE_BASIC\n"
              "session = ort.InferenceSession(sys.argv[1], options, "
              "providers=['CPUExecutionProvider'])\n"
              "x = np.load(sys.argv[2])\n"
              "y = session.run(None, {session.get_inputs()[0].name: x})[0]\n"
              "np.save(sys.argv[3], np.ascontiguousarray(y, "
              "dtype=np.float32))\n";
  }
  qcc::rt::HostArray input;
  input.kind = qcc::rt::ElementKind::F32;
  input.shape = shape;
  input.bytes.resize(x.size() * 4);
  std::memcpy(input.bytes.data(), x.data(), input.bytes.size());
  std::string error;
  const std::string inputPath = dir.file("x.npy"),
                    outputPath = dir.file("y.npy");
  EXPECT_TRUE(qcc::rt::writeNpy(inputPath, input, error)) << error;
  const std::string command =
      shellQuote(python) + " " + shellQuote(script) + " " +
      shellQuote(modelPath) + " " + shellQuote(inputPath) + " " +
      shellQuote(outputPath) + (fuse ? " all" : " basic");
  const int status = std::system(command.c_str());
  EXPECT_EQ(status, 0) << "ONNX Runtime failed on " << modelPath;
  qcc::rt::HostArray output;
  if (status != 0 || !qcc::rt::readNpy(outputPath, output, error)) {
    ADD_FAILURE() << error;
    return {};
  }
  std::vector<float> values(output.elementCount());
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(output.at(static_cast<int64_t>(i)));
  return values;
}

/// Elementwise within 1e-4 relative (with a floor of 1e-4 of the largest
/// magnitude, for entries that cancel to near zero).
void expectClose(const std::vector<float> &actual,
                 const std::vector<double> &expected) {
  ASSERT_EQ(actual.size(), expected.size());
  double largest = 0;
  for (double v : expected)
    largest = std::max(largest, std::abs(v));
  for (size_t i = 0; i < actual.size(); ++i)
    EXPECT_NEAR(actual[i], expected[i],
                1e-4 * (std::abs(expected[i]) + largest) + 1e-7)
        << "at index " << i;
}

//===----------------------------------------------------------------------===//
// Plans used by both the structure and the ONNX Runtime tests.
//===----------------------------------------------------------------------===//

struct WeightCase {
  int64_t m, k, n;
  qcc::onnx::WeightQuant weight;
};

/// Random codes and parameters for W[k, n] of "mm" in `format` with the
/// given granularity; asymmetric draws zero points, otherwise none.
WeightCase makeWeightCase(int64_t m, int64_t k, int64_t n, Format format,
                          int64_t axis, int64_t blockSize, bool asymmetric,
                          unsigned seed) {
  Random random(seed);
  WeightCase c{m, k, n, {}};
  auto &w = c.weight;
  w.site = {"mm", 1};
  w.shape = {k, n};
  w.params.format = format;
  w.params.granularity = {axis, blockSize};
  const std::vector<int64_t> shape = {k, n};
  const int64_t scales =
      qcc::rt::elementCount(qcc::rt::scaleTableShape(shape, {axis, blockSize}));
  w.params.scales = random.floats(scales, 0.01f, 0.1f);
  const int32_t low = qcc::rt::codeMin(format), high = qcc::rt::codeMax(format);
  if (asymmetric)
    w.params.zeroPoints = random.ints(scales, low, high);
  w.codes = random.ints(k * n, low, high);
  return c;
}

std::vector<double> expectedWeightOutput(const WeightCase &c,
                                         const std::vector<float> &x) {
  const auto &p = c.weight.params;
  return matmul(x,
                dequantize2d(c.weight.codes, c.k, c.n, p.scales, p.zeroPoints,
                             p.granularity.axis, p.granularity.blockSize),
                c.m, c.k, c.n);
}

/// Exports `plan` on `source` into dir/out.onnx, failing the test on error.
std::string exportOrFail(const std::string &source, const QdqPlan &plan,
                         const TempDir &dir) {
  const std::string out = dir.file("out.onnx");
  std::string error;
  EXPECT_TRUE(exportQdqModel(source, plan, out, error)) << error;
  return out;
}

//===----------------------------------------------------------------------===//
// Structure.
//===----------------------------------------------------------------------===//

TEST(QdqExport, Int8PerChannelMatMulWeight) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 4, 3, Format::I8, 1, 0, true, 2);
  QdqPlan plan;
  plan.weights = {c.weight};
  plan.producerNote = "qcc test plan";
  const auto model = load(exportOrFail(source, plan, dir));

  const auto *dq = dequantizeFeeding(model, "mm", 1);
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->intAttr("axis", -99), 1);
  EXPECT_EQ(dq->attribute("block_size"), nullptr);
  ASSERT_EQ(dq->inputs.size(), 3u);
  const auto *codes = findInitializer(model, dq->inputs[0]);
  const auto *scales = findInitializer(model, dq->inputs[1]);
  const auto *zps = findInitializer(model, dq->inputs[2]);
  ASSERT_TRUE(codes && scales && zps);
  EXPECT_EQ(codes->type, DataType::Int8);
  EXPECT_EQ(codes->dims, (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(codes->toInts(), asInt64(c.weight.codes));
  EXPECT_EQ(scales->type, DataType::Float);
  EXPECT_EQ(scales->dims, (std::vector<int64_t>{3}));
  EXPECT_EQ(scales->toFloats(), c.weight.params.scales);
  EXPECT_EQ(zps->type, DataType::Int8);
  EXPECT_EQ(zps->dims, (std::vector<int64_t>{3}));
  EXPECT_EQ(zps->toInts(), asInt64(c.weight.params.zeroPoints));
  // The float original is gone; the names say where the tensors came from.
  EXPECT_EQ(findInitializer(model, "W"), nullptr);
  EXPECT_EQ(codes->name, "W_quantized");
  EXPECT_EQ(scales->name, "W_scale");
  EXPECT_EQ(zps->name, "W_zero_point");
  // Per-axis needs opset 13; the source's 17 stays.
  EXPECT_EQ(model.opset(), 17);
  EXPECT_EQ(model.irVersion, 8);
}

TEST(QdqExport, ProducerFieldsAndDocString) {
  TempDir dir;
  ModelBuilder builder = matmulModel(2, 4, 3);
  builder.model.set_doc_string("original doc");
  const std::string source = builder.save(dir, "in.onnx");
  QdqPlan plan;
  plan.weights = {makeWeightCase(2, 4, 3, Format::I8, -1, 0, false, 3).weight};
  plan.producerNote = "qcc 0.1: int8 weights";
  const std::string out = exportOrFail(source, plan, dir);
  std::ifstream stream(out, std::ios::binary);
  ::onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromIstream(&stream));
  EXPECT_EQ(proto.producer_name(), "qcc");
  EXPECT_NE(proto.doc_string().find("original doc"), std::string::npos);
  EXPECT_NE(proto.doc_string().find("qcc 0.1: int8 weights"),
            std::string::npos);
  // Per tensor: scalar scale and zero point, no axis.
  const auto model = load(out);
  const auto *dq = dequantizeFeeding(model, "mm", 1);
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->attribute("axis"), nullptr);
  EXPECT_TRUE(findInitializer(model, dq->inputs[1])->dims.empty());
  EXPECT_EQ(findInitializer(model, dq->inputs[2])->toInts(),
            std::vector<int64_t>{0});
}

TEST(QdqExport, Int4BlockedWeightPacksNibblesOverTheFlatTensor) {
  TempDir dir;
  // 5 x 3 = 15 elements: the last byte holds a single nibble. Blocks of 2
  // along K leave a partial last block.
  const std::string source = matmulModel(2, 5, 3).save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 5, 3, Format::I4, 0, 2, true, 4);
  c.weight.preferMatMulNBits = false;
  QdqPlan plan;
  plan.weights = {c.weight};
  const std::string out = exportOrFail(source, plan, dir);
  const auto model = load(out);

  const auto *dq = dequantizeFeeding(model, "mm", 1);
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq->intAttr("axis", -99), 0);
  EXPECT_EQ(dq->intAttr("block_size", -99), 2);
  const auto *codes = findInitializer(model, dq->inputs[0]);
  const auto *scales = findInitializer(model, dq->inputs[1]);
  const auto *zps = findInitializer(model, dq->inputs[2]);
  ASSERT_TRUE(codes && scales && zps);
  EXPECT_EQ(codes->type, DataType::Int4);
  EXPECT_EQ(codes->toInts(), asInt64(c.weight.codes));
  EXPECT_EQ(scales->dims, (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(scales->toFloats(), c.weight.params.scales);
  EXPECT_EQ(zps->type, DataType::Int4);
  EXPECT_EQ(zps->toInts(), asInt64(c.weight.params.zeroPoints));

  // ONNX packs 4-bit tensors two per byte over the flat element order, the
  // even index in the low nibble, two's complement nibbles.
  const std::string raw = rawInitializer(out, codes->name);
  ASSERT_EQ(raw.size(), 8u);
  for (size_t byte = 0; byte < raw.size(); ++byte) {
    const int low = c.weight.codes[2 * byte] & 0xF;
    const int high = 2 * byte + 1 < c.weight.codes.size()
                         ? c.weight.codes[2 * byte + 1] & 0xF
                         : 0;
    EXPECT_EQ(static_cast<uint8_t>(raw[byte]), low | (high << 4))
        << "byte " << byte;
  }
  // 4-bit and blocked Q/DQ are opset 21, which goes with IR 10.
  EXPECT_EQ(model.opset(), 21);
  EXPECT_EQ(model.irVersion, 10);
}

/// Checks a MatMulNBits node against the spec's layout, computed from the
/// plan: B[n][block][byte] holds rows 2*byte and 2*byte+1 of the block in
/// the low and high nibble, as unsigned codes (int4 + 8).
void checkMatMulNBits(const std::string &out, const WeightCase &c,
                      bool expectZeroPoints) {
  const auto model = load(out);
  EXPECT_EQ(countNodes(model, "MatMul"), 0);
  const auto *node = findNode(model, "MatMulNBits");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->name, "mm");
  EXPECT_EQ(node->domain, "com.microsoft");
  EXPECT_EQ(model.opset("com.microsoft"), 1);
  const int64_t k = c.k, n = c.n, bs = c.weight.params.granularity.blockSize;
  const int64_t blocks = (k + bs - 1) / bs;
  EXPECT_EQ(node->intAttr("K", 0), k);
  EXPECT_EQ(node->intAttr("N", 0), n);
  EXPECT_EQ(node->intAttr("bits", 0), 4);
  EXPECT_EQ(node->intAttr("block_size", 0), bs);
  ASSERT_EQ(node->inputs.size(), expectZeroPoints ? 4u : 3u);
  EXPECT_EQ(node->inputs[0], "x");

  const int offset = c.weight.params.format == Format::I4 ? 8 : 0;
  const auto *b = findInitializer(model, node->inputs[1]);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, DataType::UInt8);
  EXPECT_EQ(b->dims, (std::vector<int64_t>{n, blocks, bs / 2}));
  for (int64_t col = 0; col < n; ++col)
    for (int64_t row = 0; row < k; ++row) {
      const uint8_t byte =
          b->bytes[(col * blocks + row / bs) * (bs / 2) + (row % bs) / 2];
      const int nibble = row % 2 == 0 ? byte & 0xF : byte >> 4;
      EXPECT_EQ(nibble, c.weight.codes[row * n + col] + offset)
          << "row " << row << " col " << col;
    }
  const auto *scales = findInitializer(model, node->inputs[2]);
  ASSERT_NE(scales, nullptr);
  EXPECT_EQ(scales->dims, (std::vector<int64_t>{n * blocks}));
  const std::vector<float> s = scales->toFloats();
  for (int64_t col = 0; col < n; ++col)
    for (int64_t block = 0; block < blocks; ++block)
      EXPECT_EQ(s[col * blocks + block],
                c.weight.params.scales[block * n + col]);
  if (!expectZeroPoints)
    return;
  const auto *zps = findInitializer(model, node->inputs[3]);
  ASSERT_NE(zps, nullptr);
  const int64_t rowBytes = (blocks + 1) / 2;
  EXPECT_EQ(zps->dims, (std::vector<int64_t>{n * rowBytes}));
  for (int64_t col = 0; col < n; ++col)
    for (int64_t block = 0; block < blocks; ++block) {
      const uint8_t byte = zps->bytes[col * rowBytes + block / 2];
      const int nibble = block % 2 == 0 ? byte & 0xF : byte >> 4;
      EXPECT_EQ(nibble, c.weight.params.zeroPoint(block * n + col) + offset);
    }
}

TEST(QdqExport, MatMulNBitsSignedInt4OmitsDefaultZeroPoints) {
  TempDir dir;
  const std::string source = matmulModel(3, 32, 5).save(dir, "in.onnx");
  WeightCase c = makeWeightCase(3, 32, 5, Format::I4, 0, 16, false, 5);
  QdqPlan plan;
  plan.weights = {c.weight};
  const std::string out = exportOrFail(source, plan, dir);
  checkMatMulNBits(out, c, /*expectZeroPoints=*/false);
  // No default-domain operator changed, so the opset stays.
  EXPECT_EQ(load(out).opset(), 17);
}

TEST(QdqExport, MatMulNBitsUnsignedAsymmetricPacksZeroPoints) {
  TempDir dir;
  // K = 40 with blocks of 16: three blocks (odd, so the zero point rows end
  // in a padding nibble), the last one partial.
  const std::string source = matmulModel(3, 40, 5).save(dir, "in.onnx");
  WeightCase c = makeWeightCase(3, 40, 5, Format::U4, 0, 16, true, 6);
  QdqPlan plan;
  plan.weights = {c.weight};
  checkMatMulNBits(exportOrFail(source, plan, dir), c, true);
}

TEST(QdqExport, MatMulNBitsUnsignedWithoutZeroPointsWritesZeros) {
  TempDir dir;
  // u4 with no zero points means zero point 0, not MatMulNBits' default 8.
  const std::string source = matmulModel(2, 32, 4).save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 32, 4, Format::U4, 0, 32, false, 7);
  QdqPlan plan;
  plan.weights = {c.weight};
  checkMatMulNBits(exportOrFail(source, plan, dir), c, true);
}

TEST(QdqExport, SmallBlocksFallBackToDequantizeLinear) {
  TempDir dir;
  const std::string source = matmulModel(2, 16, 4).save(dir, "in.onnx");
  // MatMulNBits needs blocks of at least 16; per-axis int4 does not fit it.
  for (auto [axis, blockSize] : {std::pair<int64_t, int64_t>{0, 8}, {1, 0}}) {
    WeightCase c =
        makeWeightCase(2, 16, 4, Format::I4, axis, blockSize, false, 8);
    QdqPlan plan;
    plan.weights = {c.weight};
    const auto model = load(exportOrFail(source, plan, dir));
    EXPECT_EQ(countNodes(model, "MatMulNBits"), 0);
    EXPECT_EQ(countNodes(model, "MatMul"), 1);
    EXPECT_NE(dequantizeFeeding(model, "mm", 1), nullptr);
  }
}

TEST(QdqExport, Float8WeightRaisesOpsetTo19) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 4, 3, Format::F8E4M3FN, -1, 0, false, 9);
  for (int32_t &code : c.weight.codes)
    if ((code & 0x7F) == 0x7F)
      code = 0x10; // no NaN patterns
  QdqPlan plan;
  plan.weights = {c.weight};
  const auto model = load(exportOrFail(source, plan, dir));
  const auto *dq = dequantizeFeeding(model, "mm", 1);
  ASSERT_NE(dq, nullptr);
  const auto *codes = findInitializer(model, dq->inputs[0]);
  const auto *zps = findInitializer(model, dq->inputs[2]);
  ASSERT_TRUE(codes && zps);
  EXPECT_EQ(codes->type, DataType::Float8E4M3FN);
  EXPECT_EQ(std::vector<int32_t>(codes->bytes.begin(), codes->bytes.end()),
            c.weight.codes);
  EXPECT_EQ(zps->type, DataType::Float8E4M3FN);
  EXPECT_EQ(zps->bytes, std::vector<uint8_t>{0});
  EXPECT_EQ(model.opset(), 19);
  EXPECT_EQ(model.irVersion, 9);
}

/// x[1, 2, 5, 5] -> Conv "conv" (W[3, 2, 3, 3], B[3]) -> y.
ModelBuilder convModel() {
  ModelBuilder builder(13, 7);
  Random random(10);
  builder.input("x", {1, 2, 5, 5});
  builder.initializer("W", {3, 2, 3, 3}, random.floats(54, -1, 1));
  builder.initializer("B", {3}, random.floats(3, -1, 1));
  builder.node("Conv", "conv", {"x", "W", "B"}, {"y"});
  builder.output("y", {1, 3, 3, 3});
  return builder;
}

TEST(QdqExport, ConvWeightPerChannelAndActivationOnGraphInput) {
  TempDir dir;
  const std::string source = convModel().save(dir, "in.onnx");
  Random random(11);
  qcc::onnx::WeightQuant w;
  w.site = {"conv", 1};
  w.shape = {3, 2, 3, 3};
  w.params.format = Format::I8;
  w.params.granularity = {0, 0};
  w.params.scales = random.floats(3, 0.01f, 0.1f);
  w.codes = random.ints(54, -128, 127);
  QdqPlan plan;
  plan.weights = {w};
  plan.activations = {{{"conv", 0}, Format::U8, 0.02f, 128}};
  const auto model = load(exportOrFail(source, plan, dir));

  const auto *weightDq = dequantizeFeeding(model, "conv", 1);
  ASSERT_NE(weightDq, nullptr);
  EXPECT_EQ(weightDq->intAttr("axis", -99), 0);
  EXPECT_EQ(findInitializer(model, weightDq->inputs[0])->toInts(),
            asInt64(w.codes));
  EXPECT_EQ(findInitializer(model, weightDq->inputs[2])->toInts(),
            std::vector<int64_t>(3, 0));

  const auto *actDq = dequantizeFeeding(model, "conv", 0);
  ASSERT_NE(actDq, nullptr);
  const auto *q = findNode(model, "QuantizeLinear");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->inputs[0], "x");
  EXPECT_EQ(actDq->inputs[0], q->outputs[0]);
  EXPECT_EQ(actDq->inputs[1], q->inputs[1]);
  EXPECT_EQ(actDq->inputs[2], q->inputs[2]);
  const auto *scale = findInitializer(model, q->inputs[1]);
  const auto *zp = findInitializer(model, q->inputs[2]);
  ASSERT_TRUE(scale && zp);
  EXPECT_TRUE(scale->dims.empty());
  EXPECT_EQ(scale->toFloats(), std::vector<float>{0.02f});
  EXPECT_EQ(zp->type, DataType::UInt8);
  EXPECT_EQ(zp->toInts(), std::vector<int64_t>{128});
  // The bias is untouched.
  EXPECT_EQ(model.graph.nodes.back().inputs[2], "B");
  EXPECT_EQ(model.opset(), 13);
}

/// x -> Relu "relu" -> r; r feeds MatMul "mm1" (W1), MatMul "mm2" (W2),
/// MatMul "mm3" (W3) and Relu "other".
ModelBuilder sharedTensorModel() {
  ModelBuilder builder;
  Random random(12);
  builder.input("x", {2, 4});
  builder.initializer("W1", {4, 3}, random.floats(12, -1, 1));
  builder.initializer("W2", {4, 3}, random.floats(12, -1, 1));
  builder.initializer("W3", {4, 3}, random.floats(12, -1, 1));
  builder.node("Relu", "relu", {"x"}, {"r"});
  builder.node("MatMul", "mm1", {"r", "W1"}, {"y1"});
  builder.node("MatMul", "mm2", {"r", "W2"}, {"y2"});
  builder.node("MatMul", "mm3", {"r", "W3"}, {"y3"});
  builder.node("Relu", "other", {"r"}, {"y4"});
  for (const char *name : {"y1", "y2", "y3"})
    builder.output(name, {2, 3});
  builder.output("y4", {2, 4});
  return builder;
}

const qcc::onnx::Node *nodeNamed(const qcc::onnx::Model &model,
                                 const std::string &name) {
  for (const auto &node : model.graph.nodes)
    if (node.name == name)
      return &node;
  return nullptr;
}

TEST(QdqExport, SitesWithEqualParametersShareOnePair) {
  TempDir dir;
  const std::string source = sharedTensorModel().save(dir, "in.onnx");
  QdqPlan plan;
  plan.activations = {{{"mm1", 0}, Format::U8, 0.05f, 0},
                      {{"mm2", 0}, Format::U8, 0.05f, 0},
                      {{"mm3", 0}, Format::I8, 0.05f, 0}};
  const auto model = load(exportOrFail(source, plan, dir));
  EXPECT_EQ(countNodes(model, "QuantizeLinear"), 2);
  EXPECT_EQ(countNodes(model, "DequantizeLinear"), 2);
  const auto *dq1 = dequantizeFeeding(model, "mm1", 0);
  const auto *dq2 = dequantizeFeeding(model, "mm2", 0);
  const auto *dq3 = dequantizeFeeding(model, "mm3", 0);
  ASSERT_TRUE(dq1 && dq2 && dq3);
  EXPECT_EQ(dq1, dq2);
  EXPECT_NE(dq1, dq3);
  EXPECT_EQ(findInitializer(model, dq3->inputs[2])->type, DataType::Int8);
  // The consumer without a site still reads the float tensor.
  EXPECT_EQ(nodeNamed(model, "other")->inputs[0], "r");
  // Nodes stay in an order where every value is defined before use.
  std::set<std::string> defined = {"x", "W1", "W2", "W3"};
  for (const auto &tensor : model.graph.initializers)
    defined.insert(tensor.name);
  for (const auto &node : model.graph.nodes) {
    for (const auto &input : node.inputs)
      EXPECT_TRUE(defined.count(input)) << node.name << " reads " << input;
    defined.insert(node.outputs.begin(), node.outputs.end());
  }
}

TEST(QdqExport, DynamicActivationQuant) {
  TempDir dir;
  const std::string source = sharedTensorModel().save(dir, "in.onnx");
  QdqPlan plan;
  plan.dynamicActivations = {{{"mm1", 0}}, {{"mm2", 0}}};
  const auto model = load(exportOrFail(source, plan, dir));
  ASSERT_EQ(countNodes(model, "DynamicQuantizeLinear"), 1);
  const auto *q = findNode(model, "DynamicQuantizeLinear");
  const auto *dq = dequantizeFeeding(model, "mm1", 0);
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(dq, dequantizeFeeding(model, "mm2", 0));
  EXPECT_EQ(q->inputs[0], "r");
  EXPECT_EQ(dq->inputs, q->outputs);
  EXPECT_EQ(nodeNamed(model, "mm3")->inputs[0], "r");
}

TEST(QdqExport, InputScaleInsertsOneMulPerTensorAndFactors) {
  TempDir dir;
  const std::string source = sharedTensorModel().save(dir, "in.onnx");
  const std::vector<float> factors = {0.5f, 2.0f, 1.5f, 0.25f};
  QdqPlan plan;
  for (const char *node : {"mm1", "mm2"}) {
    qcc::onnx::InputScale entry;
    entry.site = {node, 0};
    entry.factors = factors;
    plan.inputScales.push_back(entry);
  }
  const auto model = load(exportOrFail(source, plan, dir));
  ASSERT_EQ(countNodes(model, "Mul"), 1);
  const auto *mul = findNode(model, "Mul");
  EXPECT_EQ(mul->inputs[0], "r");
  const auto *f = findInitializer(model, mul->inputs[1]);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->dims, (std::vector<int64_t>{4}));
  EXPECT_EQ(f->toFloats(), factors);
  EXPECT_EQ(nodeNamed(model, "mm1")->inputs[0], mul->outputs[0]);
  EXPECT_EQ(nodeNamed(model, "mm2")->inputs[0], mul->outputs[0]);
  EXPECT_EQ(nodeNamed(model, "mm3")->inputs[0], "r");
}

TEST(QdqExport, SharedInitializerStaysForItsOtherReader) {
  TempDir dir;
  ModelBuilder builder;
  Random random(13);
  builder.input("x", {2, 4});
  builder.initializer("W", {4, 4}, random.floats(16, -1, 1));
  builder.node("MatMul", "mm", {"x", "W"}, {"h"});
  builder.node("MatMul", "mm_float", {"h", "W"}, {"y"});
  builder.output("y", {2, 4});
  const std::string source = builder.save(dir, "in.onnx");
  QdqPlan plan;
  plan.weights = {makeWeightCase(2, 4, 4, Format::I8, 1, 0, false, 14).weight};
  const auto model = load(exportOrFail(source, plan, dir));
  EXPECT_NE(findInitializer(model, "W"), nullptr);
  EXPECT_EQ(nodeNamed(model, "mm_float")->inputs[1], "W");
  EXPECT_NE(dequantizeFeeding(model, "mm", 1), nullptr);
}

/// x -> Conv "conv" -> c -> BatchNormalization "bn" -> b -> Relu "act" -> y.
ModelBuilder convBatchNormModel() {
  ModelBuilder builder = convModel();
  Random random(15);
  builder.graph->mutable_node(0)->set_output(0, "c");
  builder.graph->mutable_output()->Clear();
  for (const char *name : {"gamma", "beta", "mean", "var"})
    builder.initializer(name, {3}, random.floats(3, 0.5f, 1.5f));
  builder.node("BatchNormalization", "bn",
               {"c", "gamma", "beta", "mean", "var"}, {"b"});
  builder.node("Relu", "act", {"b"}, {"y"});
  builder.output("y", {1, 3, 3, 3});
  return builder;
}

TEST(QdqExport, FoldedBatchNormIsRemovedAndConvParametersReplaced) {
  TempDir dir;
  const std::string source = convBatchNormModel().save(dir, "in.onnx");
  Random random(16);
  QdqPlan plan;
  plan.removedNodes = {"bn"};
  qcc::onnx::FloatReplacement weight, bias;
  weight.site = {"conv", 1};
  weight.shape = {3, 2, 3, 3};
  weight.values = random.floats(54, -1, 1);
  bias.site = {"conv", 2};
  bias.shape = {3};
  bias.values = random.floats(3, -1, 1);
  plan.floats = {weight, bias};
  const auto model = load(exportOrFail(source, plan, dir));
  EXPECT_EQ(countNodes(model, "BatchNormalization"), 0);
  const auto *conv = nodeNamed(model, "conv");
  ASSERT_NE(conv, nullptr);
  EXPECT_EQ(nodeNamed(model, "act")->inputs[0], conv->outputs[0]);
  const auto *w = findInitializer(model, conv->inputs[1]);
  const auto *b = findInitializer(model, conv->inputs[2]);
  ASSERT_TRUE(w && b);
  EXPECT_EQ(w->dims, (std::vector<int64_t>{3, 2, 3, 3}));
  EXPECT_EQ(w->toFloats(), plan.floats[0].values);
  EXPECT_EQ(b->toFloats(), plan.floats[1].values);
  // The originals and the batch norm's parameters are no longer read.
  for (const char *name : {"W", "B", "gamma", "beta", "mean", "var"})
    EXPECT_EQ(findInitializer(model, name), nullptr) << name;
}

TEST(QdqExport, RemovedNodeFeedingAGraphOutputKeepsTheOutputName) {
  TempDir dir;
  ModelBuilder builder = convBatchNormModel();
  builder.graph->mutable_node()->RemoveLast(); // Relu: bn feeds the output
  builder.graph->mutable_output(0)->set_name("b");
  const std::string source = builder.save(dir, "in.onnx");
  QdqPlan plan;
  plan.removedNodes = {"bn"};
  const auto model = load(exportOrFail(source, plan, dir));
  ASSERT_EQ(model.graph.outputs.size(), 1u);
  EXPECT_EQ(model.graph.outputs[0].name, "b");
  EXPECT_EQ(countNodes(model, "BatchNormalization"), 0);
  const auto *identity = findNode(model, "Identity");
  ASSERT_NE(identity, nullptr);
  EXPECT_EQ(identity->inputs, std::vector<std::string>{"c"});
  EXPECT_EQ(identity->outputs, std::vector<std::string>{"b"});
}

/// An opset 11 model whose operators changed meaning by opset 21:
/// x[2, 3, 4] -> Softmax(axis 1) -> ReduceMean(axes [2], keepdims 0) ->
/// MatMul "mm" with W[3, 8] -> y[2, 8].
ModelBuilder opset11Model() {
  ModelBuilder builder(11, 6);
  Random random(17);
  builder.input("x", {2, 3, 4});
  builder.initializer("W", {3, 8}, random.floats(24, -1, 1));
  ModelBuilder::intAttr(builder.node("Softmax", "softmax", {"x"}, {"s"}),
                        "axis", 1);
  auto *mean = builder.node("ReduceMean", "mean", {"s"}, {"m"});
  ModelBuilder::intsAttr(mean, "axes", {2});
  ModelBuilder::intAttr(mean, "keepdims", 0);
  builder.node("MatMul", "mm", {"m", "W"}, {"y"});
  builder.output("y", {2, 8});
  return builder;
}

TEST(QdqExport, RaisingTheOpsetRewritesOperatorsThatChanged) {
  TempDir dir;
  const std::string source = opset11Model().save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 3, 8, Format::I4, 0, 2, false, 18);
  QdqPlan plan;
  plan.weights = {c.weight};
  const auto model = load(exportOrFail(source, plan, dir));
  EXPECT_EQ(model.opset(), 21);
  EXPECT_EQ(model.irVersion, 10);
  // ReduceMean's axes became an input in opset 18.
  const auto *mean = nodeNamed(model, "mean");
  ASSERT_NE(mean, nullptr);
  EXPECT_EQ(mean->attribute("axes"), nullptr);
  ASSERT_EQ(mean->inputs.size(), 2u);
  EXPECT_EQ(findInitializer(model, mean->inputs[1])->toInts(),
            std::vector<int64_t>{2});
  // Softmax over axis 1 of a 3-D tensor meant "flatten from axis 1" before
  // opset 13: the rewrite flattens, normalizes rows, and restores the shape.
  const auto *softmax = nodeNamed(model, "softmax");
  ASSERT_NE(softmax, nullptr);
  EXPECT_EQ(softmax->intAttr("axis", -99), 1);
  EXPECT_EQ(countNodes(model, "Flatten"), 1);
  EXPECT_EQ(countNodes(model, "Reshape"), 1);
  EXPECT_EQ(findNode(model, "Reshape")->outputs[0], "s");
}

TEST(QdqExport, UnnamedNodesAreFoundByTheReadersName) {
  TempDir dir;
  ModelBuilder builder = matmulModel(2, 4, 3);
  builder.graph->mutable_node(0)->clear_name();
  const std::string source = builder.save(dir, "in.onnx");
  // loadModel (and so the importer and every diagnostic) calls the first
  // unnamed MatMul "MatMul#0"; the plan uses the same name.
  ASSERT_EQ(load(source).graph.nodes[0].name, "MatMul#0");
  WeightCase c = makeWeightCase(2, 4, 3, Format::I8, 1, 0, false, 40);
  c.weight.site.node = "MatMul#0";
  QdqPlan plan;
  plan.weights = {c.weight};
  const auto model = load(exportOrFail(source, plan, dir));
  const auto *dq = findNode(model, "DequantizeLinear");
  ASSERT_NE(dq, nullptr);
  EXPECT_EQ(findNode(model, "MatMul")->inputs[1], dq->outputs[0]);
}

TEST(QdqExport, Float16WeightGetsFloat16Scales) {
  TempDir dir;
  ModelBuilder builder = matmulModel(2, 4, 3);
  // Make W float16 (all values 0.5): DequantizeLinear's output type is
  // its scale's, so the scales must be float16 too (opset 19).
  auto *w = builder.graph->mutable_initializer(0);
  w->set_data_type(10);
  w->set_raw_data(std::string(24, '\0'));
  for (int i = 0; i < 12; ++i)
    w->mutable_raw_data()->at(2 * i + 1) = '\x38';
  const std::string source = builder.save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 4, 3, Format::I8, 1, 0, false, 41);
  c.weight.params.scales = {0.5f, 0.25f, 0.125f}; // exact in float16
  QdqPlan plan;
  plan.weights = {c.weight};
  const auto model = load(exportOrFail(source, plan, dir));
  const auto *dq = dequantizeFeeding(model, "mm", 1);
  ASSERT_NE(dq, nullptr);
  const auto *scales = findInitializer(model, dq->inputs[1]);
  EXPECT_EQ(scales->type, DataType::Float16);
  EXPECT_EQ(scales->toFloats(), c.weight.params.scales);
  EXPECT_EQ(model.opset(), 19);
}

TEST(QdqExport, ExternalDataIsWrittenInline) {
  TempDir dir;
  ModelBuilder builder = matmulModel(2, 4, 3);
  builder.initializer("B", {3}, {1.5f, -2.0f, 0.25f});
  builder.graph->mutable_node(0)->set_output(0, "h");
  builder.node("Add", "bias", {"h", "B"}, {"y"});
  // Move both initializers into a side file.
  std::string side;
  for (auto &tensor : *builder.graph->mutable_initializer()) {
    const std::string raw = tensor.raw_data();
    tensor.clear_raw_data();
    tensor.set_data_location(::onnx::TensorProto::EXTERNAL);
    auto add = [&](const std::string &key, const std::string &value) {
      auto *entry = tensor.add_external_data();
      entry->set_key(key);
      entry->set_value(value);
    };
    add("location", "weights.bin");
    add("offset", std::to_string(side.size()));
    add("length", std::to_string(raw.size()));
    side += raw;
  }
  std::ofstream(dir.file("weights.bin"), std::ios::binary) << side;
  const std::string source = builder.save(dir, "in.onnx");

  QdqPlan plan;
  plan.weights = {makeWeightCase(2, 4, 3, Format::I8, 1, 0, false, 19).weight};
  const std::string out = dir.file("sub/out.onnx");
  fs::create_directory(dir.file("sub")); // no weights.bin beside it
  std::string error;
  ASSERT_TRUE(exportQdqModel(source, plan, out, error)) << error;
  const auto model = load(out);
  const auto *b = findInitializer(model, "B");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->toFloats(), (std::vector<float>{1.5f, -2.0f, 0.25f}));
  EXPECT_EQ(rawInitializer(out, "B").size(), 12u);
}

//===----------------------------------------------------------------------===//
// Errors: a clear message naming the node, and no file left behind.
//===----------------------------------------------------------------------===//

/// Exports a plan that must fail; returns the error after checking that the
/// directory holds only what it held before.
std::string exportError(const std::string &source, const QdqPlan &plan,
                        const TempDir &dir) {
  const std::vector<std::string> before = dir.entries();
  std::string error;
  EXPECT_FALSE(exportQdqModel(source, plan, dir.file("out.onnx"), error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(dir.entries(), before) << "the failed export left a file";
  return error;
}

TEST(QdqExportErrors, UnknownNode) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  QdqPlan plan;
  WeightCase c = makeWeightCase(2, 4, 3, Format::I8, 1, 0, false, 20);
  c.weight.site.node = "fc_missing";
  plan.weights = {c.weight};
  const std::string error = exportError(source, plan, dir);
  EXPECT_THAT(error, HasSubstr("no node named 'fc_missing'"));
  plan.weights.clear();
  plan.removedNodes = {"bn_missing"};
  EXPECT_THAT(exportError(source, plan, dir),
              HasSubstr("no node named 'bn_missing'"));
}

TEST(QdqExportErrors, BadInputIndex) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  QdqPlan plan;
  plan.activations = {{{"mm", 2}, Format::U8, 0.1f, 0}};
  const std::string error = exportError(source, plan, dir);
  EXPECT_THAT(error, HasSubstr("node 'mm' (MatMul) has no input 2"));
  plan.activations = {{{"mm", -1}, Format::U8, 0.1f, 0}};
  EXPECT_THAT(exportError(source, plan, dir), HasSubstr("has no input -1"));
}

TEST(QdqExportErrors, ShapeMismatch) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  QdqPlan plan;
  WeightCase c = makeWeightCase(2, 3, 4, Format::I8, 1, 0, false, 21);
  plan.weights = {c.weight};
  const std::string error = exportError(source, plan, dir);
  EXPECT_THAT(error, HasSubstr("input 1 of node 'mm'"));
  EXPECT_THAT(error, HasSubstr("[3, 4] does not match initializer 'W' of "
                               "shape [4, 3]"));
}

TEST(QdqExportErrors, Nf4IsNotExpressibleInOnnx) {
  TempDir dir;
  const std::string source = matmulModel(2, 64, 3).save(dir, "in.onnx");
  QdqPlan plan;
  WeightCase c = makeWeightCase(2, 64, 3, Format::NF4, 0, 64, false, 22);
  plan.weights = {c.weight};
  const std::string error = exportError(source, plan, dir);
  EXPECT_THAT(error, HasSubstr("node 'mm'"));
  EXPECT_THAT(error, HasSubstr("NF4 weights cannot be exported to ONNX; "
                               "export to .mlir or use int4"));
}

TEST(QdqExportErrors, WeightThatIsNotAnInitializer) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  QdqPlan plan;
  WeightCase c = makeWeightCase(2, 4, 3, Format::I8, -1, 0, false, 23);
  c.weight.site.input = 0;
  c.weight.shape = {2, 4};
  c.weight.codes.resize(8);
  plan.weights = {c.weight};
  const std::string error = exportError(source, plan, dir);
  EXPECT_THAT(error, HasSubstr("input 0 of node 'mm' (MatMul) reads 'x', "
                               "which is not an initializer"));
}

TEST(QdqExportErrors, InconsistentParameters) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 4, 3, Format::I4, 1, 0, false, 24);
  QdqPlan plan;
  plan.weights = {c.weight};
  plan.weights[0].codes[5] = 8;
  EXPECT_THAT(exportError(source, plan, dir),
              HasSubstr("code 8 at index 5 is outside the i4 range"));
  plan.weights = {c.weight};
  plan.weights[0].params.scales.pop_back();
  EXPECT_THAT(exportError(source, plan, dir),
              HasSubstr("2 scales where the granularity needs 3"));
  plan.weights = {c.weight};
  plan.weights[0].params.scales[0] = 0;
  EXPECT_THAT(exportError(source, plan, dir),
              HasSubstr("scales must be positive and finite"));
}

TEST(QdqExportErrors, TwoEntriesOnOneSite) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3).save(dir, "in.onnx");
  QdqPlan plan;
  plan.activations = {{{"mm", 0}, Format::U8, 0.1f, 0}};
  plan.dynamicActivations = {{{"mm", 0}}};
  EXPECT_THAT(exportError(source, plan, dir),
              HasSubstr("input 0 of node 'mm' (MatMul) is already rewritten"));
}

TEST(QdqExportErrors, OpsetRaiseThatWouldChangeAnOperator) {
  TempDir dir;
  ModelBuilder builder = matmulModel(2, 4, 3, 18);
  Random random(25);
  builder.graph->mutable_node(0)->set_output(0, "h");
  builder.initializer("gn_scale", {1}, {1.0f});
  builder.initializer("gn_bias", {1}, {0.0f});
  ModelBuilder::intAttr(builder.node("GroupNormalization", "gn",
                                     {"h", "gn_scale", "gn_bias"}, {"y"}),
                        "num_groups", 1);
  const std::string source = builder.save(dir, "in.onnx");
  QdqPlan plan;
  WeightCase c = makeWeightCase(2, 4, 3, Format::I4, 1, 0, false, 26);
  plan.weights = {c.weight};
  const std::string error = exportError(source, plan, dir);
  EXPECT_THAT(error, HasSubstr("needs opset 21"));
  EXPECT_THAT(error, HasSubstr("GroupNormalization node 'gn'"));
}

TEST(QdqExportErrors, OldOpsetIsRefused) {
  TempDir dir;
  const std::string source = matmulModel(2, 4, 3, 9).save(dir, "in.onnx");
  QdqPlan plan;
  plan.weights = {makeWeightCase(2, 4, 3, Format::I8, 1, 0, false, 27).weight};
  EXPECT_THAT(exportError(source, plan, dir),
              HasSubstr("convert it to opset 11 or newer first"));
}

TEST(QdqExportErrors, UnreadableSource) {
  TempDir dir;
  QdqPlan plan;
  EXPECT_THAT(exportError(dir.file("missing.onnx"), plan, dir),
              HasSubstr("cannot open file"));
}

//===----------------------------------------------------------------------===//
// ONNX Runtime runs the exported models.
//===----------------------------------------------------------------------===//

/// Exports `c` on a MatMul model and compares ONNX Runtime's output with
/// x @ dequantize(codes).
void checkWeightInOrt(const std::string &python, const WeightCase &c) {
  TempDir dir;
  const std::string source = matmulModel(c.m, c.k, c.n).save(dir, "in.onnx");
  QdqPlan plan;
  plan.weights = {c.weight};
  const std::string out = exportOrFail(source, plan, dir);
  const std::vector<float> x = Random(99).floats(c.m * c.k, -2, 2);
  expectClose(runOrt(python, dir, out, x, {c.m, c.k}),
              expectedWeightOutput(c, x));
}

TEST(QdqExportOrt, Int8PerChannelDequantizeLinear) {
  REQUIRE_ORT(python);
  checkWeightInOrt(*python,
                   makeWeightCase(3, 24, 7, Format::I8, 1, 0, true, 30));
}

TEST(QdqExportOrt, Int4BlockedDequantizeLinear) {
  REQUIRE_ORT(python);
  WeightCase c = makeWeightCase(3, 10, 5, Format::I4, 0, 4, true, 31);
  c.weight.preferMatMulNBits = false;
  checkWeightInOrt(*python, c);
}

TEST(QdqExportOrt, MatMulNBitsSignedInt4) {
  REQUIRE_ORT(python);
  checkWeightInOrt(*python,
                   makeWeightCase(3, 64, 6, Format::I4, 0, 32, false, 32));
  // Asymmetric int4: zero points move by 8 with the codes.
  checkWeightInOrt(*python,
                   makeWeightCase(2, 48, 5, Format::I4, 0, 16, true, 33));
}

TEST(QdqExportOrt, MatMulNBitsUnsignedAsymmetric) {
  REQUIRE_ORT(python);
  checkWeightInOrt(*python,
                   makeWeightCase(3, 40, 5, Format::U4, 0, 16, true, 34));
  checkWeightInOrt(*python,
                   makeWeightCase(2, 32, 4, Format::U4, 0, 32, false, 35));
}

TEST(QdqExportOrt, Float8Weight) {
  REQUIRE_ORT(python);
  WeightCase c = makeWeightCase(2, 8, 3, Format::F8E4M3FN, 1, 0, false, 36);
  for (int32_t &code : c.weight.codes)
    if ((code & 0x7F) == 0x7F)
      code = 0x38; // NaN patterns become 1.0
  TempDir dir;
  const std::string source = matmulModel(2, 8, 3).save(dir, "in.onnx");
  QdqPlan plan;
  plan.weights = {c.weight};
  const std::string out = exportOrFail(source, plan, dir);
  const std::vector<float> x = Random(98).floats(16, -2, 2);
  std::vector<double> w(24);
  for (int64_t i = 0; i < 24; ++i)
    w[i] = static_cast<float>(decodeE4M3FN(c.weight.codes[i]) *
                              c.weight.params.scales[i % 3]);
  expectClose(runOrt(*python, dir, out, x, {2, 8}), matmul(x, w, 2, 8, 3));
}

TEST(QdqExportOrt, ActivationQuantThenInt8Weight) {
  REQUIRE_ORT(python);
  const int64_t m = 4, k = 16, n = 5;
  const float scale = 0.0173f;
  const int32_t zeroPoint = 117;
  // Inputs past the u8 range exercise saturation.
  const std::vector<float> x = Random(97).floats(m * k, -3, 3);
  const std::vector<float> xq = quantizeDequantize(x, scale, zeroPoint, 0, 255);
  // ONNX Runtime fuses this pattern into an u8 x s8 integer kernel, which on
  // x86 CPUs without VNNI sums pairs of products in saturating 16-bit lanes
  // (vpmaddubsw): full-range int8 weights then give wrong results, a
  // documented limitation (its quantizer's reduce_range). So the full range
  // is checked on the Q/DQ graph as written, and 7-bit weights, exact in
  // every kernel, through the fused path.
  for (bool fuse : {false, true}) {
    TempDir dir;
    const std::string source = matmulModel(m, k, n).save(dir, "in.onnx");
    WeightCase c = makeWeightCase(m, k, n, Format::I8, 1, 0, false, 37);
    if (fuse)
      for (int32_t &code : c.weight.codes)
        code = std::clamp(code, -64, 63);
    QdqPlan plan;
    plan.weights = {c.weight};
    plan.activations.push_back({{"mm", 0}, Format::U8, scale, zeroPoint});
    const std::string out = exportOrFail(source, plan, dir);
    SCOPED_TRACE(fuse ? "fused integer kernel" : "Q/DQ graph");
    expectClose(runOrt(*python, dir, out, x, {m, k}, fuse),
                expectedWeightOutput(c, xq));
  }
}

TEST(QdqExportOrt, DynamicActivationQuant) {
  REQUIRE_ORT(python);
  TempDir dir;
  const int64_t m = 3, k = 8, n = 4;
  const std::string source = matmulModel(m, k, n).save(dir, "in.onnx");
  QdqPlan plan;
  plan.dynamicActivations = {{{"mm", 0}}};
  const std::string out = exportOrFail(source, plan, dir);
  const std::vector<float> x = Random(96).floats(m * k, -1, 2);
  // DynamicQuantizeLinear: the range widened to include 0, scale = range /
  // 255, zero point = saturate(round(-min / scale)).
  float low = 0, high = 0;
  for (float v : x) {
    low = std::min(low, v);
    high = std::max(high, v);
  }
  const float scale = (high - low) / 255.0f;
  const int32_t zeroPoint = static_cast<int32_t>(
      std::clamp(std::nearbyint((0.0f - low) / scale), 0.0f, 255.0f));
  const std::vector<float> xq = quantizeDequantize(x, scale, zeroPoint, 0, 255);
  std::ifstream stream(dir.file("in.onnx"), std::ios::binary);
  ::onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromIstream(&stream));
  const std::string &raw = proto.graph().initializer(0).raw_data();
  std::vector<double> w(k * n);
  for (int64_t i = 0; i < k * n; ++i) {
    float v;
    std::memcpy(&v, raw.data() + 4 * i, 4);
    w[i] = v;
  }
  expectClose(runOrt(*python, dir, out, x, {m, k}), matmul(xq, w, m, k, n));
}

TEST(QdqExportOrt, UpgradedOpset11Model) {
  REQUIRE_ORT(python);
  TempDir dir;
  const std::string source = opset11Model().save(dir, "in.onnx");
  WeightCase c = makeWeightCase(2, 3, 8, Format::I4, 0, 2, true, 38);
  QdqPlan plan;
  plan.weights = {c.weight};
  const std::string out = exportOrFail(source, plan, dir);
  const std::vector<float> x = Random(95).floats(24, -2, 2);
  // Softmax-11 with axis 1 normalizes each batch row over all 12 values;
  // then the mean over the last axis.
  std::vector<float> means(6);
  for (int batch = 0; batch < 2; ++batch) {
    double peak = -INFINITY, total = 0;
    for (int i = 0; i < 12; ++i)
      peak = std::max<double>(peak, x[batch * 12 + i]);
    for (int i = 0; i < 12; ++i)
      total += std::exp(x[batch * 12 + i] - peak);
    for (int row = 0; row < 3; ++row) {
      double sum = 0;
      for (int col = 0; col < 4; ++col)
        sum += std::exp(x[batch * 12 + row * 4 + col] - peak) / total;
      means[batch * 3 + row] = static_cast<float>(sum / 4);
    }
  }
  expectClose(runOrt(*python, dir, out, x, {2, 3, 4}),
              expectedWeightOutput(c, means));
}

TEST(QdqExportOrt, InputScale) {
  REQUIRE_ORT(python);
  TempDir dir;
  const int64_t m = 3, k = 4, n = 2;
  ModelBuilder builder = matmulModel(m, k, n);
  const std::string source = builder.save(dir, "in.onnx");
  const std::vector<float> factors = {0.5f, 2.0f, -1.5f, 3.0f};
  QdqPlan plan;
  qcc::onnx::InputScale entry;
  entry.site = {"mm", 0};
  entry.factors = factors;
  plan.inputScales = {entry};
  const std::string out = exportOrFail(source, plan, dir);
  const std::vector<float> x = Random(94).floats(m * k, -2, 2);
  std::vector<float> scaled(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    scaled[i] = x[i] * factors[i % k];
  const std::string &raw = builder.graph->initializer(0).raw_data();
  std::vector<double> w(k * n);
  for (int64_t i = 0; i < k * n; ++i) {
    float v;
    std::memcpy(&v, raw.data() + 4 * i, 4);
    w[i] = v;
  }
  expectClose(runOrt(*python, dir, out, x, {m, k}), matmul(scaled, w, m, k, n));
}

TEST(QdqExportOrt, FoldedBatchNorm) {
  REQUIRE_ORT(python);
  TempDir dir;
  ModelBuilder builder = convBatchNormModel();
  const std::string source = builder.save(dir, "in.onnx");
  // Fold the batch norm into the convolution (epsilon 1e-5, its default):
  // W' = W * g / sqrt(v + eps) per output channel, B' = (B - m) * g /
  // sqrt(v + eps) + beta. The folded model must compute what the source
  // computes (ONNX Runtime on the source model is the reference here).
  auto floats = [&](const std::string &name) {
    for (const auto &tensor : builder.graph->initializer())
      if (tensor.name() == name) {
        std::vector<float> values(tensor.raw_data().size() / 4);
        std::memcpy(values.data(), tensor.raw_data().data(),
                    tensor.raw_data().size());
        return values;
      }
    ADD_FAILURE() << name;
    return std::vector<float>{};
  };
  std::vector<float> w = floats("W"), b = floats("B");
  const std::vector<float> gamma = floats("gamma"), beta = floats("beta"),
                           mean = floats("mean"), var = floats("var");
  for (int channel = 0; channel < 3; ++channel) {
    const float factor = gamma[channel] / std::sqrt(var[channel] + 1e-5f);
    for (int i = 0; i < 18; ++i)
      w[channel * 18 + i] *= factor;
    b[channel] = (b[channel] - mean[channel]) * factor + beta[channel];
  }
  QdqPlan plan;
  plan.removedNodes = {"bn"};
  qcc::onnx::FloatReplacement weight, bias;
  weight.site = {"conv", 1};
  weight.shape = {3, 2, 3, 3};
  weight.values = w;
  bias.site = {"conv", 2};
  bias.shape = {3};
  bias.values = b;
  plan.floats = {weight, bias};
  const std::string out = exportOrFail(source, plan, dir);
  const std::vector<float> x = Random(93).floats(50, -2, 2);
  const std::vector<float> reference =
      runOrt(*python, dir, source, x, {1, 2, 5, 5});
  expectClose(runOrt(*python, dir, out, x, {1, 2, 5, 5}),
              std::vector<double>(reference.begin(), reference.end()));
}

} // namespace
