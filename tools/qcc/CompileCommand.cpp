// qcc compile: a quantized qg module (a .mlir file, or an ONNX model that is
// quantized first with the quantize options) becomes a .qpkg package for the
// CPU backend.
#include "codegen/cpu/CpuCompiler.h"
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
cl::opt<std::string> target("target",
                            cl::desc("Target: cpu (the default). cuda is not "
                                     "implemented yet"),
                            cl::init("cpu"), cl::sub(qcc::compileCommand()),
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
         cl::desc("What to write: qpkg (the package, default), loops (the "
                  "module after lowering qg to linalg/scf over the arena) or "
                  "llvm (the LLVM dialect module), ir (the LLVM IR after LLVM's "
                  "optimizer, with --cpu/--cpu-features/--opt-level applied) "
                  "or so (the package's shared object alone, for perf, nm or "
                  "objdump), for inspection"),
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
  if (target != "cpu")
    return fail("--target=" + target +
                ": only the cpu target is implemented (the CUDA backend is "
                "not written yet)");
  if (optLevel > 3)
    return fail("--opt-level must be 0, 1, 2 or 3");
  if (emit != "qpkg" && emit != "loops" && emit != "llvm" && emit != "ir" &&
      emit != "so")
    return fail("--emit must be qpkg, loops, llvm, ir or so, got '" + emit +
                "'");
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
  if (emit == "qpkg") {
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
            if (emit == "qpkg" || emit == "so")
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
