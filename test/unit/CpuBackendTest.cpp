// The CPU backend end to end: a qg module is compiled to a package in
// memory, loaded by the runtime and run; the results must equal the
// reference interpreter's (bit for bit on the integer layer and the
// dequantized values it feeds, within float rounding on the float matmul),
// also when four threads run one loaded model through their own contexts.
#include "codegen/cpu/CpuCompiler.h"
#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "passes/Registration.h"
#include "qcc/runtime.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <optional>
#include <sstream>
#include <thread>

using namespace qcc;

namespace {

/// Deterministic values in [lo, hi].
struct Lcg {
  uint64_t state;
  double next(double lo, double hi) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return lo +
           (hi - lo) * static_cast<double>(state >> 11) / 9007199254740992.0;
  }
};

template <typename T> std::string list(const std::vector<T> &values) {
  std::ostringstream os;
  os.precision(9);
  for (size_t i = 0; i < values.size(); ++i)
    os << (i ? ", " : "") << values[i];
  return os.str();
}

/// Deterministic f32 inputs in [-range, range] for every argument of
/// `function`, as the runtime takes them, and the reference interpreter's
/// outputs for them with their element counts.
struct ReferenceRun {
  std::vector<std::vector<float>> inputs;
  std::vector<ref::Tensor> expected;
  std::vector<size_t> sizes;
};

std::optional<ReferenceRun> runReference(mlir::func::FuncOp function,
                                         uint64_t seed, double range) {
  Lcg rng{seed};
  ReferenceRun run;
  std::vector<ref::Tensor> refInputs;
  for (mlir::Type type : function.getArgumentTypes()) {
    auto tensor = llvm::cast<mlir::RankedTensorType>(type);
    std::vector<float> values(static_cast<size_t>(tensor.getNumElements()));
    for (float &v : values)
      v = static_cast<float>(rng.next(-range, range));
    refInputs.push_back(ref::Tensor{
        tensor.getElementType(), llvm::SmallVector<int64_t>(tensor.getShape()),
        std::vector<double>(values.begin(), values.end())});
    run.inputs.push_back(std::move(values));
  }
  mlir::FailureOr<std::vector<ref::Tensor>> expected =
      ref::run(function, refInputs);
  if (failed(expected))
    return std::nullopt;
  run.expected = std::move(*expected);
  for (const ref::Tensor &e : run.expected)
    run.sizes.push_back(e.data.size());
  return run;
}

/// Loads `package`, runs it once on `inputs` in a fresh context of
/// `threads` threads, and returns outputs of the given element counts (f32),
/// or sets `error`.
std::vector<std::vector<float>>
runOnce(const std::vector<uint8_t> &package,
        const std::vector<std::vector<float>> &inputs,
        const std::vector<size_t> &outputSizes, std::string &error,
        int threads = 1) {
  std::vector<std::vector<float>> outputs;
  for (size_t n : outputSizes)
    outputs.emplace_back(n);
  qcc_model *model = nullptr;
  qcc_context *ctx = nullptr;
  std::vector<const void *> in;
  for (const auto &v : inputs)
    in.push_back(v.data());
  std::vector<void *> out;
  for (auto &o : outputs)
    out.push_back(o.data());
  if (qcc_model_load_memory(package.data(), package.size(), &model) != QCC_OK ||
      qcc_context_create(model, threads, &ctx) != QCC_OK ||
      qcc_run(ctx, in.data(), in.size(), out.data(), out.size()) != QCC_OK)
    error = qcc_last_error();
  qcc_context_free(ctx);
  qcc_model_free(model);
  return outputs;
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
  const std::string wq = "!qg.quant<i8, axis = 0, scales = dense<[" +
                         list(scales) + "]> : tensor<32xf32>>";
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
  mlir::FailureOr<std::vector<uint8_t>> package = cpu::compilePackage(
      function, cpu::CpuTarget{"", "", 2}, "test", &manifest);
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
    inputs[t][0] = std::nanf(""); // quantizes to the zero point
    inputs[t][1] = 1e30f;         // saturates
    inputs[t][2] = 0.075f;        // 1.5 steps: rounds half to even
    ref::Tensor x{
        llvm::cast<mlir::RankedTensorType>(function.getArgumentTypes()[0])
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
            failures[t] = "y[" + std::to_string(i) +
                          "] = " + std::to_string(y[i]) + ", reference " +
                          std::to_string(expected[t][0].data[i]);
        for (size_t i = 0; i < z.size(); ++i) {
          const double want = expected[t][1].data[i];
          if (!(std::fabs(z[i] - want) <= 1e-5 + 1e-5 * std::fabs(want)))
            failures[t] = "z[" + std::to_string(i) +
                          "] = " + std::to_string(z[i]) + ", reference " +
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
/// Compiles the module in `text` (after the qg-fuse pipeline when `fuse`),
/// runs the package on random inputs in [-4, 4] and compares every output
/// with the reference interpreter running the module as written (unfused).
/// Float sums in another order and 1-ulp SLEEF functions against the
/// reference give rounding-level differences; a wrong index or a missed
/// tail would be off by order one. Returns the compiled module's function
/// for further checks through `inspect`.
void expectPackageMatchesReference(
    const char *text, bool fuse,
    llvm::function_ref<void(mlir::func::FuncOp)> inspect = nullptr) {
  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module);
  mlir::OwningOpRef<mlir::ModuleOp> original = module->clone();
  auto function = *original->getOps<mlir::func::FuncOp>().begin();
  if (fuse) {
    mlir::PassManager pm(&context, mlir::ModuleOp::getOperationName());
    buildFusionPipeline(pm);
    ASSERT_TRUE(succeeded(pm.run(*module)));
  }
  auto compiled = *module->getOps<mlir::func::FuncOp>().begin();
  if (inspect)
    inspect(compiled);
  mlir::FailureOr<std::vector<uint8_t>> package =
      cpu::compilePackage(compiled, cpu::CpuTarget{"", "", 2}, "test");
  ASSERT_TRUE(succeeded(package));

  std::optional<ReferenceRun> run = runReference(function, 7, 4.0);
  ASSERT_TRUE(run);
  const std::vector<ref::Tensor> *expected = &run->expected;
  std::string error;
  std::vector<std::vector<float>> outputs =
      runOnce(*package, run->inputs, run->sizes, error);
  ASSERT_EQ(error, "");
  for (size_t o = 0; o < outputs.size(); ++o) {
    // GELU loses relative accuracy where 1 + erf(x) cancels, hence the
    // absolute term; sums of 33 products of values up to 4 round at about
    // 1e-6 absolute. Sums that cancel keep the rounding of their largest
    // terms, which the output's largest magnitude stands for.
    double largest = 0;
    for (double v : (*expected)[o].data)
      largest = std::max(largest, std::fabs(v));
    double worst = 0;
    for (size_t i = 0; i < outputs[o].size(); ++i) {
      const double want = (*expected)[o].data[i];
      worst =
          std::max(worst, std::fabs(outputs[o][i] - want) /
                              (1e-5 + 1e-5 * std::fabs(want) + 1e-6 * largest));
    }
    auto name = function.getResultAttrOfType<mlir::StringAttr>(o, "qg.name");
    EXPECT_LE(worst, 1.0) << (name ? name.str() : std::to_string(o));
  }
}

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
  expectPackageMatchesReference(text, /*fuse=*/false);
}

/// qg-fold-transposes: attention's transposed operands (Q with perm
/// [0, 2, 1, 3] as lhs, K with [0, 2, 3, 1] as rhs so k is contiguous, V
/// with [0, 2, 1, 3] as rhs so n stays contiguous), a gemm whose B is a
/// transpose (becomes trans_b), a transposed lhs, and a rhs whose folded
/// layout has neither k nor n contiguous (the general loops). No transpose
/// is left, and the package matches the reference on the unfolded graph.
TEST(CpuBackend, FoldedTransposesMatchTheReference) {
  const char *text = R"mlir(
func.func @main(%q: tensor<1x16x3x32xf32> {qg.name = "q"},
                %k: tensor<1x16x3x32xf32> {qg.name = "k"},
                %v: tensor<1x16x3x32xf32> {qg.name = "v"},
                %a: tensor<5x9xf32> {qg.name = "a"},
                %bt: tensor<7x9xf32> {qg.name = "bt"},
                %at: tensor<9x5xf32> {qg.name = "at"},
                %x: tensor<2x5x9xf32> {qg.name = "x"},
                %w: tensor<7x9x2xf32> {qg.name = "w"})
    -> (tensor<1x3x16x16xf32> {qg.name = "scores"}, tensor<1x3x16x32xf32> {qg.name = "context"},
        tensor<5x7xf32> {qg.name = "gemm"}, tensor<5x7xf32> {qg.name = "lhs"},
        tensor<2x5x7xf32> {qg.name = "general"}) {
  %qt = qg.transpose %q {perm = array<i64: 0, 2, 1, 3>} : tensor<1x16x3x32xf32> -> tensor<1x3x16x32xf32>
  %kt = qg.transpose %k {perm = array<i64: 0, 2, 3, 1>} : tensor<1x16x3x32xf32> -> tensor<1x3x32x16xf32>
  %s = qg.matmul %qt, %kt : tensor<1x3x16x32xf32>, tensor<1x3x32x16xf32> -> tensor<1x3x16x16xf32>
  %vt = qg.transpose %v {perm = array<i64: 0, 2, 1, 3>} : tensor<1x16x3x32xf32> -> tensor<1x3x16x32xf32>
  %c = qg.matmul %s, %vt : tensor<1x3x16x16xf32>, tensor<1x3x16x32xf32> -> tensor<1x3x16x32xf32>
  %b = qg.transpose %bt {perm = array<i64: 1, 0>} : tensor<7x9xf32> -> tensor<9x7xf32>
  %g = qg.gemm %a, %b : tensor<5x9xf32>, tensor<9x7xf32> -> tensor<5x7xf32>
  %a2 = qg.transpose %at {perm = array<i64: 1, 0>} : tensor<9x5xf32> -> tensor<5x9xf32>
  %l = qg.matmul %a2, %b : tensor<5x9xf32>, tensor<9x7xf32> -> tensor<5x7xf32>
  %w2 = qg.transpose %w {perm = array<i64: 2, 1, 0>} : tensor<7x9x2xf32> -> tensor<2x9x7xf32>
  %y = qg.matmul %x, %w2 : tensor<2x5x9xf32>, tensor<2x9x7xf32> -> tensor<2x5x7xf32>
  return %s, %c, %g, %l, %y : tensor<1x3x16x16xf32>, tensor<1x3x16x32xf32>, tensor<5x7xf32>, tensor<5x7xf32>, tensor<2x5x7xf32>
}
)mlir";
  expectPackageMatchesReference(text, /*fuse=*/true, [](mlir::func::FuncOp f) {
    int transposes = 0, permuted = 0;
    f.walk([&](mlir::Operation *op) {
      transposes += llvm::isa<qg::TransposeOp>(op);
      if (auto mm = llvm::dyn_cast<qg::MatMulOp>(op))
        permuted += mm.hasOperandPerms();
      if (auto gemm = llvm::dyn_cast<qg::GemmOp>(op)) {
        EXPECT_TRUE(gemm.getTransB());
      }
    });
    EXPECT_EQ(transposes, 0);
    EXPECT_EQ(permuted, 4);
  });
}

/// qg-fuse-elementwise through the CPU backend: GELU written out as
/// exporters write it (x used twice, one-element constants, a bias [9]
/// read with broadcasting); scale -> add mask -> quantize -> dequantize
/// (per-tensor u8 codes made and read inside one loop); a chain after a
/// value that is also an output. Every chain becomes one op, and the
/// package matches the reference on the unfused graph. The quantize's
/// input comes from the same f32 operations in both (a multiply by 0.5 and
/// an add), so its codes must be equal: a code off by one would put the
/// dequantized value off by 0.0625, far outside the tolerance.
TEST(CpuBackend, FusedElementwiseChainsMatchTheReference) {
  const char *text = R"mlir(
func.func @main(%x: tensor<6x9xf32> {qg.name = "x"},
                %bias: tensor<9xf32> {qg.name = "bias"},
                %m: tensor<1x9xf32> {qg.name = "mask"})
    -> (tensor<6x9xf32> {qg.name = "gelu"}, tensor<6x9xf32> {qg.name = "requantized"},
        tensor<6x9xf32> {qg.name = "shared"}, tensor<6x9xf32> {qg.name = "after"}) {
  %c0 = qg.constant dense<0.707106769> : tensor<1xf32>
  %c1 = qg.constant dense<1.0> : tensor<1xf32>
  %c2 = qg.constant dense<0.5> : tensor<1xf32>
  %c8 = qg.constant dense<8.0> : tensor<1xf32>
  %ci = qg.constant dense<0.125> : tensor<1xf32>
  %xb = qg.add %x, %bias : tensor<6x9xf32>, tensor<9xf32> -> tensor<6x9xf32>
  %1 = qg.mul %xb, %c0 : tensor<6x9xf32>, tensor<1xf32> -> tensor<6x9xf32>
  %2 = qg.erf %1 : tensor<6x9xf32>
  %3 = qg.mul %xb, %c2 : tensor<6x9xf32>, tensor<1xf32> -> tensor<6x9xf32>
  %4 = qg.add %2, %c1 : tensor<6x9xf32>, tensor<1xf32> -> tensor<6x9xf32>
  %g = qg.mul %3, %4 : tensor<6x9xf32>, tensor<6x9xf32> -> tensor<6x9xf32>
  %r8 = qg.mul %x, %c8 : tensor<6x9xf32>, tensor<1xf32> -> tensor<6x9xf32>
  %rr = qg.sqrt %r8 : tensor<6x9xf32>
  %s = qg.mul %x, %c2 : tensor<6x9xf32>, tensor<1xf32> -> tensor<6x9xf32>
  %sm = qg.add %s, %m : tensor<6x9xf32>, tensor<1x9xf32> -> tensor<6x9xf32>
  %q = qg.quantize %sm : tensor<6x9xf32> -> tensor<6x9x!qg.quant<u8, scale = 0.0625, zero_point = 128>>
  %dq = qg.dequantize %q : tensor<6x9x!qg.quant<u8, scale = 0.0625, zero_point = 128>> -> tensor<6x9xf32>
  %sh = qg.abs %x : tensor<6x9xf32>
  %n = qg.neg %sh : tensor<6x9xf32>
  %t = qg.tanh %n : tensor<6x9xf32>
  %a = qg.mul %t, %ci : tensor<6x9xf32>, tensor<1xf32> -> tensor<6x9xf32>
  return %g, %dq, %n, %a : tensor<6x9xf32>, tensor<6x9xf32>, tensor<6x9xf32>, tensor<6x9xf32>
}
)mlir";
  expectPackageMatchesReference(text, /*fuse=*/true, [](mlir::func::FuncOp f) {
    int fused = 0, loose = 0;
    for (mlir::Operation &op : f.getBody().front()) {
      fused += llvm::isa<qg::FusedElementwiseOp>(op);
      loose += llvm::isa<qg::MulOp, qg::AddOp, qg::ErfOp, qg::QuantizeOp,
                         qg::DequantizeOp, qg::TanhOp>(op);
    }
    // GELU with its bias add; scale, mask, quantize, dequantize; abs and
    // neg (neg is an output, so tanh and the scale make a chain of their
    // own). The lone sqrt chain (mul, sqrt) is dead and fuses too.
    EXPECT_EQ(fused, 5);
    EXPECT_EQ(loose, 0);
  });
}

/// Generated kernels with large parallel loops hand them to the context's
/// thread pool (codegen/cpu/ParallelKernels.h): the elementwise chain
/// (64 x 512 iterations) and the average pool (8 x 16 x 16 x 16) are
/// outlined, the small chain (4 x 8) is not. Four threads must give the
/// bytes of one thread, and both the reference interpreter's values.
TEST(CpuBackend, LargeLoopsRunOnThePool) {
  const char *text = R"mlir(
func.func @main(%x: tensor<64x512xf32> {qg.name = "x"},
                %s: tensor<4x8xf32> {qg.name = "s"},
                %img: tensor<8x16x32x32xf32> {qg.name = "img"})
    -> (tensor<64x512xf32> {qg.name = "big"}, tensor<4x8xf32> {qg.name = "small"},
        tensor<8x16x16x16xf32> {qg.name = "pool"}) {
  %t = qg.tanh %x : tensor<64x512xf32>
  %e = qg.exp %t : tensor<64x512xf32>
  %a = qg.abs %s : tensor<4x8xf32>
  %p = qg.avg_pool %img {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<8x16x32x32xf32> -> tensor<8x16x16x16xf32>
  return %e, %a, %p : tensor<64x512xf32>, tensor<4x8xf32>, tensor<8x16x16x16xf32>
}
)mlir";
  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  ASSERT_TRUE(module);
  auto function = *module->getOps<mlir::func::FuncOp>().begin();

  mlir::FailureOr<cpu::LoweredModel> lowered = cpu::lowerToLoops(function);
  ASSERT_TRUE(succeeded(lowered));
  ASSERT_TRUE(succeeded(cpu::lowerToLLVM(*lowered->module)));
  std::vector<std::string> parts;
  lowered->module->walk([&](mlir::LLVM::LLVMFuncOp f) {
    if (f.getName().contains("_part"))
      parts.push_back(f.getName().str());
  });
  EXPECT_EQ(parts.size(), 2u) << list(parts);

  mlir::FailureOr<std::vector<uint8_t>> package =
      cpu::compilePackage(function, cpu::CpuTarget{"", "", 2}, "test");
  ASSERT_TRUE(succeeded(package));
  std::optional<ReferenceRun> run = runReference(function, 5, 2.0);
  ASSERT_TRUE(run);
  const std::vector<ref::Tensor> *expected = &run->expected;
  const std::vector<size_t> &sizes = run->sizes;
  std::string error;
  auto one = runOnce(*package, run->inputs, sizes, error, 1);
  auto four = runOnce(*package, run->inputs, sizes, error, 4);
  ASSERT_EQ(error, "");
  for (size_t o = 0; o < sizes.size(); ++o) {
    EXPECT_EQ(one[o], four[o]) << "output " << o;
    for (size_t i = 0; i < sizes[o]; ++i)
      ASSERT_NEAR(four[o][i], (*expected)[o].data[i],
                  1e-5 * (1 + std::fabs((*expected)[o].data[i])))
          << "output " << o << " element " << i;
  }
}

/// Layers followed by GELU or SiLU: written out as PyTorch exports them
/// (x * 0.5 * (1 + erf(x / 1.4142135)), x * sigmoid(x)) or as qg.gelu with
/// the tanh form, then quantized or not. qg-fuse makes each one qg.qlinear
/// with the activation in its epilogue; the package must match the
/// reference interpreter on the fused module (codes within one step, few of
/// them moved: the package computes the activation in f32), and the fused
/// module must stay within one code step of the unfused one (the activation
/// is then computed in one rounding instead of one per written-out op).
TEST(CpuBackend, ActivationEpiloguesMatchTheReference) {
  Lcg rng{23};
  const int K = 48, N = 40;
  auto weight = [&](const std::string &name) {
    std::vector<float> scales(N);
    for (float &s : scales)
      s = static_cast<float>(rng.next(0.004, 0.012));
    std::ostringstream os;
    const std::string quant = "!qg.quant<i8, axis = 1, scales = dense<[" +
                              list(scales) + "]> : tensor<" +
                              std::to_string(N) + "xf32>>";
    os << "  %" << name << "q = qg.constant dense<[";
    for (int k = 0; k < K; ++k) {
      std::vector<int> row(N);
      for (int &v : row)
        v = static_cast<int>(std::lround(rng.next(-127, 127)));
      os << (k ? ", " : "") << "[" << list(row) << "]";
    }
    os << "]> : tensor<" << K << "x" << N << "xi8> as tensor<" << K << "x" << N
       << "x" << quant << ">\n"
       << "  %" << name << " = qg.dequantize %" << name << "q : tensor<" << K
       << "x" << N << "x" << quant << "> -> tensor<" << K << "x" << N
       << "xf32>\n";
    return os.str();
  };
  std::vector<float> bias(N);
  for (float &b : bias)
    b = static_cast<float>(rng.next(-0.5, 0.5));
  const std::string xq = "!qg.quant<u8, scale = 0.035, zero_point = 120>";
  const std::string uq = "!qg.quant<u8, scale = 0.021, zero_point = 9>";
  const std::string iq = "!qg.quant<i8, scale = 0.017, zero_point = -100>";
  const std::string t = "tensor<5x" + std::to_string(N) + "xf32>";
  std::ostringstream text;
  text << "func.func @main(%x: tensor<5x" << K << "xf32> {qg.name = \"x\"})"
       << " -> (" << t << " {qg.name = \"gelu\"}, " << t
       << " {qg.name = \"silu\"}, " << t << " {qg.name = \"gelu_tanh\"}) {\n"
       << "  %xq = qg.quantize %x : tensor<5x" << K << "xf32> -> tensor<5x" << K
       << "x" << xq << ">\n"
       << "  %xd = qg.dequantize %xq : tensor<5x" << K << "x" << xq
       << "> -> tensor<5x" << K << "xf32>\n"
       << weight("w0") << weight("w1") << weight("w2")
       << "  %b = qg.constant dense<[" << list(bias) << "]> : tensor<" << N
       << "xf32>\n"
       << "  %half = qg.constant dense<0.5> : tensor<1xf32>\n"
       << "  %one = qg.constant dense<1.0> : tensor<1xf32>\n"
       << "  %root2 = qg.constant dense<1.41421354> : tensor<1xf32>\n";
  auto matmul = [&](const std::string &y, const std::string &w) {
    return "  %" + y + " = qg.matmul %xd, %" + w + " : tensor<5x" +
           std::to_string(K) + "xf32>, tensor<" + std::to_string(K) + "x" +
           std::to_string(N) + "xf32> -> " + t + "\n";
  };
  auto binary = [&](const std::string &op, const std::string &y,
                    const std::string &a, const std::string &b,
                    const std::string &bType) {
    return "  %" + y + " = qg." + op + " %" + a + ", %" + b + " : " + t + ", " +
           bType + " -> " + t + "\n";
  };
  const std::string one = "tensor<1xf32>",
                    row = "tensor<" + std::to_string(N) + "xf32>";
  // GELU written out after a bias add, then quantized to u8.
  text << matmul("m0", "w0") << binary("add", "a0", "m0", "b", row)
       << binary("mul", "g1", "a0", "half", one)
       << binary("div", "g2", "a0", "root2", one)
       << "  %g3 = qg.erf %g2 : " << t << "\n"
       << binary("add", "g4", "g3", "one", one)
       << binary("mul", "g5", "g1", "g4", t)
       << "  %gq = qg.quantize %g5 : " << t << " -> tensor<5x" << N << "x" << uq
       << ">\n"
       << "  %gd = qg.dequantize %gq : tensor<5x" << N << "x" << uq << "> -> "
       << t << "\n";
  // SiLU written out, float result.
  text << matmul("m1", "w1") << "  %s1 = qg.sigmoid %m1 : " << t << "\n"
       << binary("mul", "s2", "s1", "m1", t);
  // The tanh form as an op, then quantized to i8.
  text << matmul("m2", "w2") << binary("add", "a2", "m2", "b", row)
       << "  %h = qg.gelu %a2 {approximate = \"tanh\"} : " << t << "\n"
       << "  %hq = qg.quantize %h : " << t << " -> tensor<5x" << N << "x" << iq
       << ">\n"
       << "  %hd = qg.dequantize %hq : tensor<5x" << N << "x" << iq << "> -> "
       << t << "\n"
       << "  return %gd, %s2, %hd : " << t << ", " << t << ", " << t << "\n}\n";

  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text.str(), &context);
  ASSERT_TRUE(module) << text.str();
  mlir::OwningOpRef<mlir::ModuleOp> original = module->clone();
  mlir::PassManager pm(&context, mlir::ModuleOp::getOperationName());
  buildFusionPipeline(pm);
  ASSERT_TRUE(succeeded(pm.run(*module)));
  auto compiled = *module->getOps<mlir::func::FuncOp>().begin();
  std::vector<std::string> activations;
  int loose = 0;
  compiled.walk([&](mlir::Operation *op) {
    if (auto q = llvm::dyn_cast<qg::QLinearOp>(op))
      activations.push_back(q.getActivation() ? q.getActivation()->str() : "");
    loose += llvm::isa<qg::ErfOp, qg::SigmoidOp, qg::GeluOp, qg::MulOp,
                       qg::DivOp, qg::AddOp, qg::QuantizeOp>(op);
  });
  EXPECT_EQ(activations,
            (std::vector<std::string>{"gelu", "silu", "gelu_tanh"}));
  // The input's quantize stays; everything else is in the epilogues.
  EXPECT_EQ(loose, 1);
  mlir::FailureOr<std::vector<uint8_t>> package =
      cpu::compilePackage(compiled, cpu::CpuTarget{"", "", 2}, "test");
  ASSERT_TRUE(succeeded(package));

  std::vector<float> x(5 * K);
  for (float &v : x)
    v = static_cast<float>(rng.next(-4, 4));
  std::vector<ref::Tensor> refInputs{
      ref::Tensor{mlir::Float32Type::get(&context),
                  {5, K},
                  std::vector<double>(x.begin(), x.end())}};
  auto fusedRef = ref::run(compiled, refInputs);
  auto unfusedRef =
      ref::run(*original->getOps<mlir::func::FuncOp>().begin(), refInputs);
  ASSERT_TRUE(succeeded(fusedRef) && succeeded(unfusedRef));
  std::string error;
  std::vector<std::vector<float>> got =
      runOnce(*package, {x}, {5 * N, 5 * N, 5 * N}, error);
  ASSERT_EQ(error, "");
  const double step[3] = {0.021, 0, 0.017};
  for (int o = 0; o < 3; ++o) {
    int differing = 0, moved = 0;
    for (int i = 0; i < 5 * N; ++i) {
      const double want = (*fusedRef)[o].data[i];
      // The package's activation is f32 (a few ulps from the reference's
      // double), so a code may move by one at a rounding boundary.
      if (step[o] > 0) {
        EXPECT_NEAR(got[o][i], want, step[o] * 1.001)
            << "output " << o << " element " << i;
        moved += got[o][i] != static_cast<float>(want);
      } else {
        EXPECT_NEAR(got[o][i], want, 1e-6 * (1 + std::fabs(want)))
            << "output " << o << " element " << i;
      }
      const double unfused = (*unfusedRef)[o].data[i];
      const double tolerance =
          step[o] > 0 ? step[o] * 1.001 : 1e-5 * (1 + std::fabs(unfused));
      EXPECT_NEAR(want, unfused, tolerance)
          << "output " << o << " element " << i;
      differing += want != unfused;
    }
    // One rounding instead of several moves few values across a code
    // boundary.
    EXPECT_LE(differing, step[o] > 0 ? 5 * N / 20 : 5 * N) << "output " << o;
    EXPECT_LE(moved, 5 * N / 50) << "output " << o;
  }
}

/// Matmuls with 4-bit constant weights (int4 and uint4 with zero points,
/// NF4) go to the runtime's weight-only kernel, which dequantizes in
/// registers; the results must match the reference interpreter, which
/// dequantizes the whole tensor first.
/// Compiles `text` (one function of x [M, K] and `layers` matmul outputs
/// [M, N]) after qg-fuse, where each layer must become a qg.dequant_matmul
/// and a weight-only runtime kernel, runs the package on random x and
/// expects the reference interpreter's outputs on the module as written,
/// which dequantizes each whole weight first. Returns the manifest.
pkg::Manifest expectWeightOnlyLayersMatchTheReference(const std::string &text,
                                                      int layers, int64_t M,
                                                      int64_t K, int64_t N,
                                                      Lcg &rng) {
  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  EXPECT_TRUE(module) << text;
  if (!module)
    return {};
  mlir::OwningOpRef<mlir::ModuleOp> original = module->clone();
  auto function = *original->getOps<mlir::func::FuncOp>().begin();
  mlir::PassManager pm(&context, mlir::ModuleOp::getOperationName());
  buildFusionPipeline(pm);
  EXPECT_TRUE(succeeded(pm.run(*module)));
  auto compiled = *module->getOps<mlir::func::FuncOp>().begin();
  int fused = 0;
  compiled.walk([&](qg::DequantMatMulOp) { ++fused; });
  EXPECT_EQ(fused, layers);
  pkg::Manifest manifest;
  mlir::FailureOr<std::vector<uint8_t>> package = cpu::compilePackage(
      compiled, cpu::CpuTarget{"", "", 2}, "test", &manifest);
  EXPECT_TRUE(succeeded(package));
  if (failed(package))
    return manifest;
  // One runtime call a layer and nothing generated: the dequantizes vanish.
  EXPECT_EQ(manifest.kernels.size(), static_cast<size_t>(layers));
  // The runtime reports the weights section it reads.
  qcc_model *loaded = nullptr;
  EXPECT_EQ(qcc_model_load_memory(package->data(), package->size(), &loaded),
            QCC_OK);
  EXPECT_EQ(qcc_model_weight_bytes(loaded), manifest.weightBytes);
  EXPECT_EQ(qcc_model_weight_bytes(nullptr), 0u);
  qcc_model_free(loaded);
  for (const pkg::KernelInfo &k : manifest.kernels)
    EXPECT_EQ(k.kind, pkg::KernelKind::WeightOnly) << k.name;

  std::vector<float> x(static_cast<size_t>(M * K));
  for (float &v : x)
    v = static_cast<float>(rng.next(-2, 2));
  ref::Tensor xt{
      llvm::cast<mlir::RankedTensorType>(function.getArgumentTypes()[0])
          .getElementType(),
      {M, K},
      std::vector<double>(x.begin(), x.end())};
  mlir::FailureOr<std::vector<ref::Tensor>> expected = ref::run(function, {xt});
  EXPECT_TRUE(succeeded(expected));
  std::string error;
  std::vector<std::vector<float>> y =
      runOnce(*package, {x},
              std::vector<size_t>(layers, static_cast<size_t>(M * N)), error);
  EXPECT_EQ(error, "");
  if (failed(expected) || !error.empty())
    return manifest;
  for (int c = 0; c < layers; ++c)
    for (size_t i = 0; i < y[c].size(); ++i) {
      const double want = (*expected)[c].data[i];
      EXPECT_NEAR(y[c][i], want, 1e-5 + 1e-5 * std::fabs(want))
          << manifest.kernels[c].name << ": output " << i;
    }
  return manifest;
}

TEST(CpuBackend, FourBitWeightMatmulsMatchTheReference) {
  Lcg rng{11};
  const int64_t K = 48, N = 7, groups = 3; // groups of 16 along K
  auto table = [&](double lo, double hi, bool integer) {
    std::ostringstream os;
    os.precision(9);
    os << "[";
    for (int64_t g = 0; g < groups; ++g) {
      os << (g ? ", " : "") << "[";
      for (int64_t n = 0; n < N; ++n) {
        const double v = rng.next(lo, hi);
        os << (n ? ", " : "");
        if (integer)
          os << std::lround(v);
        else
          os << v;
      }
      os << "]";
    }
    return os.str() + "]";
  };
  auto codes = [&](int lo, int hi) {
    std::ostringstream os;
    os << "[";
    for (int64_t k = 0; k < K; ++k) {
      os << (k ? ", " : "") << "[";
      for (int64_t n = 0; n < N; ++n)
        os << (n ? ", " : "") << std::lround(rng.next(lo, hi));
      os << "]";
    }
    return os.str() + "]";
  };
  struct Case {
    const char *format, *storage;
    int lo, hi;
    bool zeroPoints;
  };
  const Case cases[] = {{"i4", "i4", -8, 7, true},
                        {"u4", "ui4", 0, 15, true},
                        {"nf4", "ui4", 0, 15, false}};
  std::ostringstream text;
  text << "func.func @main(%x: tensor<5x" << K
       << "xf32> {qg.name = \"x\"}) -> (";
  for (int c = 0; c < 3; ++c)
    text << (c ? ", " : "") << "tensor<5x" << N << "xf32> {qg.name = \"y" << c
         << "\"}";
  text << ") {\n";
  for (int c = 0; c < 3; ++c) {
    const Case &k = cases[c];
    std::string quant = std::string("!qg.quant<") + k.format +
                        ", axis = 0, block = 16, scales = dense<" +
                        table(0.01, 0.1, false) + "> : tensor<3x" +
                        std::to_string(N) + "xf32>";
    if (k.zeroPoints)
      quant += ", zero_points = dense<" + table(k.lo, k.hi, true) +
               "> : tensor<3x" + std::to_string(N) + "xi32>";
    quant += ">";
    const std::string wType = "tensor<" + std::to_string(K) + "x" +
                              std::to_string(N) + "x" + quant + ">";
    text << "  %w" << c << " = qg.constant dense<" << codes(k.lo, k.hi)
         << "> : tensor<" << K << "x" << N << "x" << k.storage << "> as "
         << wType << "\n"
         << "  %d" << c << " = qg.dequantize %w" << c << " : " << wType
         << " -> tensor<" << K << "x" << N << "xf32>\n"
         << "  %y" << c << " = qg.matmul %x, %d" << c << " : tensor<5x" << K
         << "xf32>, tensor<" << K << "x" << N << "xf32> -> tensor<5x" << N
         << "xf32>\n";
  }
  text << "  return %y0, %y1, %y2 : ";
  for (int c = 0; c < 3; ++c)
    text << (c ? ", " : "") << "tensor<5x" << N << "xf32>";
  text << "\n}\n";

  pkg::Manifest manifest =
      expectWeightOnlyLayersMatchTheReference(text.str(), 3, 5, K, N, rng);
  ASSERT_EQ(manifest.kernels.size(), 3u);
  EXPECT_EQ(manifest.kernels[2].name, "matmul 5x7x48 nf4 g16");
}

/// W8A16: matmuls with uint8/int8 constant weights, per output channel
/// (with zero points, in the [K, N] and the transposed [N, K] layout), in
/// blocks along K and per tensor with a bias, go to the runtime's
/// weight-only kernel, which reads the 8-bit codes in place; the results
/// must match the reference interpreter, which dequantizes the whole tensor
/// first. K = 40 and the blocks of 20 are not multiples of the kernels'
/// 16-code steps.
TEST(CpuBackend, EightBitWeightMatmulsMatchTheReference) {
  Lcg rng{13};
  const int64_t M = 5, K = 40, N = 7;
  auto ints = [&](int64_t count, int lo, int hi) {
    std::vector<long> v(static_cast<size_t>(count));
    for (long &x : v)
      x = std::lround(rng.next(lo, hi));
    return v;
  };
  auto floats = [&](int64_t count, double lo, double hi) {
    std::vector<float> v(static_cast<size_t>(count));
    for (float &x : v)
      x = static_cast<float>(rng.next(lo, hi));
    return v;
  };
  // A dense literal of `cols` columns: [[...], [...]].
  auto rows = [](const auto &values, int64_t cols) {
    std::string text;
    for (size_t i = 0; i < values.size(); i += cols) {
      using T = typename std::decay_t<decltype(values)>::value_type;
      std::vector<T> row(values.begin() + i, values.begin() + i + cols);
      text += (i ? ", [" : "[") + list(row) + "]";
    }
    return text;
  };
  // The weight's quantized type and its codes as a dense literal.
  auto weight = [&](const std::string &shape, const char *storage,
                    const std::string &quant, int lo, int hi) {
    const std::string type = "tensor<" + shape + "x" + quant + ">";
    const int64_t cols =
        shape == std::to_string(K) + "x" + std::to_string(N) ? N : K;
    return std::make_pair(
        type, "qg.constant dense<[" + rows(ints(K * N, lo, hi), cols) +
                  "]> : tensor<" + shape + "x" + storage + "> as " + type);
  };
  const std::string kn = std::to_string(K) + "x" + std::to_string(N);
  const std::string nk = std::to_string(N) + "x" + std::to_string(K);
  struct Layer {
    std::pair<std::string, std::string> w;
    bool transposed;
  };
  const Layer layers[] = {
      {weight(kn, "ui8",
              "!qg.quant<u8, axis = 1, scales = dense<[" +
                  list(floats(N, 0.001, 0.02)) + "]> : tensor<" +
                  std::to_string(N) + "xf32>, zero_points = dense<[" +
                  list(ints(N, 100, 160)) + "]> : tensor<" + std::to_string(N) +
                  "xi32>>",
              0, 255),
       false},
      {weight(nk, "i8",
              "!qg.quant<i8, axis = 0, scales = dense<[" +
                  list(floats(N, 0.001, 0.02)) + "]> : tensor<" +
                  std::to_string(N) + "xf32>>",
              -128, 127),
       true},
      {weight(kn, "i8",
              "!qg.quant<i8, axis = 0, block = 20, scales = dense<[" +
                  rows(floats(2 * N, 0.001, 0.02), N) + "]> : tensor<2x" +
                  std::to_string(N) + "xf32>, zero_points = dense<[" +
                  rows(ints(2 * N, -20, 20), N) + "]> : tensor<2x" +
                  std::to_string(N) + "xi32>>",
              -128, 127),
       false},
      {weight(kn, "i8", "!qg.quant<i8, scale = 0.0125>", -128, 127), false}};
  std::ostringstream text;
  const std::string xType =
      "tensor<" + std::to_string(M) + "x" + std::to_string(K) + "xf32>";
  const std::string yType =
      "tensor<" + std::to_string(M) + "x" + std::to_string(N) + "xf32>";
  text << "func.func @main(%x: " << xType << " {qg.name = \"x\"}) -> (";
  for (int c = 0; c < 4; ++c)
    text << (c ? ", " : "") << yType << " {qg.name = \"y" << c << "\"}";
  text << ") {\n";
  for (int c = 0; c < 4; ++c) {
    const Layer &l = layers[c];
    const std::string fType = "tensor<" + (l.transposed ? nk : kn) + "xf32>";
    text << "  %w" << c << " = " << l.w.second << "\n"
         << "  %d" << c << " = qg.dequantize %w" << c << " : " << l.w.first
         << " -> " << fType << "\n"
         << "  %m" << c << " = qg.matmul %x, %d" << c
         << (l.transposed ? " {rhs_perm = array<i64: 1, 0>}" : "") << " : "
         << xType << ", " << fType << " -> " << yType << "\n";
  }
  text << "  %b = qg.constant dense<[" << list(floats(N, -1, 1))
       << "]> : tensor<" << N << "xf32>\n"
       << "  %y3 = qg.add %m3, %b : " << yType << ", tensor<" << N
       << "xf32> -> " << yType << "\n"
       << "  return %m0, %m1, %m2, %y3 : " << yType << ", " << yType << ", "
       << yType << ", " << yType << "\n}\n";

  pkg::Manifest manifest =
      expectWeightOnlyLayersMatchTheReference(text.str(), 4, M, K, N, rng);
  ASSERT_EQ(manifest.kernels.size(), 4u);
  EXPECT_EQ(manifest.kernels[0].name, "matmul 5x7x40 uint8 per-channel");
  EXPECT_EQ(manifest.kernels[2].name, "matmul 5x7x40 int8 g20");
  EXPECT_EQ(manifest.kernels[3].name, "matmul 5x7x40 int8 per-tensor");
  // The weights stay 8-bit: four layers of K x N codes plus small tables,
  // well under the f32 weights' 4 x 4 x K x N bytes.
  EXPECT_LT(manifest.weightBytes, static_cast<uint64_t>(4 * K * N * 2));
}

} // namespace
