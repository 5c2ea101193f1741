// LLVM dialect -> LLVM IR -> optimized object (TargetMachine) -> shared object
// (lld as a library).
#include "codegen/cpu/ObjectEmitter.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "lld/Common/Driver.h"
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

/// Runs the standard LLVM pipeline at `level` for the target.
void optimize(llvm::Module &module, llvm::TargetMachine &machine, int level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder builder(&machine);
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
std::string link(llvm::ArrayRef<char> object, std::vector<uint8_t> &out) {
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
    const char *args[] = {"ld.lld",
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

} // namespace

std::string emitSharedObject(mlir::ModuleOp module, const CpuTarget &target,
                             SharedObject &out) {
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
  std::unique_ptr<llvm::TargetMachine> machine(llvmTarget->createTargetMachine(
      triple, cpu, features, options, llvm::Reloc::PIC_, std::nullopt,
      target.optLevel >= 2 ? llvm::CodeGenOptLevel::Aggressive
                           : llvm::CodeGenOptLevel::Default));
  if (!machine)
    return "cannot create a target machine for " + cpu;

  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, context, "qcc-model");
  if (!llvmModule)
    return "translation to LLVM IR failed (see the diagnostics above)";
  llvmModule->setTargetTriple(triple);
  llvmModule->setDataLayout(machine->createDataLayout());
  optimize(*llvmModule, *machine, target.optLevel);

  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream stream(object);
    llvm::legacy::PassManager codegen;
    if (machine->addPassesToEmitFile(codegen, stream, nullptr,
                                     llvm::CodeGenFileType::ObjectFile))
      return "the target cannot emit object files";
    codegen.run(*llvmModule);
  }
  out = SharedObject();
  out.triple = triple.str();
  out.cpu = cpu;
  out.features = features;
  return link(object, out.bytes);
}

} // namespace qcc::cpu
