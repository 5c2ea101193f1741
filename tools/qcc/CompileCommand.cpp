// qcc compile: a quantized qg module (a .mlir file, or an ONNX model that is
// quantized first with the quantize options) becomes a .qpkg package for the
// CPU or the CUDA backend.
#include "codegen/cpu/CpuCompiler.h"
#include "codegen/cuda/CudaCompiler.h"
#include "passes/Registration.h"
#include "tools/common/ToolSupport.h"
#include "tools/qcc/Commands.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Timer.h"

#include <chrono>

using namespace llvm;

cl::SubCommand &qcc::compileCommand() {
  static cl::SubCommand command(
      "compile",
      "Compile a model for a target: MODEL.mlir (quantized qg IR) as it is, "
      "or MODEL.onnx quantized first with the quantize options");
  return command;
}

namespace {
cl::OptionCategory category("qcc compile options");
cl::opt<std::string> target(
    "target",
    cl::desc("Target: cpu (the default: this machine's CPU, or --cpu) or cuda "
             "(PTX for --cuda-arch, run by the runtime on an NVIDIA GPU)"),
    cl::init("cpu"), cl::sub(qcc::compileCommand()), cl::cat(category));
cl::opt<std::string> cudaArch(
    "cuda-arch",
    cl::desc("--target=cuda: comma-separated GPU architectures to generate "
             "PTX for (default sm_80,sm_90); the runtime loads the newest one "
             "the GPU can run"),
    cl::init(qcc::cuda::kDefaultArchs), cl::sub(qcc::compileCommand()),
    cl::cat(category));
cl::opt<std::string>
    cpuName("cpu",
            cl::desc("CPU to generate code for, e.g. skylake-avx512 or "
                     "x86-64-v3 (default: the host CPU and its features)"),
            cl::init(""), cl::sub(qcc::compileCommand()), cl::cat(category));
cl::opt<std::string> cpuFeatures(
    "cpu-features",
    cl::desc("Comma-separated +feature/-feature list applied on top of --cpu, "
             "e.g. +avx512vnni,-avx512f"),
    cl::init(""), cl::sub(qcc::compileCommand()), cl::cat(category));
cl::opt<unsigned> optLevel("opt-level",
                           cl::desc("LLVM optimization level 0-3 (default 2; 3 adds little for these loops and compiles large models several times slower)"),
                           cl::init(2), cl::sub(qcc::compileCommand()),
                           cl::cat(category));
cl::opt<std::string>
    emit("emit",
         cl::desc("What to write: qpkg (the package, default). For "
                  "inspection, with --target=cpu: loops (the module after "
                  "lowering qg to linalg/scf over the arena), llvm (the LLVM "
                  "dialect module), ir (the LLVM IR after LLVM's optimizer, "
                  "with --cpu/--cpu-features/--opt-level applied) or so (the "
                  "package's shared object alone, for perf, nm or objdump); "
                  "with --target=cuda: cuda (the generated CUDA C++) or ptx "
                  "(NVRTC's PTX for the one --cuda-arch given)"),
         cl::init("qpkg"), cl::sub(qcc::compileCommand()), cl::cat(category));

int fail(const Twine &message) {
  errs() << "error: " << message << "\n";
  return 1;
}
} // namespace

int qcc::compileAndWrite(mlir::ModuleOp module, std::string modelPath,
                         std::string outputPath) {
  // lld's driver resets every LLVM command-line option to its default when
  // it links, so the values are read once, here, before anything runs.
  const std::string target = ::target, cpuName = ::cpuName,
                    cpuFeatures = ::cpuFeatures, emit = ::emit;
  const unsigned optLevel = ::optLevel;
  if (target != "cpu" && target != "cuda")
    return fail("--target must be cpu or cuda, got '" + target + "'");
  const bool cuda = target == "cuda";
  std::vector<std::string> archs;
  if (cuda) {
    if (std::string e = qcc::cuda::parseArchs(cudaArch, archs); !e.empty())
      return fail("--cuda-arch: " + e);
    if (emit != "qpkg" && emit != "cuda" && emit != "ptx")
      return fail("--emit with --target=cuda must be qpkg, cuda or ptx, got '" +
                  emit + "'");
    if (emit == "ptx" && archs.size() != 1)
      return fail("--emit=ptx writes one architecture's PTX: give one "
                  "--cuda-arch (e.g. --cuda-arch=sm_90)");
    if (std::string unused; emit != "cuda" && !qcc::cuda::haveNvrtc())
      return fail("--target=cuda: " +
                  qcc::cuda::compileToPtx("", "", "", unused));
  } else {
    if (optLevel > 3)
      return fail("--opt-level must be 0, 1, 2 or 3");
    if (emit != "qpkg" && emit != "loops" && emit != "llvm" && emit != "ir" &&
        emit != "so")
      return fail("--emit with --target=cpu must be qpkg, loops, llvm, ir or "
                  "so, got '" +
                  emit + "'");
  }
  if (emit == "qpkg" && !StringRef(outputPath).ends_with(".qpkg"))
    return fail("-o must end in .qpkg, got '" + outputPath + "'");
  mlir::func::FuncOp function;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (!f.isDeclaration()) {
      if (function)
        return fail(modelPath + ": more than one function; the package runs "
                                "one");
      function = f;
    }
  if (!function)
    return fail(modelPath + ": no function to compile");

  // Fusion first (qg-fuse): quantized layers become integer kernels,
  // transposes become operand layouts.
  mlir::PassManager pm(module.getContext(),
                       mlir::ModuleOp::getOperationName());
  std::string error;
  raw_string_ostream errorStream(error);
  if (failed(mlir::parsePassPipeline("qg-fuse",
                                     pm, errorStream)))
    return fail("internal pipeline: " + error);
  if (failed(pm.run(module)))
    return 1;

  const auto start = std::chrono::steady_clock::now();
  std::vector<uint8_t> bytes;
  std::string text;
  if (cuda && emit == "cuda") {
    mlir::FailureOr<std::string> source = qcc::cuda::emitSource(function);
    if (failed(source))
      return 1;
    text = std::move(*source);
  } else if (cuda) {
    qcc::pkg::Manifest manifest;
    std::vector<std::string> ptx;
    mlir::FailureOr<std::vector<uint8_t>> package = qcc::cuda::compilePackage(
        function, archs, sys::path::filename(modelPath).str(), &manifest, &ptx);
    if (failed(package))
      return 1;
    if (emit == "ptx")
      text = std::move(ptx.front());
    else
      bytes = std::move(*package);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    outs() << "compiled for " << manifest.target << " in "
           << format("%.2f", seconds) << " s: " << manifest.kernels.size()
           << " kernel" << (manifest.kernels.size() == 1 ? "" : "s") << ", "
           << manifest.weightBytes << " bytes of weights, "
           << manifest.arenaBytes << "-byte arena\n";
  } else if (emit == "qpkg") {
    qcc::cpu::CpuTarget cpuTarget{cpuName, cpuFeatures,
                                  static_cast<int>(optLevel)};
    qcc::pkg::Manifest manifest;
    mlir::FailureOr<std::vector<uint8_t>> package = qcc::cpu::compilePackage(
        function, cpuTarget, sys::path::filename(modelPath).str(), &manifest);
    if (failed(package))
      return 1;
    bytes = std::move(*package);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    size_t runtimeKernels = 0;
    for (const auto &k : manifest.kernels)
      runtimeKernels += k.kind != qcc::pkg::KernelKind::Generated;
    // "cpu <triple> <cpu>", without the feature list.
    SmallVector<StringRef, 4> words;
    StringRef(manifest.target).split(words, ' ', 3, false);
    outs() << "compiled for " << join(ArrayRef(words).take_front(3), " ")
           << " in "
           << format("%.2f", seconds) << " s: " << runtimeKernels
           << " runtime kernel" << (runtimeKernels == 1 ? "" : "s") << ", "
           << manifest.weightBytes << " bytes of weights, "
           << manifest.arenaBytes << "-byte arena\n";
  } else {
    mlir::FailureOr<qcc::cpu::LoweredModel> lowered =
        qcc::cpu::lowerToLoops(function);
    if (failed(lowered))
      return 1;
    if (emit != "loops" && failed(qcc::cpu::lowerToLLVM(*lowered->module)))
      return 1;
    qcc::cpu::CpuTarget cpuTarget{cpuName, cpuFeatures,
                                  static_cast<int>(optLevel)};
    if (emit == "ir") {
      if (std::string e =
              qcc::cpu::emitOptimizedIR(*lowered->module, cpuTarget, text);
          !e.empty())
        return fail(e);
    } else if (emit == "so") {
      qcc::cpu::SharedObject so;
      if (std::string e =
              qcc::cpu::emitSharedObject(*lowered->module, cpuTarget, so);
          !e.empty())
        return fail(e);
      bytes = std::move(so.bytes);
    } else {
      raw_string_ostream os(text);
      lowered->module->print(os);
    }
  }
  if (!qcc::tools::writeOutputAtomically(
          outputPath,
          [&](raw_ostream &os) {
            if (!bytes.empty() || emit == "qpkg" || emit == "so")
              os.write(reinterpret_cast<const char *>(bytes.data()),
                       bytes.size());
            else
              os << text;
            return true;
          },
          error))
    return fail(error);
  if (emit == "qpkg")
    outs() << "wrote " << outputPath << " (" << bytes.size() << " bytes)\n";
  return 0;
}

int qcc::compileMlirFile(const std::string &modelPath,
                         const std::string &outputPath) {
  mlir::DialectRegistry registry;
  qcc::registerDialects(registry);
  mlir::MLIRContext context(registry);
  qcc::tools::DiagnosticPrinter printer(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(modelPath, &context);
  if (!module)
    return 1;
  return compileAndWrite(*module, modelPath, outputPath);
}
