// `qcc quantize`: the command-line client of the compiler API's
// Model::quantize. It maps flags to QuantizeOptions, prints progress and the
// per-layer table, and writes MLIR, a QDQ ONNX model or (for qcc compile) a
// package, plus the report.
#include "tools/qcc/Commands.h"

#include "qcc/compiler.hpp"
#include "tools/common/ToolSupport.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace llvm;
using namespace qcc;

cl::SubCommand qcc::quantizeCommand(
    "quantize", "Calibrate and quantize an ONNX model (MLIR or QDQ ONNX out)");

namespace {
cl::OptionCategory category("qcc quantize options");
cl::opt<std::string>
    modelPath(cl::Positional,
              cl::desc("<model.onnx> (compile: or <model.mlir>)"), cl::Required,
              cl::sub(quantizeCommand), cl::sub(compileCommand()));
cl::opt<std::string> outputPath(
    "o",
    cl::desc("Output: a .mlir file (qg IR) or a .onnx file (QDQ model that "
             "ONNX Runtime runs); for compile, a .qpkg package"),
    cl::value_desc("file"), cl::Required, cl::sub(quantizeCommand),
    cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> calibData(
    "calib",
    cl::desc("Calibration samples: a directory, file or comma-separated list "
             "of .npy/.npz/.pb files or ONNX test_data_set_* directories"),
    cl::value_desc("dir"), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string> scheme(
    "scheme",
    cl::desc("int8 (i8 per-channel weights, u8 static activations), w8a8 "
             "(i8 weights and i8 symmetric activations), w8a16 (i8 "
             "per-channel weights, or in groups with --group-size, float "
             "activations), fp8 (FP8 E4M3 weights per channel and static "
             "activations; FP8 layers run with --target=cuda), w4a16 (i4 "
             "weights in groups, float activations), "
             "nf4 (NF4 weights in groups), mixed (per-layer i8/i4/f32 under "
             "--size-budget or --max-error)"),
    cl::init("int8"), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string> method(
    "method",
    cl::desc("Weight algorithm: rtn, gptq, awq or smoothquant (default: rtn; "
             "smoothquant for w8a8)"),
    cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<int64_t> groupSize(
    "group-size",
    cl::desc("Weights per scale along the reduction dimension for w4a16, nf4 "
             "and the 4-bit candidate of mixed (default 128; 64 for nf4); "
             "for w8a16, groups instead of one scale per output channel"),
    cl::init(0), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string> sizeBudget(
    "size-budget",
    cl::desc("mixed: largest total weight size, in bytes (400000, 350kB, "
             "1.5MB) or average bits per weight (4.5bits)"),
    cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<double> maxError(
    "max-error",
    cl::desc("mixed: largest summed output MSE of the per-layer choices; "
             "the smallest model within it is chosen"),
    cl::init(-1), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string> activations(
    "activations",
    cl::desc("int8/w8a8 activation ranges: static (from calibration), "
             "dynamic (measured at run time, u8 per tensor) or dynamic-row "
             "(u8, one range per row; no ONNX form, so .mlir output only)"),
    cl::init("static"), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string> calibMethod(
    "calib-method",
    cl::desc("Activation range method: minmax, percentile, entropy or mse"),
    cl::init("minmax"), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<double> percentile("percentile",
                           cl::desc("Percentile for --calib-method=percentile"),
                           cl::init(99.99), cl::sub(quantizeCommand),
                           cl::sub(compileCommand()), cl::cat(category));
cl::opt<int64_t> maxCalibSamples(
    "max-calib-samples",
    cl::desc("Calibrate on at most this many samples (0: all but the "
             "held-out ones)"),
    cl::init(0), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<int64_t> holdout(
    "holdout",
    cl::desc("Samples at the end of --calib kept out of calibration and used "
             "to measure the report's errors (default: a fifth, at most 32)"),
    cl::init(-1), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string>
    evalData("eval",
             cl::desc("Measure the report's errors on these samples instead of "
                      "held-out calibration samples"),
             cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()),
             cl::cat(category));
cl::opt<int64_t> sensitivitySamples(
    "sensitivity-samples",
    cl::desc("mixed: samples used to measure each layer's sensitivity"),
    cl::init(8), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<double> alpha("alpha", cl::desc("SmoothQuant migration strength"),
                      cl::init(0.5), cl::sub(quantizeCommand),
                      cl::sub(compileCommand()), cl::cat(category));
cl::opt<bool> actOrder("act-order",
                       cl::desc("GPTQ: quantize features by decreasing "
                                "Hessian diagonal"),
                       cl::init(false), cl::sub(quantizeCommand),
                       cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> reportPath(
    "report",
    cl::desc("Write the report as JSON here, and as HTML beside it (.html)"),
    cl::value_desc("file.json"), cl::init(""), cl::sub(quantizeCommand),
    cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string>
    saveStatsPath("save-stats",
                  cl::desc("Keep the calibration statistics in this file"),
                  cl::init(""), cl::sub(quantizeCommand),
                  cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> loadStatsPath(
    "load-stats",
    cl::desc("Reuse statistics saved by --save-stats (or qg-calibrate) "
             "instead of calibrating"),
    cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Fix an input's shape, e.g. --input-shape input=1x1x28x28 "
             "(repeatable; needed for symbolic dimensions)"),
    cl::value_desc("name=shape"), cl::sub(quantizeCommand),
    cl::sub(compileCommand()), cl::cat(category));
cl::opt<bool> noMatMulNBits(
    "no-matmulnbits",
    cl::desc("ONNX output: write 4-bit MatMul weights as blocked "
             "DequantizeLinear instead of com.microsoft MatMulNBits"),
    cl::init(false), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<bool> asymmetricWeights(
    "asymmetric-weights",
    cl::desc("Integer weights get a zero point and their own [min, max] "
             "range instead of a symmetric one (not for nf4)"),
    cl::init(false), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::list<std::string> alsoQuantize(
    "also-quantize",
    cl::desc("Also put activation Q/DQ on the inputs of these ops, which stay "
             "float by default (e.g. --also-quantize=softmax,layer_norm)"),
    cl::CommaSeparated, cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<bool> quiet("quiet", cl::desc("No progress output"), cl::init(false),
                    cl::sub(quantizeCommand), cl::sub(compileCommand()),
                    cl::cat(category));

void printProgress(const compiler::Progress &progress) {
  static auto start = std::chrono::steady_clock::now();
  static std::string lastStage;
  if (progress.stage != lastStage) {
    start = std::chrono::steady_clock::now();
    lastStage = progress.stage;
  }
  const int width = 24;
  const int filled =
      progress.total > 0
          ? static_cast<int>(width * std::min(progress.done, progress.total) /
                             progress.total)
          : width;
  errs() << "\r" << progress.stage << " [" << std::string(filled, '#')
         << std::string(width - filled, '.') << "] " << progress.done;
  if (progress.total > 0)
    errs() << "/" << progress.total;
  if (progress.stage == "calibrating") {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count() +
        1e-9;
    errs() << " samples, " << format("%.1f samples/s", progress.done / seconds);
  }
  errs() << (progress.finished ? "\n" : "");
  errs().flush();
}

int fail(const compiler::Error &error) {
  errs() << error.describe();
  return 1;
}

int fail(const Twine &message) {
  errs() << "error: " << message << "\n";
  return 1;
}

/// The per-layer table people read.
void printTable(const compiler::Report &report) {
  outs() << "qcc quantize: " << report.model << ", scheme " << report.scheme
         << ", method " << report.method << "\n";
  outs() << left_justify("layer", 28) << left_justify("format", 10)
         << left_justify("scales", 9) << left_justify("algorithm", 18)
         << left_justify("activations", 16) << right_justify("bytes", 10)
         << right_justify("SQNR dB", 9) << "\n";
  for (const compiler::LayerReport &layer : report.layers) {
    outs() << left_justify(layer.name, 27) << " "
           << left_justify(layer.format, 10)
           << left_justify(layer.granularity, 9)
           << left_justify(layer.algorithm, 18)
           << left_justify(layer.activations, 16)
           << right_justify(std::to_string(layer.bytes), 10);
    if (layer.sqnrDb)
      outs() << format("%9.2f", *layer.sqnrDb);
    outs() << "\n";
  }
  outs() << "weights: " << report.bytesFp32 << " -> " << report.bytesQuantized
         << " bytes ("
         << format("%.2fx smaller",
                   report.bytesQuantized
                       ? double(report.bytesFp32) / report.bytesQuantized
                       : 0.0)
         << ")\n";
  for (const compiler::ModelMetric &metric : report.metrics)
    outs() << metric.name << ": " << format("%.6g", metric.value) << "\n";
}

} // namespace

void qcc::printWarnings(const std::vector<compiler::Diagnostic> &warnings) {
  for (const compiler::Diagnostic &w : warnings)
    errs() << w.severity << ": "
           << (w.location.empty() ? "" : w.location + ": ") << w.message
           << "\n";
}

int qcc::runCompile() {
  StringRef out(outputPath);
  if (StringRef(modelPath).ends_with(".mlir"))
    return compileMlirFile(modelPath, outputPath);
  if (!out.ends_with(".qpkg") && emittingPackage())
    return fail("-o must end in .qpkg, got '" + outputPath + "'");
  return runQuantize();
}

int qcc::runQuantize() {
  compiler::QuantizeOptions options;
  options.scheme = scheme;
  options.method = method;
  options.groupSize = groupSize;
  options.sizeBudget = sizeBudget;
  options.maxError = maxError;
  options.activations = activations;
  options.calibMethod = calibMethod;
  options.percentile = percentile;
  options.maxCalibSamples = maxCalibSamples;
  options.holdout = holdout;
  options.sensitivitySamples = sensitivitySamples;
  options.alpha = alpha;
  options.actOrder = actOrder;
  options.asymmetricWeights = asymmetricWeights;
  options.alsoQuantize.assign(alsoQuantize.begin(), alsoQuantize.end());
  options.noMatMulNBits = noMatMulNBits;
  options.saveStats = saveStatsPath;
  options.loadStats = loadStatsPath;
  if (!quiet)
    options.progress = printProgress;
  options.message = [](const std::string &line) {
    outs() << line << "\n";
    outs().flush();
  };
  StringRef out(outputPath);
  if (!compileCommand() && !out.ends_with(".onnx") && !out.ends_with(".mlir") &&
      out != "-")
    return fail("-o must end in .mlir or .onnx, got '" + outputPath + "'");

  compiler::ImportOptions importOptions;
  for (const std::string &spec : inputShapes)
    if (compiler::Status s =
            compiler::setOption(importOptions, "input-shape", spec);
        !s)
      return fail(s.error());
  compiler::Result<compiler::Model> model =
      compiler::Model::importOnnx(modelPath, importOptions);
  if (!model)
    return fail(model.error());
  printWarnings(model->warnings());
  compiler::SampleSet calibration, evaluation;
  calibration.files = calibData;
  evaluation.files = evalData;
  compiler::Result<compiler::Model> quantized =
      model->quantize(calibration, options, evaluation);
  if (!quantized)
    return fail(quantized.error());
  printWarnings(quantized->warnings());
  const compiler::Report &report = *quantized->report();
  printTable(report);

  // Outputs: the model (or its compiled package), then the report.
  const std::string reportFile = reportPath; // compiling resets the options
  if (compileCommand()) {
    if (int rc = compileAndWrite(*quantized, outputPath))
      return rc;
  } else if (compiler::Status saved = quantized->save(outputPath); !saved) {
    return fail(saved.error());
  }
  if (!reportFile.empty()) {
    SmallString<128> html(reportFile);
    sys::path::replace_extension(html, ".html");
    std::string error;
    if (!tools::writeOutputAtomically(
            reportFile,
            [&](raw_ostream &os) {
              os << compiler::reportToJson(report);
              return true;
            },
            error) ||
        !tools::writeOutputAtomically(
            html,
            [&](raw_ostream &os) {
              os << compiler::reportToHtml(report);
              return true;
            },
            error))
      return fail(error);
    outs() << "report: " << reportFile << " and " << html << "\n";
  }
  return 0;
}
