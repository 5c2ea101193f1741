// LLVM dialect -> LLVM IR -> optimized object (TargetMachine) -> shared object
// (lld as a library).
#include "codegen/cpu/ObjectEmitter.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "lld/Common/Driver.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <memory>
#include <mutex>

LLD_HAS_DRIVER(elf)

namespace qcc::cpu {

namespace {

std::once_flag initOnce;

// Transcendental functions go to SLEEF's vector versions when LLVM's loop
// vectorizer vectorizes a loop that calls them. SLEEF's GNU-ABI library names
// them by the x86 vector function ABI: _ZGV<isa>N<lanes>v_<name>, isa b (SSE,
// 4 lanes), d (AVX2, 8) or e (AVX-512, 16); the plain names are the 1-ulp
// versions. `intrinsic` is the LLVM intrinsic the math dialect lowers the
// function to, where there is one.
struct VectorMathFunction {
  const char *name, *intrinsic;
};
constexpr VectorMathFunction kSleefFunctions[] = {
    {"expf", "llvm.exp.f32"},   {"logf", "llvm.log.f32"},
    {"sinf", "llvm.sin.f32"},   {"cosf", "llvm.cos.f32"},
    {"tanhf", "llvm.tanh.f32"}, {"erff", nullptr},
    {"expm1f", nullptr},        {"log1pf", nullptr}};

#ifdef QCC_SLEEF_GNUABI
/// The vector variants the target can run: the storage for their names and
/// the descriptions the TargetLibraryInfo points into.
struct SleefMappings {
  std::vector<std::unique_ptr<std::string>> names;
  std::vector<llvm::VecDesc> descs;

  explicit SleefMappings(const llvm::TargetMachine &machine) {
    const llvm::MCSubtargetInfo &sti = *machine.getMCSubtargetInfo();
    struct Isa {
      char letter;
      unsigned lanes;
      const char *feature;
    };
    const Isa isas[] = {{'b', 4, "+sse4.1"}, {'d', 8, "+avx2"},
                        {'e', 16, "+avx512f"}};
    auto keep = [&](std::string s) -> llvm::StringRef {
      names.push_back(std::make_unique<std::string>(std::move(s)));
      return *names.back();
    };
    for (const Isa &isa : isas) {
      if (!sti.checkFeatures(isa.feature))
        continue;
      const std::string lanes = std::to_string(isa.lanes);
      llvm::StringRef prefix = keep("_ZGV_LLVM_N" + lanes + "v");
      for (const VectorMathFunction &f : kSleefFunctions) {
        llvm::StringRef vector =
            keep(std::string("_ZGV") + isa.letter + "N" + lanes + "v_" + f.name);
        for (const char *scalar : {f.name, f.intrinsic})
          if (scalar)
            descs.emplace_back(scalar, vector,
                               llvm::ElementCount::getFixed(isa.lanes),
                               /*Masked=*/false, prefix, std::nullopt);
      }
    }
  }
};
#endif

/// The math library functions the generated code calls do not touch memory
/// that the model can see (errno is not part of the model's semantics), so
/// they are marked pure: the vectorizer needs that to widen loops that call
/// them.
void markMathFunctionsPure(llvm::Module &module) {
  for (const VectorMathFunction &f : kSleefFunctions)
    if (llvm::Function *fn = module.getFunction(f.name)) {
      fn->setDoesNotAccessMemory();
      fn->setDoesNotThrow();
      fn->setWillReturn();
    }
}

/// Runs the standard LLVM pipeline at `level` for the target.
void optimize(llvm::Module &module, llvm::TargetMachine &machine, int level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(&machine);
  markMathFunctionsPure(module);
  // LLVM prefers 256-bit vectors on AVX-512 CPUs by default (to avoid the
  // frequency drop of 512-bit instructions in mostly scalar programs). The
  // model's loops are all vector work, and the runtime's GEMM runs AVX-512
  // anyway: SLEEF's 16-lane erf is 1.7x faster per element than its 8-lane
  // one on this machine.
  const bool avx512 = machine.getMCSubtargetInfo()->checkFeatures("+avx512f");
  for (llvm::Function &fn : module) {
    if (fn.isDeclaration())
      continue;
    if (avx512)
      fn.addFnAttr("prefer-vector-width", "512");
    // One function per op stays one function: nothing is gained by inlining
    // them into the entry point, and profiles then name the op's kernel.
    if (fn.getName().starts_with("qcc_kernel_"))
      fn.addFnAttr(llvm::Attribute::NoInline);
  }
  llvm::TargetLibraryInfoImpl libraryInfo(machine.getTargetTriple());
#ifdef QCC_SLEEF_GNUABI
  SleefMappings sleef(machine);
  libraryInfo.addVectorizableFunctions(sleef.descs);
#endif
  // Registered first, so the default registration below keeps this one.
  fam.registerPass([&] { return llvm::TargetLibraryAnalysis(libraryInfo); });
  builder.registerModuleAnalyses(mam);
  builder.registerCGSCCAnalyses(cgam);
  builder.registerFunctionAnalyses(fam);
  builder.registerLoopAnalyses(lam);
  builder.crossRegisterProxies(lam, fam, cgam, mam);
  const llvm::OptimizationLevel levels[] = {
      llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1,
      llvm::OptimizationLevel::O2, llvm::OptimizationLevel::O3};
  llvm::ModulePassManager passes =
      level == 0 ? builder.buildO0DefaultPipeline(levels[0])
                 : builder.buildPerModuleDefaultPipeline(levels[level]);
  passes.run(module, mam);
}

/// Links `object` into a shared object with lld, through a private
/// temporary directory that is removed afterwards.
/// `libraries` are shared libraries the object needs (recorded as DT_NEEDED
/// by their sonames).
std::string link(llvm::ArrayRef<char> object,
                 llvm::ArrayRef<const char *> libraries,
                 std::vector<uint8_t> &out) {
  llvm::SmallString<128> dir;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueDirectory("qcc-link", dir))
    return "cannot create a temporary directory: " + ec.message();
  llvm::SmallString<128> objectPath(dir), soPath(dir);
  llvm::sys::path::append(objectPath, "code.o");
  llvm::sys::path::append(soPath, "code.so");
  std::string error;
  {
    std::error_code ec;
    llvm::raw_fd_ostream file(objectPath, ec);
    if (!ec) {
      file.write(object.data(), object.size());
      file.close();
      ec = file.error();
    }
    if (ec)
      error = "cannot write " + objectPath.str().str() + ": " + ec.message();
  }
  if (error.empty()) {
    std::string log;
    llvm::raw_string_ostream logStream(log);
    std::vector<const char *> args = {"ld.lld",
                                      "-shared",
                                      "-z",
                                      "noexecstack",
                                      "-z",
                                      "now",
                                      "--hash-style=gnu",
                                      "--build-id=none",
                                      "-o",
                                      soPath.c_str(),
                                      objectPath.c_str()};
    args.insert(args.end(), libraries.begin(), libraries.end());
    lld::Result result =
        lld::lldMain(args, logStream, logStream, {{lld::Gnu, &lld::elf::link}});
    if (result.retCode != 0)
      error = "lld failed: " + log;
  }
  if (error.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(soPath, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      error = "cannot read the linked object: " + buffer.getError().message();
    else
      out.assign((*buffer)->getBufferStart(), (*buffer)->getBufferEnd());
  }
  llvm::sys::fs::remove(objectPath);
  llvm::sys::fs::remove(soPath);
  llvm::sys::fs::remove(dir);
  return error;
}

/// The target machine and the optimized LLVM IR for `module`.
struct Optimized {
  std::unique_ptr<llvm::TargetMachine> machine;
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> module;
  std::string cpu, features;
};

std::string optimizeForTarget(mlir::ModuleOp module, const CpuTarget &target,
                              Optimized &out) {
  std::call_once(initOnce, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  if (target.optLevel < 0 || target.optLevel > 3)
    return "optimization level must be 0 to 3";
  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());

  const llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return "no code generator for " + triple.str() + ": " + error;
  std::string cpu = target.cpu, features;
  if (cpu.empty() || cpu == "native") {
    cpu = llvm::sys::getHostCPUName().str();
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(feature.second ? "+" : "-") +
                  feature.first().str();
  }
  if (!target.features.empty())
    features += (features.empty() ? "" : ",") + target.features;

  // Reject names LLVM would only warn about on stderr.
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      llvmTarget->createMCSubtargetInfo(triple, "", ""));
  if (!subtarget || !subtarget->isCPUStringValid(cpu))
    return "unknown CPU '" + cpu + "' for " + triple.str() +
           " (try --cpu=native, skylake-avx512, icelake-server, x86-64-v3)";
  for (llvm::StringRef feature : llvm::split(target.features, ',')) {
    feature = feature.trim();
    if (feature.empty())
      continue;
    llvm::StringRef name = feature.drop_front();
    bool known = llvm::any_of(
        subtarget->getAllProcessorFeatures(),
        [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if ((!feature.starts_with("+") && !feature.starts_with("-")) || !known)
      return "bad CPU feature '" + feature.str() +
             "': expected +name or -name with an LLVM x86 feature name "
             "such as avx512f, avx512vnni, avx2";
  }

  llvm::TargetOptions options;
  out.machine.reset(llvmTarget->createTargetMachine(
      triple, cpu, features, options, llvm::Reloc::PIC_, std::nullopt,
      target.optLevel >= 2 ? llvm::CodeGenOptLevel::Aggressive
                           : llvm::CodeGenOptLevel::Default));
  if (!out.machine)
    return "cannot create a target machine for " + cpu;

  out.module = mlir::translateModuleToLLVMIR(module, out.context, "qcc-model");
  if (!out.module)
    return "translation to LLVM IR failed (see the diagnostics above)";
  out.module->setTargetTriple(triple);
  out.module->setDataLayout(out.machine->createDataLayout());
  optimize(*out.module, *out.machine, target.optLevel);
  out.cpu = cpu;
  out.features = features;
  return {};
}

} // namespace

std::string emitOptimizedIR(mlir::ModuleOp module, const CpuTarget &target,
                            std::string &ir) {
  Optimized optimized;
  if (std::string error = optimizeForTarget(module, target, optimized);
      !error.empty())
    return error;
  llvm::raw_string_ostream os(ir);
  optimized.module->print(os, nullptr);
  return {};
}

std::string emitSharedObject(mlir::ModuleOp module, const CpuTarget &target,
                             SharedObject &out) {
  Optimized optimized;
  if (std::string error = optimizeForTarget(module, target, optimized);
      !error.empty())
    return error;
  // Vectorized math calls resolve against SLEEF when the code is loaded.
  std::vector<const char *> libraries;
#ifdef QCC_SLEEF_GNUABI
  for (const llvm::Function &fn : *optimized.module)
    if (fn.isDeclaration() && fn.getName().starts_with("_ZGV") &&
        !fn.use_empty()) {
      libraries.push_back(QCC_SLEEF_GNUABI);
      break;
    }
#endif
  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream stream(object);
    llvm::legacy::PassManager codegen;
    if (optimized.machine->addPassesToEmitFile(
            codegen, stream, nullptr, llvm::CodeGenFileType::ObjectFile))
      return "the target cannot emit object files";
    codegen.run(*optimized.module);
  }
  out = SharedObject();
  out.triple = optimized.module->getTargetTriple().str();
  out.cpu = optimized.cpu;
  out.features = optimized.features;
  return link(object, libraries, out.bytes);
}

} // namespace qcc::cpu
