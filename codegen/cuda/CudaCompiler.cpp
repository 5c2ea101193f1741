// NVRTC to PTX and the package writer for the CUDA backend. See
// CudaCompiler.h.
#include "codegen/cuda/CudaCompiler.h"

#include "codegen/cuda/CudaEmitter.h"
#include "runtime/package/Package.h"
#include "runtime/package/PtxModules.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#if QCC_HAVE_NVRTC
#include <nvrtc.h>
#endif

namespace qcc::cuda {

std::string parseArchs(const std::string &list, std::vector<std::string> &out) {
  out.clear();
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(list).split(parts, ',', -1, false);
  for (llvm::StringRef p : parts) {
    p = p.trim();
    if (pkg::ptxArchVersion(std::string(p)) < 0)
      return "'" + p.str() + "' is not a CUDA architecture (sm_80, sm_90, ...)";
    if (pkg::ptxArchVersion(std::string(p)) < 80)
      return "'" + p.str() +
             "': the generated kernels need sm_80 or newer (int8 tensor-core "
             "mma)";
    if (llvm::is_contained(out, p.str()))
      return "'" + p.str() + "' is listed twice";
    out.push_back(p.str());
  }
  if (out.empty())
    return "no CUDA architecture given";
  if (out.size() > pkg::kMaxPtxModules)
    return "at most " + std::to_string(pkg::kMaxPtxModules) + " architectures";
  return "";
}

#if QCC_HAVE_NVRTC
bool haveNvrtc() { return true; }

std::string compileToPtx(const std::string &source, const std::string &name,
                         const std::string &arch, std::string &ptx) {
  nvrtcProgram program;
  nvrtcResult r = nvrtcCreateProgram(&program, source.c_str(), name.c_str(), 0,
                                     nullptr, nullptr);
  if (r != NVRTC_SUCCESS)
    return std::string("NVRTC: cannot create the program: ") +
           nvrtcGetErrorString(r);
  // PTX for the virtual architecture of `arch` ("sm_90a" -> compute_90a);
  // IEEE division and square root, as the reference interpreter computes.
  const std::string gpu =
      "--gpu-architecture=compute_" + arch.substr(arch.find('_') + 1);
  // Index variables a kernel does not read are not worth a warning (177).
  const char *options[] = {gpu.c_str(),       "--std=c++17",
                           "--prec-div=true", "--prec-sqrt=true",
                           "--ftz=false",     "--diag-suppress=177"};
  r = nvrtcCompileProgram(program, std::size(options), options);
  std::string log;
  size_t logSize = 0;
  if (nvrtcGetProgramLogSize(program, &logSize) == NVRTC_SUCCESS &&
      logSize > 1) {
    log.resize(logSize);
    nvrtcGetProgramLog(program, log.data());
    log.resize(logSize - 1);
  }
  if (r != NVRTC_SUCCESS) {
    nvrtcDestroyProgram(&program);
    return "NVRTC failed for " + arch + " (" + nvrtcGetErrorString(r) + "):\n" +
           log;
  }
  size_t size = 0;
  nvrtcGetPTXSize(program, &size);
  ptx.assign(size, '\0');
  nvrtcGetPTX(program, ptx.data());
  while (!ptx.empty() && ptx.back() == '\0')
    ptx.pop_back();
  nvrtcDestroyProgram(&program);
  return "";
}
#else
bool haveNvrtc() { return false; }

std::string compileToPtx(const std::string &, const std::string &,
                         const std::string &, std::string &) {
  return "this qcc was built without the CUDA toolkit (NVRTC); rebuild with "
         "/usr/local/cuda present or -DQCC_CUDA_ROOT=<toolkit>";
}
#endif

mlir::FailureOr<std::string> emitSource(mlir::func::FuncOp function) {
  mlir::FailureOr<EmittedModel> emitted = emitModel(function);
  if (failed(emitted))
    return mlir::failure();
  return std::move(emitted->source);
}

mlir::FailureOr<std::vector<uint8_t>>
compilePackage(mlir::func::FuncOp function,
               const std::vector<std::string> &archs,
               const std::string &modelName, pkg::Manifest *manifestOut,
               std::vector<std::string> *ptxOut) {
  mlir::FailureOr<EmittedModel> emitted = emitModel(function);
  if (failed(emitted))
    return mlir::failure();
  std::vector<pkg::PtxModule> modules;
  for (const std::string &arch : archs) {
    std::string ptx;
    if (std::string e =
            compileToPtx(emitted->source, modelName + ".cu", arch, ptx);
        !e.empty())
      return function.emitError("CUDA backend: ") << e;
    if (ptxOut)
      ptxOut->push_back(ptx);
    modules.push_back({arch, std::move(ptx)});
  }
  pkg::Manifest &m = emitted->manifest;
  m.model = modelName;
  m.target = "cuda " + llvm::join(archs, ",");
  pkg::Writer writer;
  writer.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  writer.add(pkg::SectionKind::Weights, emitted->weights, 64);
  writer.add(pkg::SectionKind::Ptx, pkg::encodePtxModules(modules), 8);
  if (manifestOut)
    *manifestOut = m;
  return writer.finish();
}

} // namespace qcc::cuda
