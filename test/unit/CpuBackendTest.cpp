// The CPU backend end to end: a qg module is compiled to a package in
// memory, loaded by the runtime and run; the results must equal the
// reference interpreter's (bit for bit on the integer layer and the
// dequantized values it feeds, within float rounding on the float matmul),
// also when four threads run one loaded model through their own contexts.
#include "codegen/cpu/CpuCompiler.h"
#include "codegen/reference/Interpreter.h"
#include "passes/Registration.h"
#include "qcc/runtime.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <sstream>
#include <thread>

using namespace qcc;

namespace {

/// Deterministic values in [lo, hi].
struct Lcg {
  uint64_t state;
  double next(double lo, double hi) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * static_cast<double>(state >> 11) / 9007199254740992.0;
  }
};

template <typename T> std::string list(const std::vector<T> &values) {
  std::ostringstream os;
  os.precision(9);
  for (size_t i = 0; i < values.size(); ++i)
    os << (i ? ", " : "") << values[i];
  return os.str();
}

/// x [4, 64] -> quantize u8 -> qlinear (i8 per-row weights, i32 bias, ReLU
/// as clip_min, u8 out) -> dequantize = y [4, 32]; z = matmul(y, B [32, 8]).
std::string modelText() {
  Lcg rng{42};
  std::vector<int> w(32 * 64), bias(32);
  std::vector<float> scales(32), b(32 * 8);
  for (int &v : w)
    v = static_cast<int>(std::lround(rng.next(-127, 127)));
  for (int &v : bias)
    v = static_cast<int>(std::lround(rng.next(-3000, 3000)));
  for (float &s : scales)
    s = static_cast<float>(rng.next(0.001, 0.004));
  for (float &v : b)
    v = static_cast<float>(rng.next(-1, 1));
  const std::string xq = "!qg.quant<u8, scale = 0.05, zero_point = 120>";
  const std::string yq = "!qg.quant<u8, scale = 0.1, zero_point = 5>";
  const std::string wq =
      "!qg.quant<i8, axis = 0, scales = dense<[" + list(scales) +
      "]> : tensor<32xf32>>";
  std::ostringstream os;
  os << "func.func @main(%x: tensor<4x64xf32> {qg.name = \"x\"}) -> "
        "(tensor<4x32xf32> {qg.name = \"y\"}, tensor<4x8xf32> {qg.name = "
        "\"z\"}) {\n"
     << "  %xq = qg.quantize %x : tensor<4x64xf32> -> tensor<4x64x" << xq
     << ">\n"
     << "  %w = qg.constant dense<[" << list(w) << "]> : tensor<2048xi8> as "
     << "tensor<2048x!qg.quant<i8, scale = 1.0>>\n";
  // Reshape the flat weight literal into [32, 64] codes via its own type.
  std::string text = os.str();
  std::ostringstream body;
  body << "  %w2 = qg.constant dense<[";
  for (int r = 0; r < 32; ++r) {
    std::vector<int> row(w.begin() + r * 64, w.begin() + (r + 1) * 64);
    body << (r ? ", " : "") << "[" << list(row) << "]";
  }
  body << "]> : tensor<32x64xi8> as tensor<32x64x" << wq << ">\n"
       << "  %bias = qg.constant dense<[" << list(bias)
       << "]> : tensor<32xi32>\n"
       << "  %yq = qg.qlinear %xq, %w2, %bias {clip_min = 0.0 : f32} : "
       << "tensor<4x64x" << xq << ">, tensor<32x64x" << wq
       << ">, tensor<32xi32> -> tensor<4x32x" << yq << ">\n"
       << "  %y = qg.dequantize %yq : tensor<4x32x" << yq
       << "> -> tensor<4x32xf32>\n"
       << "  %b = qg.constant dense<[" << list(b) << "]> : tensor<256xf32>\n"
       << "  %b2 = qg.reshape %b : tensor<256xf32> -> tensor<32x8xf32>\n"
       << "  %z = qg.matmul %y, %b2 : tensor<4x32xf32>, tensor<32x8xf32> -> "
          "tensor<4x8xf32>\n"
       << "  return %y, %z : tensor<4x32xf32>, tensor<4x8xf32>\n}\n";
  // The flat %w line is not used; drop it.
  return text.substr(0, text.find("  %w = ")) + body.str();
}

TEST(CpuBackend, MatchesTheReferenceFromSeveralThreads) {
  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(modelText(), &context);
  ASSERT_TRUE(module);
  auto function = *module->getOps<mlir::func::FuncOp>().begin();
  pkg::Manifest manifest;
  mlir::FailureOr<std::vector<uint8_t>> package =
      cpu::compilePackage(function, cpu::CpuTarget{"", "", 2}, "test", &manifest);
  ASSERT_TRUE(succeeded(package));
  // quantize, the integer layer, dequantize, matmul.
  ASSERT_EQ(manifest.kernels.size(), 4u);
  EXPECT_EQ(manifest.kernels[0].kind, pkg::KernelKind::Generated);
  EXPECT_EQ(manifest.kernels[1].kind, pkg::KernelKind::QLinear);
  EXPECT_EQ(manifest.kernels[2].kind, pkg::KernelKind::Generated);
  EXPECT_EQ(manifest.kernels[3].name, "matmul");

  qcc_model *model = nullptr;
  ASSERT_EQ(qcc_model_load_memory(package->data(), package->size(), &model),
            QCC_OK)
      << qcc_last_error();
  ASSERT_EQ(qcc_model_num_inputs(model), 1u);
  ASSERT_EQ(qcc_model_num_outputs(model), 2u);

  constexpr int kThreads = 4, kRuns = 20;
  // Inputs per thread, and the reference outputs for each.
  std::vector<std::vector<float>> inputs(kThreads);
  std::vector<std::vector<ref::Tensor>> expected(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    Lcg rng{static_cast<uint64_t>(100 + t)};
    inputs[t].resize(4 * 64);
    for (float &v : inputs[t])
      v = static_cast<float>(rng.next(-6, 7));
    inputs[t][0] = std::nanf("");   // quantizes to the zero point
    inputs[t][1] = 1e30f;           // saturates
    inputs[t][2] = 0.075f;          // 1.5 steps: rounds half to even
    ref::Tensor x{llvm::cast<mlir::RankedTensorType>(
                      function.getArgumentTypes()[0])
                      .getElementType(),
                  {4, 64},
                  std::vector<double>(inputs[t].begin(), inputs[t].end())};
    mlir::FailureOr<std::vector<ref::Tensor>> out = ref::run(function, {x});
    ASSERT_TRUE(succeeded(out));
    expected[t] = *out;
  }
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      qcc_context *ctx = nullptr;
      if (qcc_context_create(model, 1, &ctx) != QCC_OK) {
        failures[t] = qcc_last_error();
        return;
      }
      std::vector<float> y(4 * 32), z(4 * 8);
      for (int run = 0; run < kRuns && failures[t].empty(); ++run) {
        const void *in[] = {inputs[t].data()};
        void *out[] = {y.data(), z.data()};
        if (qcc_run(ctx, in, 1, out, 2) != QCC_OK) {
          failures[t] = qcc_last_error();
          break;
        }
        for (size_t i = 0; i < y.size(); ++i)
          if (y[i] != static_cast<float>(expected[t][0].data[i]))
            failures[t] = "y[" + std::to_string(i) + "] = " +
                          std::to_string(y[i]) + ", reference " +
                          std::to_string(expected[t][0].data[i]);
        for (size_t i = 0; i < z.size(); ++i) {
          const double want = expected[t][1].data[i];
          if (!(std::fabs(z[i] - want) <= 1e-5 + 1e-5 * std::fabs(want)))
            failures[t] = "z[" + std::to_string(i) + "] = " +
                          std::to_string(z[i]) + ", reference " +
                          std::to_string(want);
        }
      }
      qcc_context_free(ctx);
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], "") << "thread " << t;
  qcc_model_free(model);
}

/// Float kernels that the backend vectorizes: matmuls in vector registers
/// (a row count that is not a multiple of the 4-row block, column counts
/// that are not multiples of 16, broadcast batch dims, a vector operand),
/// and the loops that call SLEEF (erf in GELU, exp in softmax) or sum with
/// reassociation (softmax, layer norm). Each output must match the
/// reference interpreter within float rounding.
TEST(CpuBackend, VectorizedFloatKernelsMatchTheReference) {
  const char *text = R"mlir(
func.func @main(%x: tensor<2x5x7xf32> {qg.name = "x"},
                %p: tensor<2x1x6x33xf32> {qg.name = "p"},
                %q: tensor<3x33x17xf32> {qg.name = "q"},
                %v: tensor<7xf32> {qg.name = "v"},
                %g: tensor<5x37xf32> {qg.name = "g"},
                %s: tensor<3x21xf32> {qg.name = "s"},
                %n: tensor<4x40xf32> {qg.name = "n"})
    -> (tensor<2x5x19xf32> {qg.name = "xw"}, tensor<2x3x6x17xf32> {qg.name = "pq"},
        tensor<19xf32> {qg.name = "vw"}, tensor<5x37xf32> {qg.name = "gelu"},
        tensor<3x21xf32> {qg.name = "softmax"}, tensor<4x40xf32> {qg.name = "norm"}) {
  %w = qg.constant dense<0.25> : tensor<7x19xf32>
  %xw = qg.matmul %x, %w : tensor<2x5x7xf32>, tensor<7x19xf32> -> tensor<2x5x19xf32>
  %pq = qg.matmul %p, %q : tensor<2x1x6x33xf32>, tensor<3x33x17xf32> -> tensor<2x3x6x17xf32>
  %vw = qg.matmul %v, %w : tensor<7xf32>, tensor<7x19xf32> -> tensor<19xf32>
  %ge = qg.gelu %g : tensor<5x37xf32>
  %sm = qg.softmax %s {axis = 1} : tensor<3x21xf32>
  %gamma = qg.constant dense<1.5> : tensor<40xf32>
  %beta = qg.constant dense<-0.5> : tensor<40xf32>
  %ln = qg.layer_norm %n, %gamma, %beta {epsilon = 1.0e-5 : f32} : tensor<4x40xf32>, tensor<40xf32>, tensor<40xf32>
  return %xw, %pq, %vw, %ge, %sm, %ln : tensor<2x5x19xf32>, tensor<2x3x6x17xf32>, tensor<19xf32>, tensor<5x37xf32>, tensor<3x21xf32>, tensor<4x40xf32>
}
)mlir";
  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module);
  auto function = *module->getOps<mlir::func::FuncOp>().begin();
  mlir::FailureOr<std::vector<uint8_t>> package =
      cpu::compilePackage(function, cpu::CpuTarget{"", "", 2}, "test");
  ASSERT_TRUE(succeeded(package));

  Lcg rng{7};
  std::vector<std::vector<float>> inputs;
  std::vector<ref::Tensor> refInputs;
  for (mlir::Type type : function.getArgumentTypes()) {
    auto tensor = llvm::cast<mlir::RankedTensorType>(type);
    std::vector<float> values(static_cast<size_t>(tensor.getNumElements()));
    for (float &v : values)
      v = static_cast<float>(rng.next(-4, 4));
    refInputs.push_back(
        ref::Tensor{tensor.getElementType(),
                    llvm::SmallVector<int64_t>(tensor.getShape()),
                    std::vector<double>(values.begin(), values.end())});
    inputs.push_back(std::move(values));
  }
  mlir::FailureOr<std::vector<ref::Tensor>> expected =
      ref::run(function, refInputs);
  ASSERT_TRUE(succeeded(expected));

  qcc_model *model = nullptr;
  ASSERT_EQ(qcc_model_load_memory(package->data(), package->size(), &model),
            QCC_OK)
      << qcc_last_error();
  qcc_context *ctx = nullptr;
  ASSERT_EQ(qcc_context_create(model, 1, &ctx), QCC_OK) << qcc_last_error();
  std::vector<const void *> in;
  for (const auto &v : inputs)
    in.push_back(v.data());
  std::vector<std::vector<float>> outputs;
  std::vector<void *> out;
  for (const ref::Tensor &e : *expected)
    outputs.emplace_back(e.data.size());
  for (auto &o : outputs)
    out.push_back(o.data());
  ASSERT_EQ(qcc_run(ctx, in.data(), in.size(), out.data(), out.size()),
            QCC_OK)
      << qcc_last_error();
  const char *names[] = {"xw", "pq", "vw", "gelu", "softmax", "norm"};
  for (size_t o = 0; o < outputs.size(); ++o) {
    // Float sums in another order and 1-ulp SLEEF functions against the
    // reference: rounding-level differences. (GELU loses relative accuracy
    // where 1 + erf(x) cancels, hence the absolute term.) A wrong index or
    // a missed tail would be off by order one. (Sums of 33 products of
    // values up to 4 round at about 1e-6 absolute.)
    double worst = 0;
    for (size_t i = 0; i < outputs[o].size(); ++i) {
      const double want = (*expected)[o].data[i];
      worst = std::max(worst, std::fabs(outputs[o][i] - want) /
                                  (1e-5 + 1e-5 * std::fabs(want)));
    }
    EXPECT_LE(worst, 1.0) << names[o];
  }
  qcc_context_free(ctx);
  qcc_model_free(model);
}

} // namespace
