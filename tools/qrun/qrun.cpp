// qrun: runs a model. With --reference it interprets qg IR exactly (the
// reference interpreter); compiled packages come with the CPU backend.
#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGDialect.h"
#include "importers/data/SampleReader.h"
#include "importers/onnx/OnnxImporter.h"
#include "passes/Registration.h"
#include "runtime/io/Npy.h"
#include "tools/common/ToolSupport.h"
#include "tools/qrun/RunPackage.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"

#include <map>
#include <set>

using namespace llvm;
using namespace qcc;

namespace {
cl::OptionCategory category("qrun options");
cl::opt<std::string> modelPath(cl::Positional,
                               cl::desc("<model.qpkg | model.mlir>"),
                               cl::Required, cl::cat(category));
cl::opt<bool>
    reference("reference",
              cl::desc("Run with the reference interpreter (exact, slow)"),
              cl::cat(category));
cl::list<std::string>
    inputs("input",
           cl::desc("An input: NAME=FILE.npy or NAME=FILE.pb (ONNX "
                    "TensorProto); repeat for each input"),
           cl::value_desc("name=file"), cl::cat(category));
cl::opt<std::string> outputDir("output-dir",
                               cl::desc("Write each output to DIR/<name>.npy"),
                               cl::value_desc("dir"), cl::cat(category));
cl::opt<bool> stacked(
    "stacked",
    cl::desc("The input file holds many samples along its first axis (e.g. "
             "10000x1x28x28 for a 1x1x28x28 input, or .npz/.pb/directories as "
             "qcc quantize --calib reads them): run each and concatenate the "
             "outputs along their first axis"),
    cl::init(false), cl::cat(category));
cl::opt<int> bench("bench",
                   cl::desc("Packages: after the run, time N more runs of the "
                            "first sample and print latency p50/p90/p99 and "
                            "throughput"),
                   cl::value_desc("N"), cl::init(0), cl::cat(category));
cl::opt<std::string>
    device("device",
           cl::desc("Packages: the device to run on, cpu or cuda; the package "
                    "must be compiled for it (default: the package's)"),
           cl::value_desc("cpu|cuda"), cl::init(""), cl::cat(category));
cl::opt<std::string>
    functionName("function", cl::desc("Function to run (default: the first)"),
                 cl::init(""), cl::cat(category));

std::string argumentName(mlir::func::FuncOp f, unsigned i, bool result) {
  auto name = result ? f.getResultAttrOfType<mlir::StringAttr>(i, "qg.name")
                     : f.getArgAttrOfType<mlir::StringAttr>(i, "qg.name");
  return name ? name.str() : (result ? "output" : "input") + std::to_string(i);
}

/// The .npy element kind that holds values of `type` (codes for quantized).
rt::ElementKind kindFor(mlir::Type type) {
  if (auto quant = llvm::dyn_cast<qg::QuantType>(type))
    type = quant.getStorageType();
  if (type.isF64())
    return rt::ElementKind::F64;
  if (type.isF16())
    return rt::ElementKind::F16;
  if (llvm::isa<mlir::FloatType>(type))
    return rt::ElementKind::F32;
  auto intType = llvm::cast<mlir::IntegerType>(type);
  const bool isUnsigned = intType.isUnsigned();
  switch (intType.getWidth()) {
  case 1:
    return rt::ElementKind::Bool;
  case 4:
  case 8:
    return isUnsigned ? rt::ElementKind::U8 : rt::ElementKind::I8;
  case 16:
    return isUnsigned ? rt::ElementKind::U16 : rt::ElementKind::I16;
  case 32:
    return isUnsigned ? rt::ElementKind::U32 : rt::ElementKind::I32;
  default:
    return isUnsigned ? rt::ElementKind::U64 : rt::ElementKind::I64;
  }
}

bool loadInput(const std::string &file, mlir::RankedTensorType type,
               ref::Tensor &tensor, std::string &error) {
  tensor.elementType = type.getElementType();
  if (StringRef(file).ends_with(".pb")) {
    onnx::Result<onnx::Tensor> loaded = onnx::loadTensor(file);
    if (!loaded) {
      error = loaded.error().message;
      return false;
    }
    tensor = onnx::toRefTensor(*loaded, type.getElementType());
  } else {
    rt::HostArray array;
    if (!rt::readNpy(file, array, error))
      return false;
    tensor.shape.assign(array.shape.begin(), array.shape.end());
    tensor.data.resize(array.elementCount());
    for (int64_t i = 0; i < array.elementCount(); ++i)
      tensor.data[i] = array.at(i);
  }
  if (ArrayRef<int64_t>(tensor.shape) != type.getShape()) {
    error = file + ": shape does not match the model's input type";
    return false;
  }
  return true;
}
} // namespace

int writeOutputs(mlir::func::FuncOp function,
                 const std::vector<ref::Tensor> &results);

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // libLLVM registers a hidden --threads of its own; qrun's replaces it.
  if (cl::Option *own = cl::getRegisteredOptions().lookup("threads"))
    own->removeArgument();
  static cl::opt<int> threads(
      "threads",
      cl::desc("Packages: threads per run, the caller included (default 0: "
               "one per CPU)"),
      cl::value_desc("N"), cl::init(0), cl::cat(category));
  // Only qrun's own flags in --help, not every option LLVM registers.
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "qrun: run a model\n\n"
      "  qrun MODEL.qpkg --input x=x.npy --output-dir out/ [--bench 100]\n"
      "  qrun --reference MODEL.mlir --input x=x.npy --output-dir out/\n");
  if (bench < 0 || threads < 0) {
    errs() << "error: --bench and --threads must not be negative\n";
    return 2;
  }
  if (!device.empty() && device != "cpu" && device != "cuda") {
    errs() << "error: --device takes cpu or cuda, not '" << device << "'\n";
    return 2;
  }
  if (StringRef(modelPath).ends_with(".qpkg")) {
    if (reference) {
      errs() << "error: --reference interprets MLIR; a package runs compiled "
                "code\n";
      return 2;
    }
    tools::PackageRunOptions options;
    options.path = modelPath;
    for (const std::string &spec : inputs) {
      auto [name, file] = StringRef(spec).split('=');
      if (name.empty() || file.empty()) {
        errs() << "error: --input '" << spec << "': expected name=file.npy\n";
        return 2;
      }
      options.inputs.push_back({name.str(), file.str()});
    }
    options.outputDir = outputDir;
    options.stacked = stacked;
    options.bench = bench;
    options.threads = threads;
    options.device = device;
    return tools::runPackage(options);
  }
  if (!reference) {
    errs() << "error: " << modelPath
           << " is not a .qpkg package; compile it with qcc compile, or run "
              "MLIR with --reference\n";
    return 2;
  }
  mlir::DialectRegistry registry;
  qcc::registerDialects(registry);
  mlir::MLIRContext context(registry);
  tools::DiagnosticPrinter printer(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(modelPath, &context);
  if (!module)
    return 1;
  mlir::func::FuncOp function;
  for (auto f : module->getOps<mlir::func::FuncOp>())
    if (!function && (functionName.empty() || f.getName() == functionName))
      function = f;
  if (!function) {
    errs() << "error: " << modelPath << ": no function"
           << (functionName.empty() ? "" : " named '" + functionName + "'")
           << "\n";
    return 1;
  }

  std::map<std::string, std::string> files;
  for (const std::string &spec : inputs) {
    auto [name, file] = StringRef(spec).split('=');
    if (name.empty() || file.empty()) {
      errs() << "error: --input '" << spec << "': expected name=file\n";
      return 2;
    }
    files[name.str()] = file.str();
  }
  // Check the names before reading any file.
  std::set<std::string> expected;
  for (unsigned i = 0; i < function.getNumArguments(); ++i) {
    expected.insert(argumentName(function, i, false));
    if (!files.count(argumentName(function, i, false))) {
      errs() << "error: no --input for '" << argumentName(function, i, false)
             << "'\n";
      return 2;
    }
  }
  for (const auto &[name, file] : files)
    if (!expected.count(name)) {
      errs() << "error: the model has no input named '" << name << "'\n";
      return 2;
    }
  if (stacked) {
    if (files.size() != 1) {
      errs() << "error: --stacked needs a model with one input\n";
      return 2;
    }
    data::SampleReader reader;
    std::string error;
    if (!reader.open(files.begin()->second, function, error)) {
      errs() << "error: " << error << "\n";
      return 1;
    }
    std::vector<ref::Tensor> sample, stackedResults;
    while (reader.next(sample, error)) {
      mlir::FailureOr<std::vector<ref::Tensor>> out =
          ref::run(function, sample);
      if (failed(out))
        return 1;
      if (stackedResults.empty()) {
        stackedResults = std::move(*out);
        continue;
      }
      for (size_t o = 0; o < out->size(); ++o) {
        ref::Tensor &all = stackedResults[o];
        if (all.shape.empty())
          all.shape.push_back(1);
        all.shape[0] += (*out)[o].shape.empty() ? 1 : (*out)[o].shape[0];
        all.data.insert(all.data.end(), (*out)[o].data.begin(),
                        (*out)[o].data.end());
      }
    }
    if (!error.empty()) {
      errs() << "error: " << error << "\n";
      return 1;
    }
    return writeOutputs(function, stackedResults);
  }
  std::vector<ref::Tensor> values;
  for (unsigned i = 0; i < function.getNumArguments(); ++i) {
    const std::string name = argumentName(function, i, false);
    auto it = files.find(name);
    auto type =
        llvm::cast<mlir::RankedTensorType>(function.getArgument(i).getType());
    ref::Tensor tensor;
    std::string error;
    if (!loadInput(it->second, type, tensor, error)) {
      errs() << "error: input '" << name << "': " << error << "\n";
      return 1;
    }
    values.push_back(std::move(tensor));
  }

  mlir::FailureOr<std::vector<ref::Tensor>> results =
      ref::run(function, values);
  if (failed(results))
    return 1;
  return writeOutputs(function, *results);
}

int writeOutputs(mlir::func::FuncOp function,
                 const std::vector<ref::Tensor> &results) {
  if (!outputDir.empty())
    if (std::error_code ec = sys::fs::create_directories(outputDir)) {
      errs() << "error: " << outputDir << ": " << ec.message() << "\n";
      return 1;
    }
  for (auto [i, tensor] : llvm::enumerate(results)) {
    const std::string name = argumentName(function, i, true);
    rt::HostArray array;
    array.kind = kindFor(tensor.elementType);
    array.shape.assign(tensor.shape.begin(), tensor.shape.end());
    array.bytes.resize(tensor.size() * rt::elementSize(array.kind));
    for (int64_t j = 0; j < tensor.size(); ++j)
      array.set(j, tensor.data[j]);
    if (outputDir.empty()) {
      outs() << name << ": shape [";
      for (size_t d = 0; d < array.shape.size(); ++d)
        outs() << (d ? ", " : "") << array.shape[d];
      outs() << "]\n";
      continue;
    }
    SmallString<256> path(outputDir);
    sys::path::append(path, name + ".npy");
    std::string error;
    if (!rt::writeNpy(path.str().str(), array, error)) {
      errs() << "error: " << error << "\n";
      return 1;
    }
    outs() << "wrote " << path << "\n";
  }
  return 0;
}
