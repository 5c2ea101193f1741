// qcc-onnx-conformance: runs ONNX backend node tests through the importer
// and the reference interpreter and compares with the expected outputs:
// integers exactly, floats with ONNX's default tolerances. With
// --backend=cpu each test is also fused, compiled to a package, loaded by
// the runtime and run: integer outputs must equal the reference
// interpreter's bit for bit, float outputs the expected ones within the
// tolerances. With --backend=cuda each test is compiled by NVRTC to PTX for
// sm_80 and sm_90 and each PTX is checked by ptxas; where the runtime finds
// a GPU the package is also run and compared like the CPU's. --export-dir
// writes each compiled case (package, inputs, the reference interpreter's
// outputs) for qcc-check-package to run on another machine.
#include "codegen/cpu/CpuCompiler.h"
#include "codegen/cuda/CudaCompiler.h"
#include "runtime/io/Npy.h"
#include "codegen/reference/Interpreter.h"
#include "passes/Passes.h"
#include "passes/Registration.h"
#include "qcc/runtime.h"
#include "dialects/qg/QGDialect.h"
#include "importers/onnx/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <fstream>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <map>
#include <set>

namespace fs = std::filesystem;
using namespace qcc;

namespace {

llvm::cl::OptionCategory category("qcc-onnx-conformance options");
llvm::cl::list<std::string>
    roots(llvm::cl::Positional, llvm::cl::OneOrMore,
          llvm::cl::desc("<dir with test_* folders>..."),
          llvm::cl::cat(category));
llvm::cl::opt<std::string>
    filter("filter", llvm::cl::desc("Only tests whose name contains this"),
           llvm::cl::init(""), llvm::cl::cat(category));
llvm::cl::opt<bool> verbose("v", llvm::cl::desc("Print every test's result"),
                            llvm::cl::cat(category));
llvm::cl::opt<double> rtolOption("rtol",
                           llvm::cl::desc("Relative tolerance for floats"),
                           llvm::cl::init(1e-3), llvm::cl::cat(category));
llvm::cl::opt<double> atolOption("atol",
                           llvm::cl::desc("Absolute tolerance for floats"),
                           llvm::cl::init(1e-7), llvm::cl::cat(category));
llvm::cl::opt<std::string> backendOption(
    "backend",
    llvm::cl::desc("reference (the interpreter only, default), cpu (also "
                   "compile each test for the CPU and run the package) or "
                   "cuda (also compile each test to PTX, check it with "
                   "ptxas, and run it where there is a GPU)"),
    llvm::cl::init("reference"), llvm::cl::cat(category));
llvm::cl::opt<std::string> exportDir(
    "export-dir",
    llvm::cl::desc("With --backend=cpu or cuda: write each compiled test to "
                   "DIR/<test>/ as model.qpkg, input_<i>.npy, expected_<o>.npy "
                   "(the reference interpreter's outputs) and tolerance.txt, "
                   "for qcc-check-package"),
    llvm::cl::init(""), llvm::cl::cat(category));
llvm::cl::opt<std::string> ptxasPath(
    "ptxas",
    llvm::cl::desc("With --backend=cuda: the ptxas that checks each PTX "
                   "(default: the toolkit's, found at build time)"),
    llvm::cl::init(QCC_PTXAS_PATH), llvm::cl::cat(category));
llvm::cl::list<std::string> expectedFailures(
    "xfail",
    llvm::cl::desc(
        "Test known to fail (repeatable); listed, not counted as failed"),
    llvm::cl::cat(category));

enum class Outcome {
  Passed,
  Failed,
  Skipped,
  NotApplicable,
  ExpectedFailure,
  NotLowered // imports and interprets, but the backend lacks an op
};

enum class Backend { Reference, Cpu, Cuda };

/// The options, copied once after parsing: compiling a package links it
/// with lld, whose driver resets every LLVM command-line option.
struct Settings {
  std::string filter;
  bool verbose = false;
  double rtol = 0, atol = 0;
  Backend backend = Backend::Reference;
  std::string exportDir, ptxas;
  int compiledOnly = 0; ///< CUDA tests compiled and checked but not run
};
Settings settings;

struct Result {
  Outcome outcome;
  std::string reason;
};

std::vector<fs::path> sortedEntries(const fs::path &dir,
                                    const std::string &prefix) {
  std::vector<fs::path> entries;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(dir, ec))
    if (entry.path().filename().string().rfind(prefix, 0) == 0)
      entries.push_back(entry.path());
  std::sort(
      entries.begin(), entries.end(), [](const fs::path &a, const fs::path &b) {
        // input_10 after input_9.
        auto key = [](const fs::path &p) {
          std::string name = p.stem().string();
          size_t digits = name.find_last_not_of("0123456789") + 1;
          return std::make_pair(
              name.substr(0, digits),
              digits < name.size() ? std::stoll(name.substr(digits)) : -1);
        };
        return key(a) < key(b);
      });
  return entries;
}

/// Data types qcc does not support anywhere: strings, complex numbers, the
/// FNUZ FP8 variants, and types newer than ONNX 1.16 (FP4, INT2, E8M0).
bool unsupportedDataType(onnx::DataType type) {
  const int code = static_cast<int>(type);
  return type == onnx::DataType::String || type == onnx::DataType::Complex64 ||
         type == onnx::DataType::Complex128 ||
         type == onnx::DataType::Float8E4M3FNUZ ||
         type == onnx::DataType::Float8E5M2FNUZ || code > 22;
}

std::string typeLabel(onnx::DataType type) {
  std::string name(onnx::dataTypeName(type));
  return name == "UNDEFINED"
             ? "element type " + std::to_string(static_cast<int>(type))
             : name;
}

/// ONNX 1.12's test data stores bfloat16 tensors as uint16 bit patterns.
void reinterpretBFloat16(onnx::Tensor &tensor, onnx::DataType declared) {
  if (declared == onnx::DataType::BFloat16 &&
      tensor.type == onnx::DataType::UInt16)
    tensor.type = onnx::DataType::BFloat16;
}

std::string compare(const onnx::Tensor &expected, const ref::Tensor &actual,
                    const std::string &name) {
  if (std::vector<int64_t>(actual.shape.begin(), actual.shape.end()) !=
      expected.dims)
    return name + ": shape differs";
  // A quantized result holds stored codes, which the expected tensor holds
  // as integers or raw FP8 bytes.
  const bool quantized = llvm::isa<qg::QuantType>(actual.elementType);
  const bool isFloat =
      !quantized && (expected.type == onnx::DataType::Float ||
                     expected.type == onnx::DataType::Double ||
                     expected.type == onnx::DataType::Float16 ||
                     expected.type == onnx::DataType::BFloat16 ||
                     expected.type == onnx::DataType::Float8E4M3FN ||
                     expected.type == onnx::DataType::Float8E5M2);
  if (isFloat) {
    std::vector<float> want = expected.toFloats();
    for (size_t i = 0; i < want.size(); ++i) {
      const double e = want[i], a = actual.data[i];
      if (std::isnan(e) && std::isnan(a))
        continue;
      if (std::isinf(e) && e == a)
        continue;
      if (!(std::fabs(a - e) <= settings.atol + settings.rtol * std::fabs(e)))
        return name + "[" + std::to_string(i) + "] = " + std::to_string(a) +
               ", expected " + std::to_string(e);
    }
    return "";
  }
  std::vector<int64_t> want = expected.toInts();
  for (size_t i = 0; i < want.size(); ++i)
    if (static_cast<double>(want[i]) != actual.data[i])
      return name + "[" + std::to_string(i) +
             "] = " + std::to_string(static_cast<int64_t>(actual.data[i])) +
             ", expected " + std::to_string(want[i]);
  return "";
}

/// Loads a data set's `prefix`* tensors in order, read as the types `infos`
/// declare for them.
bool loadTensors(const fs::path &set, const std::string &prefix,
                 const std::vector<onnx::ValueInfo> &infos,
                 std::vector<onnx::Tensor> &tensors, std::string &error) {
  for (const fs::path &file : sortedEntries(set, prefix)) {
    onnx::Result<onnx::Tensor> t = onnx::loadTensor(file.string());
    if (!t) {
      error = t.error().message;
      return false;
    }
    if (tensors.size() < infos.size())
      reinterpretBFloat16(*t, infos[tensors.size()].type);
    tensors.push_back(std::move(*t));
  }
  return true;
}

/// Runs ptxas on each PTX text (as a file); returns an empty string or
/// ptxas's complaint.
std::string checkWithPtxas(const std::vector<std::string> &ptx,
                           const std::vector<std::string> &archs) {
  if (settings.ptxas.empty())
    return "no ptxas (the CUDA toolkit was not found at build time; pass "
           "--ptxas)";
  for (size_t i = 0; i < ptx.size(); ++i) {
    llvm::SmallString<128> input, output, log;
    if (llvm::sys::fs::createTemporaryFile("qcc-conformance", "ptx", input) ||
        llvm::sys::fs::createTemporaryFile("qcc-conformance", "cubin",
                                           output) ||
        llvm::sys::fs::createTemporaryFile("qcc-conformance", "log", log))
      return "cannot create temporary files";
    {
      std::ofstream file(input.c_str(), std::ios::binary);
      file << ptx[i];
    }
    const std::string archFlag = "-arch=" + archs[i];
    llvm::SmallVector<llvm::StringRef> args{settings.ptxas, archFlag,
                                            input.str(), "-o", output.str()};
    std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(),
                                                  log.str()};
    std::string execError;
    const int rc = llvm::sys::ExecuteAndWait(settings.ptxas, args,
                                             std::nullopt, redirects, 120, 0,
                                             &execError);
    std::ifstream logFile(log.c_str());
    std::string message((std::istreambuf_iterator<char>(logFile)),
                        std::istreambuf_iterator<char>());
    llvm::sys::fs::remove(input);
    llvm::sys::fs::remove(output);
    llvm::sys::fs::remove(log);
    if (rc != 0)
      return "ptxas -arch=" + archs[i] + " rejected the PTX (" +
             (execError.empty() ? "exit " + std::to_string(rc) : execError) +
             "): " + message;
  }
  return "";
}

/// Writes one case for qcc-check-package.
std::string exportCase(const std::string &name,
                       const std::vector<uint8_t> &package,
                       llvm::ArrayRef<ref::Tensor> inputs,
                       llvm::ArrayRef<ref::Tensor> expected) {
  const fs::path dir = fs::path(settings.exportDir) / name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return "export: cannot create " + dir.string() + ": " + ec.message();
  {
    std::ofstream file(dir / "model.qpkg", std::ios::binary);
    file.write(reinterpret_cast<const char *>(package.data()),
               static_cast<std::streamsize>(package.size()));
    if (!file)
      return "export: cannot write " + (dir / "model.qpkg").string();
  }
  // The stored element type, as the package's inputs and outputs have it.
  auto write = [&](const ref::Tensor &t,
                   const std::string &file) -> std::string {
    rt::HostArray array;
    mlir::Type e = t.elementType;
    if (auto q = llvm::dyn_cast<qg::QuantType>(e))
      array.kind = q.getFormat() == rt::Format::U8 ? rt::ElementKind::U8
                                                   : rt::ElementKind::I8;
    else if (auto i = llvm::dyn_cast<mlir::IntegerType>(e))
      array.kind = i.getWidth() == 8
                       ? (i.isUnsigned() ? rt::ElementKind::U8
                                         : rt::ElementKind::I8)
                   : i.getWidth() == 32 ? rt::ElementKind::I32
                                        : rt::ElementKind::I64;
    else
      array.kind = rt::ElementKind::F32;
    array.shape.assign(t.shape.begin(), t.shape.end());
    array.bytes.resize(t.data.size() * rt::elementSize(array.kind));
    for (size_t j = 0; j < t.data.size(); ++j)
      array.set(static_cast<int64_t>(j), t.data[j]);
    std::string error;
    return rt::writeNpy((dir / file).string(), array, error) ? "" : error;
  };
  for (size_t i = 0; i < inputs.size(); ++i)
    if (std::string e = write(inputs[i], "input_" + std::to_string(i) + ".npy");
        !e.empty())
      return "export: " + e;
  for (size_t o = 0; o < expected.size(); ++o)
    if (std::string e =
            write(expected[o], "expected_" + std::to_string(o) + ".npy");
        !e.empty())
      return "export: " + e;
  // Integer outputs must match exactly; float ones within the tolerance
  // the runner uses against ONNX's expected outputs, widened for a GPU's
  // own exp/erf/tanh.
  std::ofstream tolerance(dir / "tolerance.txt");
  tolerance << std::max(settings.atol, 1e-5) << " "
            << std::max(settings.rtol, 1e-3) << "\n";
  return "";
}

/// Compiles `function` (fused first) for the backend, runs the package on
/// `values` and returns its outputs as interpreter tensors. Sets `lowered`
/// to false when the backend has no kernel for some op, and `ran` to false
/// when the CUDA package was compiled and checked but no GPU could run it.
mlir::FailureOr<std::vector<ref::Tensor>>
runCompiled(mlir::ModuleOp module, llvm::ArrayRef<ref::Tensor> values,
            llvm::ArrayRef<ref::Tensor> reference, const std::string &name,
            bool &lowered, bool &ran, std::string &firstError,
            std::string &error) {
  lowered = true;
  ran = true;
  const bool cuda = settings.backend == Backend::Cuda;
  const std::string label = cuda ? "cuda" : "cpu";
  mlir::PassManager pm(module.getContext(),
                       mlir::ModuleOp::getOperationName());
  qcc::buildFusionPipeline(pm);
  if (failed(pm.run(module))) {
    error = "fuse: " + firstError;
    return mlir::failure();
  }
  auto function = *module.getOps<mlir::func::FuncOp>().begin();
  const std::vector<std::string> archs{"sm_80", "sm_90"};
  std::vector<std::string> ptx;
  mlir::FailureOr<std::vector<uint8_t>> package =
      cuda ? cuda::compilePackage(function, archs, name, nullptr, &ptx)
           : cpu::compilePackage(function, cpu::CpuTarget{"", "", 2}, name);
  if (failed(package)) {
    lowered = firstError.find("no CPU lowering") == std::string::npos &&
              firstError.find("no CUDA kernel") == std::string::npos &&
              firstError.find("not supported yet") == std::string::npos;
    error = label + " compile: " + firstError;
    return mlir::failure();
  }
  if (cuda) {
    if (std::string e = checkWithPtxas(ptx, archs); !e.empty()) {
      error = e;
      return mlir::failure();
    }
  }
  if (!settings.exportDir.empty())
    if (std::string e = exportCase(name, *package, values, reference);
        !e.empty()) {
      error = e;
      return mlir::failure();
    }
  qcc_model *model = nullptr;
  qcc_context *context = nullptr;
  auto cleanup = [&] {
    qcc_context_free(context);
    qcc_model_free(model);
  };
  if (qcc_model_load_memory(package->data(), package->size(), &model) !=
      QCC_OK) {
    const std::string why = qcc_last_error();
    if (cuda && (why.find("libcuda.so.1") != std::string::npos ||
                 why.find("no GPU") != std::string::npos)) {
      ran = false; // compiled and checked; nothing here can run it
      return std::vector<ref::Tensor>{};
    }
    error = label + " load: " + why;
    return mlir::failure();
  }
  if (qcc_context_create(model, 1, &context) != QCC_OK) {
    error = label + " context: " + qcc_last_error();
    cleanup();
    return mlir::failure();
  }
  for (size_t i = 0; i < values.size(); ++i) {
    qcc_tensor_info info;
    qcc_model_input(model, i, &info);
    auto *p = static_cast<uint8_t *>(qcc_context_input_data(context, i));
    for (size_t j = 0; j < values[i].data.size(); ++j) {
      const double v = values[i].data[j];
      switch (info.dtype) {
      case QCC_F32: {
        float f = static_cast<float>(v);
        std::memcpy(p + 4 * j, &f, 4);
        break;
      }
      case QCC_U8:
      case QCC_I8:
        p[j] = static_cast<uint8_t>(static_cast<int64_t>(v));
        break;
      case QCC_I32: {
        int32_t x = static_cast<int32_t>(v);
        std::memcpy(p + 4 * j, &x, 4);
        break;
      }
      case QCC_I64: {
        int64_t x = static_cast<int64_t>(v);
        std::memcpy(p + 8 * j, &x, 8);
        break;
      }
      }
    }
  }
  if (qcc_context_run(context) != QCC_OK) {
    error = label + " run: " + qcc_last_error();
    cleanup();
    return mlir::failure();
  }
  std::vector<ref::Tensor> results;
  for (size_t o = 0; o < qcc_model_num_outputs(model); ++o) {
    qcc_tensor_info info;
    qcc_model_output(model, o, &info);
    auto type = llvm::cast<mlir::RankedTensorType>(
        function.getFunctionType().getResult(o));
    ref::Tensor t;
    t.elementType = type.getElementType();
    t.shape.assign(info.shape, info.shape + info.rank);
    const auto *p =
        static_cast<const uint8_t *>(qcc_context_output_data(context, o));
    const size_t count = type.getNumElements();
    for (size_t j = 0; j < count; ++j) {
      switch (info.dtype) {
      case QCC_F32: {
        float f;
        std::memcpy(&f, p + 4 * j, 4);
        t.data.push_back(f);
        break;
      }
      case QCC_U8:
        t.data.push_back(p[j]);
        break;
      case QCC_I8:
        t.data.push_back(static_cast<int8_t>(p[j]));
        break;
      case QCC_I32: {
        int32_t x;
        std::memcpy(&x, p + 4 * j, 4);
        t.data.push_back(x);
        break;
      }
      case QCC_I64: {
        int64_t x;
        std::memcpy(&x, p + 8 * j, 8);
        t.data.push_back(static_cast<double>(x));
        break;
      }
      }
    }
    results.push_back(std::move(t));
  }
  cleanup();
  return results;
}

Result runTest(const fs::path &dir) {
  onnx::Result<onnx::Model> model =
      onnx::loadModel((dir / "model.onnx").string());
  if (!model)
    return {Outcome::Failed, model.error().message};
  std::vector<onnx::UnsupportedOp> unsupported =
      onnx::findUnsupportedOps(*model);
  if (!unsupported.empty()) {
    std::string ops;
    for (const auto &op : unsupported)
      ops += (ops.empty() ? "" : ", ") + op.opType +
             (op.reason.empty() ? "" : " (" + op.reason + ")");
    return {Outcome::NotApplicable, ops};
  }
  for (const auto &info : llvm::concat<const onnx::ValueInfo>(
           model->graph.inputs, model->graph.outputs))
    if (!info.isTensor)
      return {Outcome::Skipped, "needs sequence, optional or map values"};
  for (const auto &info : llvm::concat<const onnx::ValueInfo>(
           model->graph.inputs, model->graph.outputs))
    if (unsupportedDataType(info.type))
      return {Outcome::Skipped, "needs " + typeLabel(info.type)};

  std::vector<fs::path> dataSets = sortedEntries(dir, "test_data_set_");
  if (dataSets.empty())
    return {Outcome::Failed, "no test_data_set_* folder"};
  for (const fs::path &set : dataSets) {
    std::vector<onnx::Tensor> inputs, outputs;
    std::string error;
    if (!loadTensors(set, "input_", model->graph.inputs, inputs, error) ||
        !loadTensors(set, "output_", model->graph.outputs, outputs, error))
      return {Outcome::Failed, error};
    if (inputs.size() != model->graph.inputs.size())
      return {Outcome::Failed, "test data has " +
                                   std::to_string(inputs.size()) +
                                   " inputs, the model " +
                                   std::to_string(model->graph.inputs.size())};

    mlir::MLIRContext context;
    std::string firstError;
    mlir::ScopedDiagnosticHandler handler(
        &context, [&](mlir::Diagnostic &diag) {
          if (diag.getSeverity() == mlir::DiagnosticSeverity::Error &&
              firstError.empty())
            firstError = diag.str();
          return mlir::success();
        });
    // Inputs that feed shape operands and quantization parameters are
    // compiled in as constants, as a deployed model would have them.
    onnx::ImportOptions options;
    std::set<std::string> frozen = onnx::inputsNeededAsConstants(*model);
    std::vector<onnx::Tensor> runtimeInputs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string &name = model->graph.inputs[i].name;
      if (frozen.count(name)) {
        options.constantInputs[name] = inputs[i];
        continue;
      }
      options.inputShapes[name] = inputs[i].dims;
      runtimeInputs.push_back(inputs[i]);
    }
    mlir::OwningOpRef<mlir::ModuleOp> module =
        onnx::importModel(*model, context, options);
    if (!module)
      return {Outcome::Failed, "import: " + firstError};
    auto function = *module->getOps<mlir::func::FuncOp>().begin();
    std::vector<ref::Tensor> values;
    for (auto [tensor, type] :
         llvm::zip(runtimeInputs, function.getArgumentTypes())) {
      auto tensorType = llvm::cast<mlir::RankedTensorType>(type);
      values.push_back(onnx::toRefTensor(tensor, tensorType.getElementType()));
    }
    mlir::FailureOr<std::vector<ref::Tensor>> results =
        ref::run(function, values);
    if (failed(results))
      return {Outcome::Failed, "run: " + firstError};
    if (results->size() != outputs.size())
      return {Outcome::Failed, "expected " + std::to_string(outputs.size()) +
                                   " outputs, got " +
                                   std::to_string(results->size())};
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::string mismatch =
          compare(outputs[i], (*results)[i],
                  set.filename().string() + " output " + std::to_string(i));
      if (!mismatch.empty())
        return {Outcome::Failed, mismatch};
    }
    if (settings.backend == Backend::Reference)
      continue;
    // The same function through the compiled backend.
    bool lowered = true, ran = true;
    std::string cpuError;
    mlir::FailureOr<std::vector<ref::Tensor>> cpuResults = runCompiled(
        *module, values, *results, dir.filename().string(), lowered, ran,
        firstError, cpuError);
    if (failed(cpuResults))
      return {lowered ? Outcome::Failed : Outcome::NotLowered, cpuError};
    if (!ran) {
      ++settings.compiledOnly;
      break; // the other data sets would compile the same kernels
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      const std::string label =
          std::string(settings.backend == Backend::Cuda ? "cuda " : "cpu ") +
          set.filename().string() + " output " + std::to_string(i);
      std::string mismatch = compare(outputs[i], (*cpuResults)[i], label);
      if (!mismatch.empty())
        return {Outcome::Failed, mismatch};
      const ref::Tensor &want = (*results)[i];
      if (!llvm::isa<mlir::FloatType>(want.elementType))
        for (size_t j = 0; j < want.data.size(); ++j)
          if (want.data[j] != (*cpuResults)[i].data[j])
            return {Outcome::Failed,
                    label + "[" + std::to_string(j) + "] = " +
                        std::to_string((*cpuResults)[i].data[j]) +
                        ", the reference interpreter gives " +
                        std::to_string(want.data[j])};
    }
  }
  return {Outcome::Passed, ""};
}

} // namespace

int main(int argc, char **argv) {
  llvm::cl::HideUnrelatedOptions(category);
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "qcc-onnx-conformance: ONNX backend node tests through qcc's importer "
      "and reference interpreter (and with --backend=cpu or cuda, that "
      "backend)\n");
  if (backendOption != "reference" && backendOption != "cpu" &&
      backendOption != "cuda") {
    llvm::errs() << "error: --backend must be reference, cpu or cuda\n";
    return 2;
  }
  if (!exportDir.empty() && backendOption == "reference") {
    llvm::errs() << "error: --export-dir needs --backend=cpu or cuda\n";
    return 2;
  }
  settings.filter = filter;
  settings.verbose = verbose;
  settings.rtol = rtolOption;
  settings.atol = atolOption;
  settings.backend = backendOption == "cpu"    ? Backend::Cpu
                     : backendOption == "cuda" ? Backend::Cuda
                                               : Backend::Reference;
  settings.exportDir = exportDir;
  settings.ptxas = ptxasPath;
  const std::vector<std::string> rootDirs(roots.begin(), roots.end());
  const std::vector<std::string> xfailNames(expectedFailures.begin(),
                                            expectedFailures.end());
  int passed = 0, failed = 0, skipped = 0, notApplicable = 0, xfailed = 0,
      notLowered = 0;
  std::vector<std::string> failures, skips, xfails;
  std::map<std::string, int> missingLowerings;
  for (const std::string &root : rootDirs) {
    for (const fs::path &dir : sortedEntries(root, "test_")) {
      const std::string name = dir.filename().string();
      if (!settings.filter.empty() &&
          name.find(settings.filter) == std::string::npos)
        continue;
      Result result = runTest(dir);
      const bool expectedToFail =
          std::find(xfailNames.begin(), xfailNames.end(), name) !=
          xfailNames.end();
      if (expectedToFail && result.outcome == Outcome::Failed)
        result.outcome = Outcome::ExpectedFailure;
      switch (result.outcome) {
      case Outcome::Passed:
        ++passed;
        break;
      case Outcome::Failed:
        ++failed;
        failures.push_back(name + ": " + result.reason);
        break;
      case Outcome::Skipped:
        ++skipped;
        skips.push_back(name + ": " + result.reason);
        break;
      case Outcome::NotApplicable:
        ++notApplicable;
        break;
      case Outcome::ExpectedFailure:
        ++xfailed;
        xfails.push_back(name + ": " + result.reason);
        break;
      case Outcome::NotLowered: {
        ++notLowered;
        // "...CPU backend: qg.softmax has no CPU lowering yet": count by op.
        const size_t at = result.reason.find(" backend: ");
        std::string what = at == std::string::npos
                               ? result.reason
                               : result.reason.substr(at + 10);
        for (const char *end : {" has no", " is not supported", " on ", ","})
          what = what.substr(0, what.find(end));
        missingLowerings[what]++;
        break;
      }
      }
      if (settings.verbose)
        llvm::outs() << name << ": "
                     << (result.outcome == Outcome::Passed ? "passed"
                         : result.outcome == Outcome::NotApplicable
                             ? "not applicable"
                             : "see below")
                     << (result.outcome == Outcome::NotApplicable
                             ? " (" + result.reason + ")"
                             : "")
                     << "\n";
    }
  }
  for (const std::string &line : skips)
    llvm::outs() << "skipped: " << line << "\n";
  for (const std::string &line : xfails)
    llvm::outs() << "expected failure: " << line << "\n";
  for (const std::string &line : failures)
    llvm::outs() << "FAILED: " << line << "\n";
  llvm::outs() << notApplicable
               << " tests use ops qcc does not import and were not run\n";
  if (xfailed)
    llvm::outs() << xfailed << " known failures\n";
  const bool compiled = settings.backend != Backend::Reference;
  const char *backendName =
      settings.backend == Backend::Cuda ? "cuda" : "cpu";
  if (compiled) {
    llvm::outs() << notLowered
                 << " tests pass on the reference interpreter but use ops the "
                 << backendName << " backend does not lower yet:";
    for (const auto &[op, count] : missingLowerings)
      llvm::outs() << " " << op << " (" << count << ")";
    llvm::outs() << "\n";
  }
  if (settings.backend == Backend::Cuda && settings.compiledOnly)
    llvm::outs() << settings.compiledOnly
                 << " of the passed tests were compiled to PTX and checked by "
                    "ptxas for sm_80 and sm_90 but not run (no GPU here)\n";
  llvm::outs() << "conformance"
               << (compiled ? std::string(" (") + backendName + " backend)"
                            : std::string())
               << ": " << passed << " passed, " << failed << " failed, "
               << skipped << " skipped\n";
  return failed == 0 ? 0 : 1;
}
