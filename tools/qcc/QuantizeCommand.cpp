// `qcc quantize`: import, prepare, calibrate, quantize weights and
// activations (or assign precision per layer), measure what it cost, and
// write MLIR or a QDQ ONNX model plus the report. Each step is a qg pass
// that qopt can run alone; this file only chooses and chains them.
#include "tools/qcc/Commands.h"

#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGElements.h"
#include "dialects/qg/QGOps.h"
#include "importers/data/SampleReader.h"
#include "importers/onnx/OnnxImporter.h"
#include "importers/onnx/QdqExport.h"
#include "passes/QuantSites.h"
#include "passes/Registration.h"
#include "passes/algorithms/PrecisionAssignment.h"
#include "passes/algorithms/QuantReport.h"
#include "tools/common/ToolSupport.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

#include <chrono>
#include <cmath>

using namespace llvm;
using namespace qcc;

cl::SubCommand qcc::quantizeCommand(
    "quantize", "Calibrate and quantize an ONNX model (MLIR or QDQ ONNX out)");

namespace {
cl::OptionCategory category("qcc quantize options");
cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.onnx> (compile: or <model.mlir>)"),
                               cl::Required, cl::sub(quantizeCommand), cl::sub(compileCommand()));
cl::opt<std::string> outputPath(
    "o",
    cl::desc("Output: a .mlir file (qg IR) or a .onnx file (QDQ model that "
             "ONNX Runtime runs); for compile, a .qpkg package"),
    cl::value_desc("file"), cl::Required, cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string> calibData(
    "calib",
    cl::desc("Calibration samples: a directory, file or comma-separated list "
             "of .npy/.npz/.pb files or ONNX test_data_set_* directories"),
    cl::value_desc("dir"), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> scheme(
    "scheme",
    cl::desc("int8 (i8 per-channel weights, u8 static activations), w8a8 "
             "(i8 weights and i8 symmetric activations), w4a16 (i4 weights "
             "in groups, float activations), nf4 (NF4 weights in groups), "
             "mixed (per-layer i8/i4/f32 under --size-budget or --max-error)"),
    cl::init("int8"), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> method(
    "method",
    cl::desc("Weight algorithm: rtn, gptq, awq or smoothquant (default: rtn; "
             "smoothquant for w8a8)"),
    cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<int64_t> groupSize(
    "group-size",
    cl::desc("Weights per scale along the reduction dimension for w4a16, nf4 "
             "and the 4-bit candidate of mixed (default 128; 64 for nf4)"),
    cl::init(0), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> sizeBudget(
    "size-budget",
    cl::desc("mixed: largest total weight size, in bytes (400000, 350kB, "
             "1.5MB) or average bits per weight (4.5bits)"),
    cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<double> maxError(
    "max-error",
    cl::desc("mixed: largest summed output MSE of the per-layer choices; "
             "the smallest model within it is chosen"),
    cl::init(-1), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> activations(
    "activations",
    cl::desc("int8/w8a8 activation ranges: static (from calibration), "
             "dynamic (measured at run time, u8 per tensor) or dynamic-row "
             "(u8, one range per row; no ONNX form, so .mlir output only)"),
    cl::init("static"), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> calibMethod(
    "calib-method",
    cl::desc("Activation range method: minmax, percentile, entropy or mse"),
    cl::init("minmax"), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<double> percentile("percentile",
                           cl::desc("Percentile for --calib-method=percentile"),
                           cl::init(99.99), cl::sub(quantizeCommand), cl::sub(compileCommand()),
                           cl::cat(category));
cl::opt<int64_t> maxCalibSamples(
    "max-calib-samples",
    cl::desc("Calibrate on at most this many samples (0: all but the "
             "held-out ones)"),
    cl::init(0), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<int64_t> holdout(
    "holdout",
    cl::desc("Samples at the end of --calib kept out of calibration and used "
             "to measure the report's errors (default: a fifth, at most 32)"),
    cl::init(-1), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string>
    evalData("eval",
             cl::desc("Measure the report's errors on these samples instead of "
                      "held-out calibration samples"),
             cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<int64_t> sensitivitySamples(
    "sensitivity-samples",
    cl::desc("mixed: samples used to measure each layer's sensitivity"),
    cl::init(8), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<double> alpha("alpha", cl::desc("SmoothQuant migration strength"),
                      cl::init(0.5), cl::sub(quantizeCommand), cl::sub(compileCommand()),
                      cl::cat(category));
cl::opt<bool> actOrder("act-order",
                       cl::desc("GPTQ: quantize features by decreasing "
                                "Hessian diagonal"),
                       cl::init(false), cl::sub(quantizeCommand), cl::sub(compileCommand()),
                       cl::cat(category));
cl::opt<std::string> reportPath(
    "report",
    cl::desc("Write the report as JSON here, and as HTML beside it (.html)"),
    cl::value_desc("file.json"), cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()),
    cl::cat(category));
cl::opt<std::string>
    saveStatsPath("save-stats",
                  cl::desc("Keep the calibration statistics in this file"),
                  cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<std::string> loadStatsPath(
    "load-stats",
    cl::desc("Reuse statistics saved by --save-stats (or qg-calibrate) "
             "instead of calibrating"),
    cl::init(""), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Fix an input's shape, e.g. --input-shape input=1x1x28x28 "
             "(repeatable; needed for symbolic dimensions)"),
    cl::value_desc("name=shape"), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<bool> noMatMulNBits(
    "no-matmulnbits",
    cl::desc("ONNX output: write 4-bit MatMul weights as blocked "
             "DequantizeLinear instead of com.microsoft MatMulNBits"),
    cl::init(false), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<bool> asymmetricWeights(
    "asymmetric-weights",
    cl::desc("Integer weights get a zero point and their own [min, max] "
             "range instead of a symmetric one (not for nf4)"),
    cl::init(false), cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::list<std::string> alsoQuantize(
    "also-quantize",
    cl::desc("Also put activation Q/DQ on the inputs of these ops, which stay "
             "float by default (e.g. --also-quantize=softmax,layer_norm)"),
    cl::CommaSeparated, cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));
cl::opt<bool> quiet("quiet", cl::desc("No progress output"), cl::init(false),
                    cl::sub(quantizeCommand), cl::sub(compileCommand()), cl::cat(category));

/// What a scheme means in pass options.
struct SchemeConfig {
  std::string weightFormat; // i8, i4, nf4
  std::string granularity;  // channel, block
  int64_t blockSize = 0;
  bool staticActivations = false; // Q/DQ from calibration
  bool dynamicActivations = false;
  std::string activationFormat = "u8";
  bool activationSymmetric = false;
  std::string method = "rtn";
  bool mixed = false;
};

/// Temporary files removed when the command ends, whatever the outcome.
struct TempFiles {
  std::vector<std::string> paths;
  ~TempFiles() {
    for (const std::string &path : paths)
      sys::fs::remove(path);
  }
  bool make(StringRef prefix, StringRef suffix, std::string &path) {
    SmallString<128> result;
    if (sys::fs::createTemporaryFile(prefix, suffix, result))
      return false;
    path = result.str().str();
    paths.push_back(path);
    return true;
  }
};

int fail(const Twine &message) {
  errs() << "error: " << message << "\n";
  return 1;
}

/// Runs a textual pass pipeline on the module.
LogicalResult runPipeline(mlir::ModuleOp module, const std::string &pipeline) {
  mlir::PassManager pm(module.getContext());
  std::string error;
  raw_string_ostream errorStream(error);
  if (failed(mlir::parsePassPipeline(pipeline, pm, errorStream))) {
    errs() << "error: internal pipeline '" << pipeline << "': " << error
           << "\n";
    return failure();
  }
  return pm.run(module);
}

std::string quoted(StringRef value) { return "\"" + value.str() + "\""; }

/// Bytes a constant takes: packed codes plus scale and zero-point tables for
/// quantized ones, the element size otherwise.
int64_t constantBytes(qg::ConstantOp constant) {
  auto type = cast<mlir::RankedTensorType>(constant.getType());
  const int64_t count = type.getNumElements();
  if (auto quant = dyn_cast<qg::QuantType>(type.getElementType()))
    return rt::quantizedBytes(count, quant.getFormat(),
                              quant.getScales().getNumElements(),
                              static_cast<bool>(quant.getZeroPoints()));
  return (count * type.getElementTypeBitWidth() + 7) / 8;
}

int64_t modelBytes(mlir::ModuleOp module) {
  int64_t total = 0;
  module.walk([&](qg::ConstantOp c) { total += constantBytes(c); });
  return total;
}

/// The ONNX node names a location carries (several after fusion).
void collectNodeNames(mlir::Location loc, std::vector<std::string> &names) {
  if (auto name = dyn_cast<mlir::NameLoc>(loc)) {
    names.push_back(name.getName().str());
    return;
  }
  if (auto fused = dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location inner : fused.getLocations())
      collectNodeNames(inner, names);
}

/// The quantized constant behind a layer's weight, if any.
qg::ConstantOp quantizedWeight(mlir::Operation *layer) {
  std::optional<qg::WeightSite> site = qg::findWeight(layer);
  if (!site)
    return nullptr;
  auto dequantize = site->operand->get().getDefiningOp<qg::DequantizeOp>();
  if (!dequantize)
    return nullptr;
  auto constant = dequantize.getInput().getDefiningOp<qg::ConstantOp>();
  if (!constant || !isa<qg::QuantType>(constant.getType().getElementType()))
    return nullptr;
  return constant;
}

std::string granularityText(qg::QuantType quant) {
  if (quant.isPerBlock())
    return "g" + std::to_string(quant.getBlockSize());
  return quant.isPerAxis() ? "channel" : "tensor";
}

std::string activationText(mlir::Operation *layer) {
  std::optional<qg::ActivationSite> site = qg::findActivation(layer);
  mlir::Value x = site->operand->get();
  if (auto dequantize = x.getDefiningOp<qg::DequantizeOp>()) {
    auto quant = cast<qg::QuantType>(
        cast<mlir::RankedTensorType>(dequantize.getInput().getType())
            .getElementType());
    return std::string(rt::formatName(quant.getFormat())) + " static";
  }
  if (qg::DynamicQuantizeOp dq = qg::dynamicQuantizeProducing(x))
    return dq.getPerRow() ? "u8 dynamic/row" : "u8 dynamic";
  return "f32";
}

/// Signal and noise power accumulated over samples.
struct ErrorAccumulator {
  double signal = 0, noise = 0;
  int64_t count = 0;
  void add(ArrayRef<double> reference, ArrayRef<double> approx) {
    for (size_t i = 0; i < reference.size() && i < approx.size(); ++i) {
      signal += reference[i] * reference[i];
      const double d = reference[i] - approx[i];
      noise += d * d;
    }
    count += static_cast<int64_t>(reference.size());
  }
  double mse() const { return count ? noise / count : 0; }
  double sqnrDb() const {
    if (noise == 0)
      return std::numeric_limits<double>::infinity();
    return 10 * std::log10(signal / noise);
  }
};

/// Outputs of the layers (by name) and of the function for one sample.
struct Trace {
  std::map<std::string, std::vector<double>> layers;
  std::vector<ref::Tensor> outputs;
};

mlir::FailureOr<Trace> traceRun(mlir::func::FuncOp function,
                                ArrayRef<ref::Tensor> sample) {
  Trace trace;
  ref::RunOptions options;
  options.afterOp = [&](mlir::Operation *op, ArrayRef<ref::Tensor> results) {
    if (qg::findWeight(op))
      trace.layers[qg::describeLocation(op->getLoc())] = results.front().data;
  };
  mlir::FailureOr<std::vector<ref::Tensor>> outputs =
      ref::run(function, sample, options);
  if (failed(outputs))
    return mlir::failure();
  trace.outputs = std::move(*outputs);
  return trace;
}

/// Reads samples [skip, skip + count) of `spec`.
bool readSamples(const std::string &spec, mlir::func::FuncOp function,
                 int64_t skip, int64_t count,
                 std::vector<std::vector<ref::Tensor>> &samples,
                 std::string &error) {
  data::SampleReader reader;
  if (!reader.open(spec, function, error))
    return false;
  std::vector<ref::Tensor> sample;
  for (int64_t i = 0; i < skip + count && reader.next(sample, error); ++i)
    if (i >= skip)
      samples.push_back(sample);
  return error.empty();
}

int64_t countSamples(const std::string &spec, mlir::func::FuncOp function,
                     std::string &error) {
  data::SampleReader reader;
  if (!reader.open(spec, function, error))
    return -1;
  int64_t count = 0;
  std::vector<ref::Tensor> sample;
  while (reader.next(sample, error))
    ++count;
  return error.empty() ? count : -1;
}

/// Model-level comparison of outputs.
struct OutputComparison {
  ErrorAccumulator error;
  int64_t argmaxSame = 0, argmaxTotal = 0;
  double cosineSum = 0;
  int64_t cosineCount = 0;

  void add(const std::vector<ref::Tensor> &reference,
           const std::vector<ref::Tensor> &approx) {
    for (size_t o = 0; o < reference.size() && o < approx.size(); ++o) {
      const std::vector<double> &r = reference[o].data, &a = approx[o].data;
      error.add(r, a);
      double dot = 0, nr = 0, na = 0;
      for (size_t i = 0; i < r.size(); ++i) {
        dot += r[i] * a[i];
        nr += r[i] * r[i];
        na += a[i] * a[i];
      }
      if (nr > 0 && na > 0) {
        cosineSum += dot / std::sqrt(nr * na);
        ++cosineCount;
      }
      // Argmax along the last dimension, row by row.
      const int64_t width =
          reference[o].shape.empty() ? 1 : reference[o].shape.back();
      if (width < 2)
        continue;
      for (size_t row = 0; row + width <= r.size(); row += width) {
        auto best = [&](const std::vector<double> &v) {
          return std::max_element(v.begin() + row, v.begin() + row + width) -
                 v.begin();
        };
        argmaxSame += best(r) == best(a);
        ++argmaxTotal;
      }
    }
  }
};

void progressLine(StringRef what, int64_t done, int64_t total) {
  if (quiet)
    return;
  errs() << "\r" << what << " " << done << "/" << total
         << (done == total ? "\n" : "");
  errs().flush();
}

/// Parses --size-budget against the model's total weight count.
std::optional<int64_t> parseBudget(StringRef text, int64_t weightCount) {
  text = text.trim();
  double scale = 1;
  bool bits = false;
  if (text.consume_back_insensitive("bits"))
    bits = true;
  else if (text.consume_back_insensitive("kb"))
    scale = 1e3;
  else if (text.consume_back_insensitive("mb"))
    scale = 1e6;
  else if (text.consume_back_insensitive("gb"))
    scale = 1e9;
  else
    text.consume_back_insensitive("b");
  double value;
  if (text.trim().getAsDouble(value) || !(value > 0))
    return std::nullopt;
  if (bits)
    return static_cast<int64_t>(value * weightCount / 8);
  return static_cast<int64_t>(value * scale);
}

} // namespace

namespace {

/// Everything the mixed-precision search decided, for the report.
struct MixedResult {
  std::vector<qg::FrontierPoint> frontier;
};

/// Measures each layer's sensitivity to each candidate format on a few
/// samples and quantizes every layer to the assignment the budget allows.
LogicalResult
assignPrecision(mlir::ModuleOp module, mlir::func::FuncOp function,
                const std::vector<std::vector<ref::Tensor>> &samples,
                int64_t group, MixedResult &mixed) {
  struct LayerInfo {
    std::string name;
    int64_t elements, outChannels, reduction;
  };
  std::vector<LayerInfo> layers;
  function.walk([&](mlir::Operation *op) {
    std::optional<qg::WeightSite> site = qg::findWeight(op);
    if (!site || !qg::isLayer(op))
      return;
    auto type = cast<mlir::RankedTensorType>(site->operand->get().getType());
    const int64_t channels =
        site->channelAxis >= 0 ? type.getDimSize(site->channelAxis) : 1;
    layers.push_back({qg::describeLocation(op->getLoc()), type.getNumElements(),
                      channels, type.getDimSize(site->reductionAxis)});
  });
  if (layers.empty())
    return mlir::emitError(function.getLoc(), "no layers to quantize");

  // Reference outputs once.
  std::vector<std::vector<ref::Tensor>> reference;
  for (const auto &sample : samples) {
    mlir::FailureOr<std::vector<ref::Tensor>> out = ref::run(function, sample);
    if (failed(out))
      return mlir::failure();
    reference.push_back(std::move(*out));
  }

  struct Candidate {
    std::string label, pipeline;
    rt::Format format;
    int64_t groupSize; // 0: one scale per output channel
  };
  const std::vector<Candidate> candidates = {
      {"i8/channel", "format=i8 granularity=channel", rt::Format::I8, 0},
      {"i4/g" + std::to_string(group),
       "format=i4 granularity=block block-size=" + std::to_string(group),
       rt::Format::I4, group},
  };
  std::vector<qg::LayerCandidates> problem;
  int64_t step = 0;
  const int64_t steps = static_cast<int64_t>(layers.size() * candidates.size());
  for (const LayerInfo &layer : layers) {
    qg::LayerCandidates entry;
    entry.layer = layer.name;
    entry.candidates.push_back({"f32", 4 * layer.elements, 0.0});
    for (const Candidate &candidate : candidates) {
      progressLine("measuring layer sensitivity", ++step, steps);
      if (candidate.groupSize > 0 && layer.reduction % candidate.groupSize != 0)
        continue;
      mlir::OwningOpRef<mlir::ModuleOp> trial = module.clone();
      if (failed(
              runPipeline(*trial, "qg-quantize-weights{" + candidate.pipeline +
                                      " layers=" + quoted(layer.name) + "}")))
        return mlir::failure();
      auto trialFunction = qg::findEntryFunction(*trial, "qcc quantize");
      ErrorAccumulator error;
      for (size_t s = 0; s < samples.size(); ++s) {
        mlir::FailureOr<std::vector<ref::Tensor>> out =
            ref::run(trialFunction, samples[s]);
        if (failed(out))
          return mlir::failure();
        for (size_t o = 0; o < out->size(); ++o)
          error.add(reference[s][o].data, (*out)[o].data);
      }
      const int64_t scales = candidate.groupSize > 0
                                 ? layer.elements / candidate.groupSize
                                 : layer.outChannels;
      entry.candidates.push_back(
          {candidate.label,
           rt::quantizedBytes(layer.elements, candidate.format, scales,
                              /*hasZeroPoints=*/false),
           error.mse()});
    }
    problem.push_back(std::move(entry));
  }

  int64_t weightCount = 0;
  for (const LayerInfo &layer : layers)
    weightCount += layer.elements;
  std::optional<qg::Assignment> chosen;
  if (!sizeBudget.empty()) {
    std::optional<int64_t> budget = parseBudget(sizeBudget, weightCount);
    if (!budget)
      return mlir::emitError(function.getLoc(),
                             "--size-budget: expected bytes (400000, 350kB, "
                             "1.5MB) or bits per weight (4.5bits), got '")
             << sizeBudget << "'";
    chosen = qg::assignUnderSize(problem, *budget);
    if (!chosen)
      return mlir::emitError(function.getLoc(), "--size-budget ")
             << sizeBudget << " (" << *budget
             << " bytes) is below the smallest possible weight size";
  } else {
    chosen = qg::assignUnderError(problem, maxError);
    if (!chosen)
      return mlir::emitError(function.getLoc(), "--max-error ")
             << maxError << " cannot be met even with all layers in f32";
  }
  for (const qg::Assignment &point : qg::sizeErrorFrontier(problem))
    mixed.frontier.push_back(
        {point.bytes, point.error, point.choice == chosen->choice});
  bool chosenOnFrontier = llvm::any_of(
      mixed.frontier, [](const qg::FrontierPoint &p) { return p.chosen; });
  if (!chosenOnFrontier)
    mixed.frontier.push_back({chosen->bytes, chosen->error, true});

  // Apply: one qg-quantize-weights run per candidate format.
  outs() << "mixed precision: " << chosen->bytes << " bytes, summed output "
         << "MSE " << format("%.3e", chosen->error) << "\n";
  for (size_t c = 0; c < candidates.size(); ++c) {
    std::vector<std::string> names;
    for (size_t l = 0; l < problem.size(); ++l) {
      const qg::PrecisionCandidate &pick =
          problem[l].candidates[chosen->choice[l]];
      if (pick.label == candidates[c].label)
        names.push_back(quoted(problem[l].layer));
    }
    if (names.empty())
      continue;
    if (failed(runPipeline(module,
                           "qg-quantize-weights{" + candidates[c].pipeline +
                               " layers=" + llvm::join(names, ",") + "}")))
      return mlir::failure();
  }
  for (size_t l = 0; l < problem.size(); ++l)
    outs() << "  " << left_justify(problem[l].layer, 28) << " "
           << problem[l].candidates[chosen->choice[l]].label << "\n";
  return mlir::success();
}

/// The QDQ plan that reproduces the quantized module on the original ONNX
/// model, found through the node names the locations carry.
LogicalResult buildQdqPlan(mlir::func::FuncOp function, onnx::QdqPlan &plan) {
  auto nodeOf = [](mlir::Operation *op) {
    std::vector<std::string> names;
    collectNodeNames(op->getLoc(), names);
    return names;
  };
  bool ok = true;
  function.walk([&](mlir::Operation *op) {
    if (!ok)
      return;
    std::vector<std::string> names = nodeOf(op);
    if (auto norm = dyn_cast<qg::LayerNormOp>(op)) {
      // Scales folded in by SmoothQuant or AWQ: write gamma and beta back.
      for (unsigned i = 1; i < op->getNumOperands() && !names.empty(); ++i) {
        auto constant = op->getOperand(i).getDefiningOp<qg::ConstantOp>();
        if (!constant)
          continue;
        mlir::FailureOr<SmallVector<float>> values =
            qg::readFloats(constant.getValue());
        if (failed(values))
          continue;
        auto shape = constant.getType().getShape();
        plan.floats.push_back(
            {{names.front(), static_cast<int>(i)},
             std::vector<int64_t>(shape.begin(), shape.end()),
             std::vector<float>(values->begin(), values->end())});
      }
      return;
    }
    if (!qg::findWeight(op) || names.empty())
      return;
    const std::string node = names.front();
    // A batch norm folded into this op leaves its node behind in ONNX.
    for (size_t i = 1; i < names.size(); ++i)
      plan.removedNodes.push_back(names[i]);
    if (qg::ConstantOp weight = quantizedWeight(op)) {
      auto quant = cast<qg::QuantType>(weight.getType().getElementType());
      mlir::FailureOr<rt::QuantParams> params = quant.getParams();
      mlir::FailureOr<SmallVector<int32_t>> codes =
          qg::readCodes(weight.getValue());
      if (failed(params) || failed(codes)) {
        op->emitError("cannot read the quantized weight for export");
        ok = false;
        return;
      }
      auto shape = weight.getType().getShape();
      plan.weights.push_back(
          {{node, 1},
           std::vector<int64_t>(shape.begin(), shape.end()),
           *params,
           std::vector<int32_t>(codes->begin(), codes->end()),
           !noMatMulNBits});
    } else if (names.size() > 1 ||
               op->getOperand(1).getDefiningOp<qg::ConstantOp>()) {
      // A float weight that a folded batch norm or a scale search changed.
      if (auto constant = op->getOperand(1).getDefiningOp<qg::ConstantOp>()) {
        mlir::FailureOr<SmallVector<float>> values =
            qg::readFloats(constant.getValue());
        auto shape = constant.getType().getShape();
        if (succeeded(values))
          plan.floats.push_back(
              {{node, 1},
               std::vector<int64_t>(shape.begin(), shape.end()),
               std::vector<float>(values->begin(), values->end())});
      }
    }
    if (names.size() > 1 && op->getNumOperands() > 2)
      if (auto bias = op->getOperand(2).getDefiningOp<qg::ConstantOp>()) {
        mlir::FailureOr<SmallVector<float>> values =
            qg::readFloats(bias.getValue());
        auto shape = bias.getType().getShape();
        if (succeeded(values))
          plan.floats.push_back(
              {{node, 2},
               std::vector<int64_t>(shape.begin(), shape.end()),
               std::vector<float>(values->begin(), values->end())});
      }

    // The activation: Q/DQ, dynamic, and an inserted scale.
    mlir::Value x = qg::findActivation(op)->operand->get();
    if (auto dequantize = x.getDefiningOp<qg::DequantizeOp>()) {
      auto quantize = dequantize.getInput().getDefiningOp<qg::QuantizeOp>();
      auto quant = cast<qg::QuantType>(
          cast<mlir::RankedTensorType>(dequantize.getInput().getType())
              .getElementType());
      mlir::FailureOr<rt::QuantParams> params = quant.getParams();
      if (quantize && succeeded(params) && quant.isPerTensor()) {
        plan.activations.push_back({{node, 0},
                                    quant.getFormat(),
                                    params->scales.front(),
                                    params->zeroPoint(0)});
        x = quantize.getInput();
      }
    } else if (qg::DynamicQuantizeOp dq = qg::dynamicQuantizeProducing(x)) {
      if (dq.getPerRow()) {
        op->emitError("per-row dynamic activations have no ONNX form; write "
                      "the result as .mlir, or use --activations=dynamic");
        ok = false;
        return;
      }
      plan.dynamicActivations.push_back({{node, 0}});
      x = dq.getInput();
    }
    if (qg::MulOp scale = qg::inputScaleProducing(x)) {
      auto factors = scale.getRhs().getDefiningOp<qg::ConstantOp>();
      mlir::FailureOr<SmallVector<float>> values =
          qg::readFloats(factors.getValue());
      if (succeeded(values))
        plan.inputScales.push_back(
            {{node, 0}, std::vector<float>(values->begin(), values->end())});
    }
  });
  return mlir::success(ok);
}

} // namespace

int qcc::runCompile() {
  if (StringRef(modelPath).ends_with(".mlir"))
    return compileMlirFile(modelPath, outputPath);
  return runQuantize();
}

int qcc::runQuantize() {
  // Scheme, method and their defaults.
  SchemeConfig config;
  if (scheme == "int8") {
    config = {"i8", "channel", 0, true, false, "u8", false, "rtn", false};
  } else if (scheme == "w8a8") {
    config = {"i8", "channel",     0,    true, false, "i8",
              true, "smoothquant", false};
  } else if (scheme == "w4a16") {
    config = {"i4", "block", 128, false, false, "u8", false, "rtn", false};
  } else if (scheme == "nf4") {
    config = {"nf4", "block", 64, false, false, "u8", false, "rtn", false};
  } else if (scheme == "mixed") {
    config = {"i8", "channel", 128, false, false, "u8", false, "rtn", true};
  } else {
    return fail("--scheme must be int8, w8a8, w4a16, nf4 or mixed, got '" +
                scheme + "'");
  }
  if (!method.empty())
    config.method = method;
  if (config.method != "rtn" && config.method != "gptq" &&
      config.method != "awq" && config.method != "smoothquant")
    return fail("--method must be rtn, gptq, awq or smoothquant, got '" +
                config.method + "'");
  if (config.method == "smoothquant" && !config.staticActivations)
    return fail("--method=smoothquant balances weights against quantized "
                "activations; use it with --scheme=int8 or w8a8");
  if (asymmetricWeights && config.weightFormat == "nf4")
    return fail("--asymmetric-weights: nf4 scales by the block absmax and has "
                "no zero point");
  if (!alsoQuantize.empty() && !config.staticActivations &&
      !config.dynamicActivations)
    return fail("--also-quantize needs quantized activations (--scheme=int8 "
                "or w8a8)");
  if (config.mixed && config.method != "rtn")
    return fail("--scheme=mixed uses RTN for its candidates; drop --method");
  if (groupSize < 0)
    return fail("--group-size must be positive");
  if (groupSize > 0)
    config.blockSize = groupSize;
  if (activations != "static" && activations != "dynamic" &&
      activations != "dynamic-row")
    return fail("--activations must be static, dynamic or dynamic-row");
  if (activations != "static" && config.staticActivations) {
    config.staticActivations = false;
    config.dynamicActivations = true;
    if (config.method == "smoothquant")
      return fail("--method=smoothquant needs static activations");
  }
  if (config.mixed == (sizeBudget.empty() && maxError < 0))
    return fail(config.mixed
                    ? "--scheme=mixed needs --size-budget or --max-error"
                    : "--size-budget and --max-error apply to --scheme=mixed");
  StringRef out(outputPath);
  const bool toOnnx = out.ends_with(".onnx");
  if (!compileCommand() && !toOnnx && !out.ends_with(".mlir") && out != "-")
    return fail("-o must end in .mlir or .onnx, got '" + outputPath + "'");
  for (StringRef path : {StringRef(calibData), StringRef(evalData),
                         StringRef(saveStatsPath), StringRef(loadStatsPath)})
    if (path.contains('"') || path.contains('}'))
      return fail("paths may not contain '\"' or '}': " + path);
  const bool needsGram = config.method == "gptq" || config.method == "awq";
  const bool needsStats =
      config.staticActivations || needsGram || config.method == "smoothquant";
  if (calibData.empty() && (needsStats || config.mixed) &&
      loadStatsPath.empty())
    return fail("--scheme=" + scheme + " --method=" + config.method +
                " needs calibration samples (--calib DIR)");

  // Import and prepare.
  onnx::ImportOptions importOptions;
  for (const std::string &spec : inputShapes) {
    auto [name, shapeText] = StringRef(spec).split('=');
    std::vector<int64_t> shape;
    if (name.empty() || !tools::parseShape(shapeText, shape))
      return fail("--input-shape '" + spec +
                  "': expected name=DIMxDIMx..., e.g. input=1x3x224x224");
    importOptions.inputShapes[name.str()] = shape;
  }
  onnx::Result<onnx::Model> model = onnx::loadModel(modelPath);
  if (!model)
    return fail(model.error().message);
  mlir::DialectRegistry registry;
  registerDialects(registry);
  mlir::MLIRContext context(registry);
  tools::DiagnosticPrinter printer(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      onnx::importModel(*model, context, importOptions);
  if (!module)
    return 1;
  {
    mlir::PassManager pm(&context);
    buildPreparePipeline(pm);
    if (failed(pm.run(*module)))
      return 1;
  }
  mlir::func::FuncOp function = qg::findEntryFunction(*module, "qcc quantize");
  if (!function)
    return 1;
  mlir::OwningOpRef<mlir::ModuleOp> floatModule = module->clone();

  // Which samples calibrate and which measure.
  std::string error;
  int64_t total = 0, calibrated = 0, held = 0;
  if (!calibData.empty()) {
    total = countSamples(calibData, function, error);
    if (total < 0)
      return fail(error);
    if (total == 0)
      return fail("'" + calibData + "' holds no samples");
    held = evalData.empty()
               ? (holdout >= 0 ? std::min<int64_t>(holdout, total - 1)
                               : std::min<int64_t>(32, total / 5))
               : 0;
    calibrated = total - held;
    if (maxCalibSamples > 0)
      calibrated = std::min<int64_t>(calibrated, maxCalibSamples);
    if (!quiet)
      errs() << "qcc quantize: " << total << " samples in '" << calibData
             << "': " << calibrated << " for calibration, " << held
             << " held out for the report\n";
  }

  TempFiles temps;
  std::string statsPath = loadStatsPath;
  auto calibrate = [&](bool gram) -> LogicalResult {
    if (statsPath.empty() || statsPath == loadStatsPath) {
      if (!saveStatsPath.empty())
        statsPath = saveStatsPath;
      else if (!temps.make("qcc-stats", "bin", statsPath))
        return mlir::emitError(function.getLoc(), "cannot create a temp file");
    }
    return runPipeline(*module,
                       "qg-calibrate{data=" + quoted(calibData) +
                           " save=" + quoted(statsPath) +
                           " max-samples=" + std::to_string(calibrated) +
                           (gram ? " gram=true" : "") +
                           (quiet ? " progress=false" : "") + "}");
  };
  if (needsStats && loadStatsPath.empty() && failed(calibrate(needsGram)))
    return 1;

  MixedResult mixed;
  if (config.method == "smoothquant") {
    if (failed(
            runPipeline(*module, "qg-smooth-quant{stats=" + quoted(statsPath) +
                                     " alpha=" + std::to_string(alpha) + "}")))
      return 1;
    // Ranges change once activations are divided by the scales.
    std::string smoothed;
    if (!temps.make("qcc-stats-smoothed", "bin", smoothed))
      return fail("cannot create a temporary file");
    statsPath = smoothed;
    if (failed(runPipeline(*module,
                           "qg-calibrate{data=" + quoted(calibData) +
                               " save=" + quoted(statsPath) +
                               " max-samples=" + std::to_string(calibrated) +
                               (quiet ? " progress=false" : "") + "}")))
      return 1;
  }
  if (config.mixed) {
    std::vector<std::vector<ref::Tensor>> samples;
    if (!readSamples(calibData, function, 0,
                     std::min<int64_t>(sensitivitySamples, calibrated), samples,
                     error))
      return fail(error);
    if (failed(assignPrecision(*module, function, samples, config.blockSize,
                               mixed)))
      return 1;
  } else {
    std::string weights =
        "qg-quantize-weights{format=" + config.weightFormat +
        " granularity=" + config.granularity +
        (config.granularity == "block"
             ? " block-size=" + std::to_string(config.blockSize)
             : std::string()) +
        " algorithm=" +
        (config.method == "smoothquant" ? std::string("rtn") : config.method) +
        (needsStats ? " stats=" + quoted(statsPath) : std::string()) +
        (asymmetricWeights ? " symmetric=false" : "") +
        (actOrder ? " act-order=true" : "") + "}";
    if (failed(runPipeline(*module, weights)))
      return 1;
  }
  if (config.staticActivations || config.dynamicActivations) {
    std::string pipeline =
        "qg-quantize-activations{mode=" +
        std::string(config.dynamicActivations ? "dynamic" : "static") +
        (config.staticActivations ? " stats=" + quoted(statsPath) : "") +
        " method=" + calibMethod.getValue() +
        " percentile=" + std::to_string(percentile) +
        " format=" + config.activationFormat +
        (config.activationSymmetric ? " symmetric=true" : "") +
        (activations == "dynamic-row" ? " per-row=true" : "") +
        (alsoQuantize.empty() ? std::string()
                              : " also=" + llvm::join(alsoQuantize, ",")) +
        "}";
    if (failed(runPipeline(*module, pipeline)))
      return 1;
  }
  if (failed(runPipeline(*module, "canonicalize")))
    return 1;
  function = qg::findEntryFunction(*module, "qcc quantize");

  // Measure: each layer's output and the model's outputs against FP32.
  qg::QuantReport report;
  report.model = modelPath;
  report.scheme = scheme;
  report.method = config.mixed ? "rtn (mixed)" : config.method;
  report.bytesFp32 = modelBytes(*floatModule);
  report.bytesQuantized = modelBytes(*module);
  std::vector<std::vector<ref::Tensor>> evalSamples;
  std::string evalSpec = evalData.empty() ? calibData.getValue() : evalData;
  const int64_t evalSkip = evalData.empty() ? total - held : 0;
  const int64_t evalCount = evalData.empty() ? held : 32;
  if (!evalSpec.empty() && evalCount > 0 &&
      !readSamples(evalSpec, function, evalSkip, evalCount, evalSamples, error))
    return fail(error);
  report.calibration =
      calibData.empty()
          ? "none"
          : calibMethod + ", " + std::to_string(calibrated) + " samples";
  std::map<std::string, ErrorAccumulator> layerErrors;
  OutputComparison outputs;
  auto floatFunction = qg::findEntryFunction(*floatModule, "qcc quantize");
  for (size_t s = 0; s < evalSamples.size(); ++s) {
    progressLine("measuring error on held-out samples", s + 1,
                 evalSamples.size());
    mlir::FailureOr<Trace> reference = traceRun(floatFunction, evalSamples[s]);
    mlir::FailureOr<Trace> quantized = traceRun(function, evalSamples[s]);
    if (failed(reference) || failed(quantized))
      return 1;
    for (auto &[name, values] : quantized->layers) {
      auto it = reference->layers.find(name);
      if (it != reference->layers.end())
        layerErrors[name].add(it->second, values);
    }
    outputs.add(reference->outputs, quantized->outputs);
  }
  if (!evalSamples.empty()) {
    report.metrics.push_back({"output SQNR (dB)", outputs.error.sqnrDb()});
    report.metrics.push_back({"output MSE", outputs.error.mse()});
    if (outputs.cosineCount)
      report.metrics.push_back(
          {"mean cosine similarity", outputs.cosineSum / outputs.cosineCount});
    if (outputs.argmaxTotal)
      report.metrics.push_back(
          {"argmax agreement",
           static_cast<double>(outputs.argmaxSame) / outputs.argmaxTotal});
    report.metrics.push_back(
        {"samples measured", static_cast<double>(evalSamples.size())});
  }
  function.walk([&](mlir::Operation *op) {
    std::optional<qg::WeightSite> site = qg::findWeight(op);
    if (!site)
      return;
    qg::LayerReport layer;
    layer.name = qg::describeLocation(op->getLoc());
    collectNodeNames(op->getLoc(), layer.sources);
    layer.op = op->getName().getStringRef().str();
    auto weightType =
        cast<mlir::RankedTensorType>(site->operand->get().getType());
    layer.weightElements = weightType.getNumElements();
    layer.bytesFp32 = 4 * layer.weightElements;
    if (qg::ConstantOp weight = quantizedWeight(op)) {
      auto quant = cast<qg::QuantType>(weight.getType().getElementType());
      layer.format = rt::formatName(quant.getFormat());
      layer.granularity = granularityText(quant);
      layer.bytes = constantBytes(weight);
      if (auto algo =
              op->getAttrOfType<mlir::StringAttr>("qg.weight_algorithm"))
        layer.algorithm = algo.str();
      if (auto e = op->getAttrOfType<mlir::FloatAttr>("qg.output_error"))
        layer.weightOutputError = e.getValueAsDouble();
      if (auto e = op->getAttrOfType<mlir::FloatAttr>("qg.rtn_output_error"))
        layer.rtnWeightOutputError = e.getValueAsDouble();
      if (config.method == "smoothquant")
        layer.algorithm = "smoothquant+" + layer.algorithm;
    } else {
      layer.format = "f32";
      layer.granularity = "-";
      layer.algorithm = "-";
      layer.bytes = layer.bytesFp32;
    }
    layer.bits =
        layer.weightElements ? 8.0 * layer.bytes / layer.weightElements : 0;
    layer.activations = activationText(op);
    auto it = layerErrors.find(layer.name);
    if (it != layerErrors.end() && it->second.count) {
      layer.sqnrDb = it->second.sqnrDb();
      layer.mse = it->second.mse();
    }
    report.layers.push_back(std::move(layer));
  });
  report.frontier = mixed.frontier;

  // The table people read.
  outs() << "qcc quantize: " << modelPath << ", scheme " << scheme
         << ", method " << report.method << "\n";
  outs() << left_justify("layer", 28) << left_justify("format", 8)
         << left_justify("scales", 9) << left_justify("algorithm", 18)
         << left_justify("activations", 12) << right_justify("bytes", 10)
         << right_justify("SQNR dB", 9) << "\n";
  for (const qg::LayerReport &layer : report.layers) {
    outs() << left_justify(layer.name, 27) << " "
           << left_justify(layer.format, 8)
           << left_justify(layer.granularity, 9)
           << left_justify(layer.algorithm, 18)
           << left_justify(layer.activations, 12)
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
  for (const qg::ModelMetric &metric : report.metrics)
    outs() << metric.name << ": " << format("%.6g", metric.value) << "\n";

  // Outputs: the model (or its compiled package), then the report.
  if (compileCommand()) {
    const std::string report = reportPath; // compiling resets the options
    if (int rc = compileAndWrite(*module, modelPath, outputPath))
      return rc;
    reportPath = report;
  } else if (toOnnx) {
    onnx::QdqPlan plan;
    plan.producerNote =
        "qcc quantize --scheme=" + scheme + " --method=" + report.method;
    if (failed(buildQdqPlan(function, plan)))
      return 1;
    if (!onnx::exportQdqModel(modelPath, plan, outputPath, error))
      return fail(error);
  } else if (!tools::writeOutputAtomically(
                 outputPath,
                 [&](raw_ostream &os) {
                   module->print(os, mlir::OpPrintingFlags().enableDebugInfo());
                   return true;
                 },
                 error)) {
    return fail(error);
  }
  if (!reportPath.empty()) {
    SmallString<128> html(reportPath);
    sys::path::replace_extension(html, ".html");
    if (!tools::writeOutputAtomically(
            reportPath,
            [&](raw_ostream &os) {
              os << qg::reportToJson(report);
              return true;
            },
            error) ||
        !tools::writeOutputAtomically(
            html,
            [&](raw_ostream &os) {
              os << qg::reportToHtml(report);
              return true;
            },
            error))
      return fail(error);
    outs() << "report: " << reportPath << " and " << html << "\n";
  }
  return 0;
}
