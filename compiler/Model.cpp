// compiler::Model: importing, printing and saving models, the diagnostics
// collector, options by name, and writing artifacts.
#include "compiler/ModelImpl.h"

#include "importers/onnx/OnnxImporter.h"
#include "passes/Registration.h"
#include "tools/common/ToolSupport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Path.h"

#include <mutex>

using namespace llvm;

namespace qcc::compiler {

void collectNodeNames(mlir::Location loc, std::vector<std::string> &names) {
  if (auto name = dyn_cast<mlir::NameLoc>(loc)) {
    names.push_back(name.getName().str());
    return;
  }
  if (auto fused = dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location inner : fused.getLocations())
      collectNodeNames(inner, names);
}

std::string Error::describe() const {
  if (diagnostics.empty())
    return "error: " + message + "\n";
  std::string text;
  for (const Diagnostic &d : diagnostics)
    text += d.severity + ": " + (d.location.empty() ? "" : d.location + ": ") +
            d.message + "\n";
  return text;
}

Error makeError(const std::string &message) { return Error{message, {}}; }

DiagnosticCollector::DiagnosticCollector(mlir::MLIRContext &context)
    : handler(&context, [this](mlir::Diagnostic &diag) {
        Diagnostic d;
        d.severity = tools::severityName(diag.getSeverity());
        d.location = tools::describeLocation(diag.getLocation());
        collectNodeNames(diag.getLocation(), d.nodes);
        d.message = diag.str();
        diagnostics.push_back(std::move(d));
        for (mlir::Diagnostic &note : diag.getNotes())
          diagnostics.push_back({"note", "", {}, note.str()});
        return mlir::success();
      }) {}

Error DiagnosticCollector::error(const std::string &fallback) const {
  Error error;
  error.diagnostics = diagnostics;
  for (const Diagnostic &d : diagnostics)
    if (d.severity == "error") {
      error.message = (d.location.empty() ? "" : d.location + ": ") + d.message;
      return error;
    }
  error.message = fallback;
  error.diagnostics.push_back({"error", "", {}, fallback});
  return error;
}

std::vector<Diagnostic> DiagnosticCollector::warnings() const {
  std::vector<Diagnostic> result;
  for (const Diagnostic &d : diagnostics)
    if (d.severity == "warning")
      result.push_back(d);
  return result;
}

std::shared_ptr<mlir::MLIRContext> makeContext() {
  static std::once_flag passes;
  std::call_once(passes, [] { registerPasses(); });
  mlir::DialectRegistry registry;
  registerDialects(registry);
  auto context = std::make_shared<mlir::MLIRContext>(registry);
  context->loadAllAvailableDialects();
  return context;
}

std::unique_ptr<Model::Impl> Model::Impl::clone() const {
  auto copy = std::make_unique<Impl>();
  copy->context = context;
  copy->module = (*module).clone();
  copy->source = source;
  copy->onnxPath = onnxPath;
  copy->onnxBytes = onnxBytes;
  copy->report = report;
  copy->noMatMulNBits = noMatMulNBits;
  copy->warnings = warnings;
  return copy;
}

Model::Model(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
Model::Model(Model &&) noexcept = default;
Model &Model::operator=(Model &&) noexcept = default;
// Impl declares the context before the module, so the module goes first.
Model::~Model() = default;

namespace {
Result<Model> importParsed(onnx::Result<onnx::Model> parsed,
                           const std::string &name,
                           const ImportOptions &options) {
  if (!parsed)
    return makeError(parsed.error().message);
  auto impl = std::make_unique<Model::Impl>();
  impl->context = makeContext();
  impl->source = name;
  onnx::ImportOptions importOptions;
  importOptions.inputShapes = options.inputShapes;
  importOptions.inlineLimit = options.inlineLimit;
  DiagnosticCollector diagnostics(*impl->context);
  impl->module = onnx::importModel(*parsed, *impl->context, importOptions);
  if (!impl->module)
    return diagnostics.error(name + ": import failed");
  impl->warnings = diagnostics.warnings();
  return ModelAccess::make(std::move(impl));
}
} // namespace

Result<Model> Model::importOnnx(const std::string &path,
                                const ImportOptions &options) {
  Result<Model> model = importParsed(onnx::loadModel(path), path, options);
  if (model)
    model->impl->onnxPath = path;
  return model;
}

Result<Model> Model::importOnnx(const void *data, size_t size,
                                const std::string &name,
                                const ImportOptions &options) {
  auto bytes = std::make_shared<const std::string>(
      static_cast<const char *>(data), size);
  Result<Model> model =
      importParsed(onnx::parseModel(*bytes, "", name), name, options);
  if (model)
    model->impl->onnxBytes = bytes;
  return model;
}

Result<Model> Model::parseMlir(const std::string &path) {
  auto impl = std::make_unique<Impl>();
  impl->context = makeContext();
  impl->source = path;
  DiagnosticCollector diagnostics(*impl->context);
  impl->module =
      mlir::parseSourceFile<mlir::ModuleOp>(path, impl->context.get());
  if (!impl->module)
    return diagnostics.error(path + ": cannot parse");
  return ModelAccess::make(std::move(impl));
}

std::string Model::mlir() const {
  std::string text;
  raw_string_ostream os(text);
  // Locations carry the ONNX node names; keep them in the text.
  (*impl->module).print(os, mlir::OpPrintingFlags().enableDebugInfo());
  return text;
}

const Report *Model::report() const {
  return impl->report ? &*impl->report : nullptr;
}

const std::string &Model::source() const { return impl->source; }

const std::vector<Diagnostic> &Model::warnings() const {
  return impl->warnings;
}

std::vector<std::pair<std::string, std::vector<int64_t>>>
Model::inputs() const {
  std::vector<std::pair<std::string, std::vector<int64_t>>> result;
  for (auto function : (*impl->module).getOps<mlir::func::FuncOp>()) {
    if (function.isDeclaration())
      continue;
    for (auto [i, type] : llvm::enumerate(function.getArgumentTypes())) {
      std::string name = "input" + std::to_string(i);
      if (auto attr = function.getArgAttrOfType<mlir::StringAttr>(i, "qg.name"))
        name = attr.str();
      std::vector<int64_t> shape;
      if (auto tensor = dyn_cast<mlir::RankedTensorType>(type))
        for (int64_t dim : tensor.getShape())
          shape.push_back(mlir::ShapedType::isDynamic(dim) ? -1 : dim);
      result.emplace_back(name, shape);
    }
    break;
  }
  return result;
}

Status writeFile(const std::string &path,
                 const std::function<void(raw_ostream &)> &write) {
  std::string error;
  if (!tools::writeOutputAtomically(
          path,
          [&](raw_ostream &os) {
            write(os);
            return true;
          },
          error))
    return makeError(error);
  return {};
}

Status Artifact::save(const std::string &path) const {
  return writeFile(path, [&](raw_ostream &os) {
    os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  });
}

Status Model::save(const std::string &path) const {
  StringRef out(path);
  if (out.ends_with(".mlir") || out == "-") {
    const std::string text = mlir();
    return writeFile(path, [&](raw_ostream &os) { os << text; });
  }
  if (out.ends_with(".onnx"))
    return exportQdq(*impl, path);
  if (out.ends_with(".qpkg")) {
    Result<Artifact> package = compile();
    if (!package)
      return package.error();
    return package->save(path);
  }
  return makeError("cannot tell the format of '" + path +
                   "' from its name: use .mlir, .onnx or .qpkg");
}

namespace {
bool parseInt(const std::string &name, const std::string &value, int64_t &out,
              Status &status) {
  if (StringRef(value).trim().getAsInteger(10, out)) {
    status = makeError("option '" + name + "' takes an integer, got '" + value +
                       "'");
    return false;
  }
  return true;
}
bool parseDouble(const std::string &name, const std::string &value, double &out,
                 Status &status) {
  if (StringRef(value).trim().getAsDouble(out)) {
    status =
        makeError("option '" + name + "' takes a number, got '" + value + "'");
    return false;
  }
  return true;
}
bool parseBool(const std::string &name, const std::string &value, bool &out,
               Status &status) {
  std::string v = StringRef(value).trim().lower();
  if (v == "1" || v == "true" || v == "yes" || v == "on" || v.empty())
    out = true;
  else if (v == "0" || v == "false" || v == "no" || v == "off")
    out = false;
  else {
    status = makeError("option '" + name + "' takes true or false, got '" +
                       value + "'");
    return false;
  }
  return true;
}
/// "group_size" and "--group-size" both become "group-size".
std::string flagName(const std::string &name) {
  std::string flag = StringRef(name).ltrim('-').str();
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}
} // namespace

Status setOption(ImportOptions &o, const std::string &name,
                 const std::string &value) {
  const std::string flag = flagName(name);
  Status status;
  if (flag == "inline-limit") {
    parseInt(flag, value, o.inlineLimit, status);
    return status;
  }
  if (flag != "input-shape")
    return makeError("unknown import option '" + name +
                     "'; the options are input-shape and inline-limit");
  auto [input, shapeText] = StringRef(value).split('=');
  const std::string expected = "--input-shape '" + value +
                               "': expected name=DIMxDIMx..., e.g. "
                               "input=1x3x224x224";
  SmallVector<StringRef> parts;
  shapeText.split(parts, 'x');
  std::vector<int64_t> shape;
  for (StringRef part : parts) {
    int64_t dim = -1;
    if (part != "?" && (part.getAsInteger(10, dim) || dim < 0))
      return makeError(expected + " (bad dimension '" + part.str() + "')");
    shape.push_back(dim);
  }
  if (input.empty() || shapeText.empty())
    return makeError(expected);
  o.inputShapes[input.str()] = shape;
  return status;
}

Status setOption(QuantizeOptions &o, const std::string &name,
                 const std::string &value) {
  const std::string flag = flagName(name);
  Status status;
  int64_t i = 0;
  if (flag == "scheme")
    o.scheme = value;
  else if (flag == "method")
    o.method = value;
  else if (flag == "group-size") {
    if (parseInt(flag, value, i, status))
      o.groupSize = i;
  } else if (flag == "size-budget")
    o.sizeBudget = value;
  else if (flag == "max-error")
    parseDouble(flag, value, o.maxError, status);
  else if (flag == "activations")
    o.activations = value;
  else if (flag == "calib-method")
    o.calibMethod = value;
  else if (flag == "percentile")
    parseDouble(flag, value, o.percentile, status);
  else if (flag == "max-calib-samples") {
    if (parseInt(flag, value, i, status))
      o.maxCalibSamples = i;
  } else if (flag == "holdout") {
    if (parseInt(flag, value, i, status))
      o.holdout = i;
  } else if (flag == "sensitivity-samples") {
    if (parseInt(flag, value, i, status))
      o.sensitivitySamples = i;
  } else if (flag == "alpha")
    parseDouble(flag, value, o.alpha, status);
  else if (flag == "act-order")
    parseBool(flag, value, o.actOrder, status);
  else if (flag == "asymmetric-weights")
    parseBool(flag, value, o.asymmetricWeights, status);
  else if (flag == "no-matmulnbits")
    parseBool(flag, value, o.noMatMulNBits, status);
  else if (flag == "also-quantize") {
    o.alsoQuantize.clear();
    SmallVector<StringRef> items;
    StringRef(value).split(items, ',', -1, false);
    for (StringRef item : items)
      o.alsoQuantize.push_back(item.trim().str());
  } else if (flag == "save-stats")
    o.saveStats = value;
  else if (flag == "load-stats")
    o.loadStats = value;
  else
    return makeError(
        "unknown quantize option '" + name +
        "'; the options are scheme, method, group-size, size-budget, "
        "max-error, activations, calib-method, percentile, "
        "max-calib-samples, holdout, sensitivity-samples, alpha, act-order, "
        "asymmetric-weights, no-matmulnbits, also-quantize, save-stats and "
        "load-stats");
  return status;
}

Status setOption(CompileOptions &o, const std::string &name,
                 const std::string &value) {
  const std::string flag = flagName(name);
  Status status;
  if (flag == "target")
    o.target = value;
  else if (flag == "cuda-arch")
    o.cudaArch = value;
  else if (flag == "cpu")
    o.cpu = value;
  else if (flag == "cpu-features")
    o.cpuFeatures = value;
  else if (flag == "emit")
    o.emit = value;
  else if (flag == "opt-level") {
    int64_t level = 0;
    if (parseInt(flag, value, level, status))
      o.optLevel = static_cast<int>(level);
  } else
    return makeError("unknown compile option '" + name +
                     "'; the options are target, cuda-arch, cpu, "
                     "cpu-features, opt-level and emit");
  return status;
}

const char *version() { return QCC_VERSION; }

} // namespace qcc::compiler
