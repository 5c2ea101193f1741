// qcc compile: a quantized qg module (a .mlir file, or an ONNX model that is
// quantized first with the quantize options) becomes a .qpkg package for the
// CPU or the CUDA backend, through the compiler API's Model::compile.
#include "tools/qcc/Commands.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

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
    cl::init(qcc::compiler::CompileOptions().cudaArch),
    cl::sub(qcc::compileCommand()), cl::cat(category));
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
cl::opt<unsigned> optLevel(
    "opt-level",
    cl::desc("LLVM optimization level 0-3 (default 2; 3 adds little for these "
             "loops and compiles large models several times slower)"),
    cl::init(2), cl::sub(qcc::compileCommand()), cl::cat(category));
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

} // namespace

bool qcc::emittingPackage() { return emit == "qpkg"; }

int qcc::compileAndWrite(const compiler::Model &model, std::string outputPath) {
  // lld's driver resets every LLVM command-line option to its default when
  // it links, so the values are read once, here, before anything runs.
  compiler::CompileOptions options;
  options.target = target;
  options.cudaArch = cudaArch;
  options.cpu = cpuName;
  options.cpuFeatures = cpuFeatures;
  options.optLevel = static_cast<int>(optLevel);
  options.emit = emit;
  if (options.emit == "qpkg" && !StringRef(outputPath).ends_with(".qpkg")) {
    errs() << "error: -o must end in .qpkg, got '" << outputPath << "'\n";
    return 1;
  }
  compiler::Result<compiler::Artifact> artifact = model.compile(options);
  if (!artifact) {
    errs() << artifact.error().describe();
    return 1;
  }
  printWarnings(artifact->warnings);
  if (!artifact->summary.empty())
    outs() << artifact->summary << "\n";
  if (compiler::Status saved = artifact->save(outputPath); !saved) {
    errs() << saved.error().describe();
    return 1;
  }
  if (options.emit == "qpkg")
    outs() << "wrote " << outputPath << " (" << artifact->bytes.size()
           << " bytes)\n";
  return 0;
}

int qcc::compileMlirFile(const std::string &modelPath,
                         const std::string &outputPath) {
  compiler::Result<compiler::Model> model =
      compiler::Model::parseMlir(modelPath);
  if (!model) {
    errs() << model.error().describe();
    return 1;
  }
  return compileAndWrite(*model, outputPath);
}
