// Model::compile: fuse, then lower for the CPU (a package with object code)
// or for CUDA (a package with PTX), or stop at an inspection stage.
#include "compiler/ModelImpl.h"

#include "codegen/cpu/CpuCompiler.h"
#include "codegen/cuda/CudaCompiler.h"
#include "passes/Registration.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"

#include <chrono>
#include <cstdio>

using namespace llvm;

namespace qcc::compiler {
namespace {

/// An empty string, or why the options do not fit together.
std::string checkOptions(const CompileOptions &o,
                         std::vector<std::string> &archs) {
  if (o.target != "cpu" && o.target != "cuda")
    return "--target must be cpu or cuda, got '" + o.target + "'";
  if (o.target == "cuda") {
    if (std::string e = cuda::parseArchs(o.cudaArch, archs); !e.empty())
      return "--cuda-arch: " + e;
    if (o.emit != "qpkg" && o.emit != "cuda" && o.emit != "ptx")
      return "--emit with --target=cuda must be qpkg, cuda or ptx, got '" +
             o.emit + "'";
    if (o.emit == "ptx" && archs.size() != 1)
      return "--emit=ptx writes one architecture's PTX: give one "
             "--cuda-arch (e.g. --cuda-arch=sm_90)";
    if (std::string unused; o.emit != "cuda" && !cuda::haveNvrtc())
      return "--target=cuda: " + cuda::compileToPtx("", "", "", unused);
    return "";
  }
  if (o.optLevel < 0 || o.optLevel > 3)
    return "--opt-level must be 0, 1, 2 or 3";
  if (o.emit != "qpkg" && o.emit != "loops" && o.emit != "llvm" &&
      o.emit != "ir" && o.emit != "so")
    return "--emit with --target=cpu must be qpkg, loops, llvm, ir or so, "
           "got '" +
           o.emit + "'";
  return "";
}

std::string secondsSince(std::chrono::steady_clock::time_point start) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", seconds);
  return text;
}

std::vector<uint8_t> toBytes(const std::string &text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

} // namespace

Result<Artifact> Model::compile(const CompileOptions &options) const {
  std::vector<std::string> archs;
  if (std::string e = checkOptions(options, archs); !e.empty())
    return makeError(e);
  std::unique_ptr<Impl> copy = impl->clone();
  DiagnosticCollector diagnostics(*copy->context);
  mlir::ModuleOp module = *copy->module;
  mlir::func::FuncOp function;
  for (auto f : module.getOps<mlir::func::FuncOp>())
    if (!f.isDeclaration()) {
      if (function)
        return makeError(impl->source +
                         ": more than one function; the package runs one");
      function = f;
    }
  if (!function)
    return makeError(impl->source + ": no function to compile");

  // Fusion first: quantized layers become integer kernels, transposes
  // become operand layouts.
  {
    mlir::PassManager pm(module.getContext(),
                         mlir::ModuleOp::getOperationName());
    buildFusionPipeline(pm);
    if (failed(pm.run(module)))
      return diagnostics.error("fusion failed");
  }

  const std::string modelName = sys::path::filename(impl->source).str();
  const auto start = std::chrono::steady_clock::now();
  Artifact artifact;
  artifact.emit = options.emit;
  const bool cuda = options.target == "cuda";
  cpu::CpuTarget cpuTarget{options.cpu, options.cpuFeatures, options.optLevel};
  if (cuda && options.emit == "cuda") {
    mlir::FailureOr<std::string> source = cuda::emitSource(function);
    if (failed(source))
      return diagnostics.error("CUDA code generation failed");
    artifact.bytes = toBytes(*source);
  } else if (cuda) {
    pkg::Manifest manifest;
    std::vector<std::string> ptx;
    mlir::FailureOr<std::vector<uint8_t>> package =
        cuda::compilePackage(function, archs, modelName, &manifest, &ptx);
    if (failed(package))
      return diagnostics.error("CUDA compilation failed");
    artifact.bytes =
        options.emit == "ptx" ? toBytes(ptx.front()) : std::move(*package);
    artifact.summary =
        "compiled for " + manifest.target + " in " + secondsSince(start) +
        " s: " + std::to_string(manifest.kernels.size()) + " kernel" +
        (manifest.kernels.size() == 1 ? "" : "s") + ", " +
        std::to_string(manifest.weightBytes) + " bytes of weights, " +
        std::to_string(manifest.arenaBytes) + "-byte arena";
  } else if (options.emit == "qpkg") {
    pkg::Manifest manifest;
    mlir::FailureOr<std::vector<uint8_t>> package =
        cpu::compilePackage(function, cpuTarget, modelName, &manifest);
    if (failed(package))
      return diagnostics.error("CPU compilation failed");
    artifact.bytes = std::move(*package);
    size_t runtimeKernels = 0;
    for (const auto &k : manifest.kernels)
      runtimeKernels += k.kind != pkg::KernelKind::Generated;
    // "cpu <triple> <cpu>", without the feature list.
    SmallVector<StringRef, 4> words;
    StringRef(manifest.target).split(words, ' ', 3, false);
    artifact.summary =
        "compiled for " + join(ArrayRef(words).take_front(3), " ") + " in " +
        secondsSince(start) + " s: " + std::to_string(runtimeKernels) +
        " runtime kernel" + (runtimeKernels == 1 ? "" : "s") + ", " +
        std::to_string(manifest.weightBytes) + " bytes of weights, " +
        std::to_string(manifest.arenaBytes) + "-byte arena";
  } else {
    mlir::FailureOr<cpu::LoweredModel> lowered = cpu::lowerToLoops(function);
    if (failed(lowered))
      return diagnostics.error("lowering to loops failed");
    if (options.emit != "loops" && failed(cpu::lowerToLLVM(*lowered->module)))
      return diagnostics.error("lowering to the LLVM dialect failed");
    if (options.emit == "ir") {
      std::string text;
      if (std::string e =
              cpu::emitOptimizedIR(*lowered->module, cpuTarget, text);
          !e.empty())
        return makeError(e);
      artifact.bytes = toBytes(text);
    } else if (options.emit == "so") {
      cpu::SharedObject so;
      if (std::string e =
              cpu::emitSharedObject(*lowered->module, cpuTarget, so);
          !e.empty())
        return makeError(e);
      artifact.bytes = std::move(so.bytes);
    } else {
      std::string text;
      raw_string_ostream os(text);
      lowered->module->print(os);
      artifact.bytes = toBytes(text);
    }
  }
  artifact.warnings = diagnostics.warnings();
  return artifact;
}

} // namespace qcc::compiler
