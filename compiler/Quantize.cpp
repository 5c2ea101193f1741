// The quantization pipeline behind Model::quantize and `qcc quantize`:
// prepare, calibrate, quantize weights and activations (or assign precision
// per layer), and measure what it cost against the float model. Each step is
// a qg pass that qopt can run alone; this file only chooses and chains them.
#include "compiler/ModelImpl.h"

#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGElements.h"
#include "dialects/qg/QGOps.h"
#include "importers/data/SampleReader.h"
#include "importers/onnx/QdqExport.h"
#include "passes/Calibrate.h"
#include "passes/QuantSites.h"
#include "passes/Registration.h"
#include "passes/algorithms/PrecisionAssignment.h"
#include "passes/algorithms/QuantReport.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <fstream>

using namespace llvm;
using mlir::LogicalResult;

namespace qcc::compiler {
namespace {

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

/// Runs a textual pass pipeline on the module.
LogicalResult runPipeline(mlir::ModuleOp module, const std::string &pipeline) {
  mlir::PassManager pm(module.getContext());
  std::string error;
  raw_string_ostream errorStream(error);
  if (failed(mlir::parsePassPipeline(pipeline, pm, errorStream)))
    return module.emitError("internal pipeline '")
           << pipeline << "': " << error;
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

/// The samples of a SampleSet as the reader takes them: arrays in memory are
/// borrowed, not copied.
struct Samples {
  const SampleSet &set;
  std::vector<data::BorrowedSample> borrowed;

  explicit Samples(const SampleSet &set) : set(set) {
    static_assert(static_cast<int>(DType::Bool) ==
                      static_cast<int>(rt::ElementKind::Bool) &&
                  static_cast<int>(DType::F16) ==
                      static_cast<int>(rt::ElementKind::F16));
    for (const Sample &sample : set.samples) {
      data::BorrowedSample arrays;
      for (const ArrayView &view : sample)
        arrays.push_back({view.name, static_cast<rt::ElementKind>(view.dtype),
                          view.shape, view.data});
      borrowed.push_back(std::move(arrays));
    }
  }
  bool empty() const { return set.empty(); }
  /// What the messages call them.
  std::string describe() const {
    return set.files.empty() ? "the samples given" : "'" + set.files + "'";
  }
  bool open(data::SampleReader &reader, mlir::func::FuncOp function,
            std::string &error) const {
    if (!set.files.empty() && !set.samples.empty()) {
      error = "give calibration samples in memory or as files, not both";
      return false;
    }
    return set.files.empty() ? reader.open(borrowed, function, error)
                             : reader.open(set.files, function, error);
  }
  /// Reads samples [skip, skip + count).
  bool read(mlir::func::FuncOp function, int64_t skip, int64_t count,
            std::vector<std::vector<ref::Tensor>> &samples,
            std::string &error) const {
    data::SampleReader reader;
    if (!open(reader, function, error))
      return false;
    std::vector<ref::Tensor> sample;
    for (int64_t i = 0; i < skip + count && reader.next(sample, error); ++i)
      if (i >= skip)
        samples.push_back(sample);
    return error.empty();
  }
  int64_t count(mlir::func::FuncOp function, std::string &error) const {
    data::SampleReader reader;
    if (!open(reader, function, error))
      return -1;
    int64_t n = 0;
    std::vector<ref::Tensor> sample;
    while (reader.next(sample, error))
      ++n;
    return error.empty() ? n : -1;
  }
};

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

void progressLine(const QuantizeOptions &options, StringRef what, int64_t done,
                  int64_t total) {
  if (options.progress)
    options.progress({what.str(), done, total, done == total});
}

void message(const QuantizeOptions &options, const std::string &text) {
  if (options.message)
    options.message(text);
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

/// Everything the mixed-precision search decided, for the report.
struct MixedResult {
  std::vector<qg::FrontierPoint> frontier;
};

/// Measures each layer's sensitivity to each candidate format on a few
/// samples and quantizes every layer to the assignment the budget allows.
LogicalResult
assignPrecision(mlir::ModuleOp module, mlir::func::FuncOp function,
                const std::vector<std::vector<ref::Tensor>> &samples,
                int64_t group, const QuantizeOptions &options,
                MixedResult &mixed) {
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
      progressLine(options, "measuring layer sensitivity", ++step, steps);
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
  const std::string &sizeBudget = options.sizeBudget;
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
    chosen = qg::assignUnderError(problem, options.maxError);
    if (!chosen)
      return mlir::emitError(function.getLoc(), "--max-error ")
             << options.maxError
             << " cannot be met even with all layers in f32";
  }
  for (const qg::Assignment &point : qg::sizeErrorFrontier(problem))
    mixed.frontier.push_back(
        {point.bytes, point.error, point.choice == chosen->choice});
  bool chosenOnFrontier = llvm::any_of(
      mixed.frontier, [](const qg::FrontierPoint &p) { return p.chosen; });
  if (!chosenOnFrontier)
    mixed.frontier.push_back({chosen->bytes, chosen->error, true});

  // Apply: one qg-quantize-weights run per candidate format.
  {
    std::string line;
    raw_string_ostream os(line);
    os << "mixed precision: " << chosen->bytes << " bytes, summed output "
       << "MSE " << format("%.3e", chosen->error);
    message(options, line);
  }
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
  for (size_t l = 0; l < problem.size(); ++l) {
    std::string line;
    raw_string_ostream os(line);
    os << "  " << left_justify(problem[l].layer, 28) << " "
       << problem[l].candidates[chosen->choice[l]].label;
    message(options, line);
  }
  return mlir::success();
}

/// The QDQ plan that reproduces the quantized module on the original ONNX
/// model, found through the node names the locations carry.
LogicalResult buildQdqPlan(mlir::func::FuncOp function, bool noMatMulNBits,
                           onnx::QdqPlan &plan) {
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

/// The scheme's meaning, with the options applied; an empty string or the
/// reason the options do not fit together.
std::string configure(const QuantizeOptions &o, SchemeConfig &config) {
  if (o.scheme == "int8") {
    config = {"i8", "channel", 0, true, false, "u8", false, "rtn", false};
  } else if (o.scheme == "w8a8") {
    config = {"i8", "channel",     0,    true, false, "i8",
              true, "smoothquant", false};
  } else if (o.scheme == "w8a16") {
    config = {"i8", "channel", 0, false, false, "u8", false, "rtn", false};
    if (o.groupSize > 0)
      config.granularity = "block";
  } else if (o.scheme == "fp8") {
    config = {"f8e4m3fn", "channel", 0,     true, false,
              "f8e4m3fn", true,      "rtn", false};
  } else if (o.scheme == "w4a16") {
    config = {"i4", "block", 128, false, false, "u8", false, "rtn", false};
  } else if (o.scheme == "nf4") {
    config = {"nf4", "block", 64, false, false, "u8", false, "rtn", false};
  } else if (o.scheme == "mixed") {
    config = {"i8", "channel", 128, false, false, "u8", false, "rtn", true};
  } else {
    return "--scheme must be int8, w8a8, w8a16, fp8, w4a16, nf4 or mixed, "
           "got '" +
           o.scheme + "'";
  }
  if (!o.method.empty())
    config.method = o.method;
  if (config.method != "rtn" && config.method != "gptq" &&
      config.method != "awq" && config.method != "smoothquant")
    return "--method must be rtn, gptq, awq or smoothquant, got '" +
           config.method + "'";
  if (config.method == "smoothquant" && !config.staticActivations)
    return "--method=smoothquant balances weights against quantized "
           "activations; use it with --scheme=int8 or w8a8";
  if (config.weightFormat == "f8e4m3fn" && config.method != "rtn")
    return "--scheme=fp8 rounds weights to the nearest FP8 value (rtn); "
           "--method=" +
           config.method + " is for integer formats";
  if (config.weightFormat == "f8e4m3fn" && o.asymmetricWeights)
    return "--asymmetric-weights: FP8 has no zero point";
  if (config.weightFormat == "f8e4m3fn" && o.activations != "static")
    return "--scheme=fp8 quantizes activations statically (per tensor, from "
           "calibration); --activations=" +
           o.activations + " is for int8";
  if (o.asymmetricWeights && config.weightFormat == "nf4")
    return "--asymmetric-weights: nf4 scales by the block absmax and has no "
           "zero point";
  if (!o.alsoQuantize.empty() && !config.staticActivations &&
      !config.dynamicActivations)
    return "--also-quantize needs quantized activations (--scheme=int8 or "
           "w8a8)";
  if (config.mixed && config.method != "rtn")
    return "--scheme=mixed uses RTN for its candidates; drop --method";
  if (o.groupSize < 0)
    return "--group-size must be positive";
  if (o.groupSize > 0)
    config.blockSize = o.groupSize;
  if (o.activations != "static" && o.activations != "dynamic" &&
      o.activations != "dynamic-row")
    return "--activations must be static, dynamic or dynamic-row";
  if (o.activations != "static" && config.staticActivations) {
    config.staticActivations = false;
    config.dynamicActivations = true;
    if (config.method == "smoothquant")
      return "--method=smoothquant needs static activations";
  }
  if (o.calibMethod != "minmax" && o.calibMethod != "percentile" &&
      o.calibMethod != "entropy" && o.calibMethod != "mse")
    return "--calib-method must be minmax, percentile, entropy or mse, got '" +
           o.calibMethod + "'";
  if (config.mixed == (o.sizeBudget.empty() && o.maxError < 0))
    return config.mixed
               ? "--scheme=mixed needs --size-budget or --max-error"
               : "--size-budget and --max-error apply to --scheme=mixed";
  for (StringRef path : {StringRef(o.saveStats), StringRef(o.loadStats)})
    if (path.contains('"') || path.contains('}'))
      return "paths may not contain '\"' or '}': " + path.str();
  for (const std::string &op : o.alsoQuantize)
    if (StringRef(op).contains_insensitive("}") || StringRef(op).contains(' '))
      return "--also-quantize: bad op name '" + op + "'";
  return "";
}

/// The report's per-layer rows and model-level error metrics.
void measure(mlir::func::FuncOp function, mlir::func::FuncOp floatFunction,
             const std::vector<std::vector<ref::Tensor>> &evalSamples,
             const QuantizeOptions &options, const SchemeConfig &config,
             qg::QuantReport &report, bool &ok) {
  std::map<std::string, ErrorAccumulator> layerErrors;
  OutputComparison outputs;
  for (size_t s = 0; s < evalSamples.size() && ok; ++s) {
    progressLine(options, "measuring error on held-out samples", s + 1,
                 evalSamples.size());
    mlir::FailureOr<Trace> reference = traceRun(floatFunction, evalSamples[s]);
    mlir::FailureOr<Trace> quantized = traceRun(function, evalSamples[s]);
    if (failed(reference) || failed(quantized)) {
      ok = false;
      return;
    }
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
}

} // namespace

Status quantizeModule(Model::Impl &impl, const SampleSet &calibrationSet,
                      const QuantizeOptions &options,
                      const SampleSet &evaluationSet,
                      DiagnosticCollector &diagnostics) {
  SchemeConfig config;
  if (std::string e = configure(options, config); !e.empty())
    return makeError(e);
  const Samples calibration(calibrationSet), evaluation(evaluationSet);
  const bool needsGram = config.method == "gptq" || config.method == "awq";
  const bool needsStats =
      config.staticActivations || needsGram || config.method == "smoothquant";
  if (calibration.empty() && (needsStats || config.mixed) &&
      options.loadStats.empty())
    return makeError("--scheme=" + options.scheme +
                     " --method=" + config.method +
                     " needs calibration samples (--calib DIR)");
  auto failedWith = [&](const std::string &fallback) {
    return Status(diagnostics.error(fallback));
  };

  mlir::ModuleOp module = *impl.module;
  {
    mlir::PassManager pm(module.getContext());
    buildPreparePipeline(pm);
    if (failed(pm.run(module)))
      return failedWith("preparing the model failed");
  }
  mlir::func::FuncOp function = qg::findEntryFunction(module, "qcc quantize");
  if (!function)
    return failedWith("the model has no function to quantize");
  mlir::OwningOpRef<mlir::ModuleOp> floatModule = module.clone();

  // Which samples calibrate and which measure.
  std::string error;
  int64_t total = 0, calibrated = 0, held = 0;
  if (!calibration.empty()) {
    total = calibration.count(function, error);
    if (total < 0)
      return makeError(error);
    if (total == 0)
      return makeError(calibration.describe() + " holds no samples");
    held = evaluation.empty()
               ? (options.holdout >= 0
                      ? std::min<int64_t>(options.holdout, total - 1)
                      : std::min<int64_t>(32, total / 5))
               : 0;
    calibrated = total - held;
    if (options.maxCalibSamples > 0)
      calibrated = std::min<int64_t>(calibrated, options.maxCalibSamples);
    message(options, std::to_string(total) + " samples in " +
                         calibration.describe() + ": " +
                         std::to_string(calibrated) + " for calibration, " +
                         std::to_string(held) + " held out for the report");
  }

  TempFiles temps;
  std::string statsPath = options.loadStats;
  auto calibrate = [&](bool gram, const std::string &save) -> bool {
    data::SampleReader reader;
    if (!calibration.open(reader, function, error)) {
      function.emitError(error);
      return false;
    }
    qg::CalibrateOptions calibrateOptions;
    calibrateOptions.gram = gram;
    calibrateOptions.maxSamples = calibrated;
    if (options.progress)
      calibrateOptions.progress = [&](int64_t samples,
                                      const data::SampleReader &, bool done) {
        options.progress({"calibrating", samples, calibrated, done});
      };
    mlir::FailureOr<qg::CalibrationStats> stats =
        qg::calibrateFunction(function, reader, calibrateOptions);
    if (failed(stats))
      return false;
    if (!qg::saveStats(save, *stats, error)) {
      function.emitError(error);
      return false;
    }
    statsPath = save;
    return true;
  };
  auto tempFile = [&](StringRef prefix, std::string &path) {
    if (!temps.make(prefix, "bin", path)) {
      function.emitError("cannot create a temporary file");
      return false;
    }
    return true;
  };
  if (needsStats && options.loadStats.empty()) {
    std::string save = options.saveStats;
    if (save.empty() && !tempFile("qcc-stats", save))
      return failedWith("calibration failed");
    if (!calibrate(needsGram, save))
      return failedWith("calibration failed");
  }

  MixedResult mixed;
  if (config.method == "smoothquant") {
    if (failed(runPipeline(
            module, "qg-smooth-quant{stats=" + quoted(statsPath) +
                        " alpha=" + std::to_string(options.alpha) + "}")))
      return failedWith("SmoothQuant failed");
    // Ranges change once activations are divided by the scales.
    std::string smoothed;
    if (calibration.empty())
      return makeError("--method=smoothquant recalibrates after smoothing; "
                       "it needs calibration samples, not only --load-stats");
    if (!tempFile("qcc-stats-smoothed", smoothed) ||
        !calibrate(false, smoothed))
      return failedWith("calibration after SmoothQuant failed");
  }
  if (config.mixed) {
    std::vector<std::vector<ref::Tensor>> samples;
    if (!calibration.read(
            function, 0,
            std::min<int64_t>(options.sensitivitySamples, calibrated), samples,
            error))
      return makeError(error);
    if (failed(assignPrecision(module, function, samples, config.blockSize,
                               options, mixed)))
      return failedWith("mixed-precision assignment failed");
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
        (options.asymmetricWeights ? " symmetric=false" : "") +
        (options.actOrder ? " act-order=true" : "") + "}";
    if (failed(runPipeline(module, weights)))
      return failedWith("weight quantization failed");
  }
  if (config.staticActivations || config.dynamicActivations) {
    std::string pipeline =
        "qg-quantize-activations{mode=" +
        std::string(config.dynamicActivations ? "dynamic" : "static") +
        (config.staticActivations ? " stats=" + quoted(statsPath) : "") +
        " method=" + options.calibMethod +
        " percentile=" + std::to_string(options.percentile) +
        " format=" + config.activationFormat +
        (config.activationSymmetric ? " symmetric=true" : "") +
        (options.activations == "dynamic-row" ? " per-row=true" : "") +
        (options.alsoQuantize.empty()
             ? std::string()
             : " also=" + llvm::join(options.alsoQuantize, ",")) +
        "}";
    if (failed(runPipeline(module, pipeline)))
      return failedWith("activation quantization failed");
  }
  if (failed(runPipeline(module, "canonicalize")))
    return failedWith("canonicalization failed");
  function = qg::findEntryFunction(module, "qcc quantize");

  // Measure: each layer's output and the model's outputs against FP32.
  qg::QuantReport report;
  report.model = impl.source;
  report.scheme = options.scheme;
  report.method = config.mixed ? "rtn (mixed)" : config.method;
  report.bytesFp32 = modelBytes(*floatModule);
  report.bytesQuantized = modelBytes(module);
  std::vector<std::vector<ref::Tensor>> evalSamples;
  const Samples &evalFrom = evaluation.empty() ? calibration : evaluation;
  const int64_t evalSkip = evaluation.empty() ? total - held : 0;
  const int64_t evalCount = evaluation.empty() ? held : 32;
  if (!evalFrom.empty() && evalCount > 0 &&
      !evalFrom.read(function, evalSkip, evalCount, evalSamples, error))
    return makeError(error);
  report.calibration = calibration.empty()
                           ? "none"
                           : options.calibMethod + ", " +
                                 std::to_string(calibrated) + " samples";
  bool ok = true;
  measure(function, qg::findEntryFunction(*floatModule, "qcc quantize"),
          evalSamples, options, config, report, ok);
  if (!ok)
    return failedWith("measuring the quantized model failed");
  report.frontier = mixed.frontier;
  impl.report = std::move(report);
  impl.noMatMulNBits = options.noMatMulNBits;
  return {};
}

Status exportQdq(const Model::Impl &impl, const std::string &path) {
  if (!impl.report)
    return makeError("only a quantized model can be written as a QDQ ONNX "
                     "model; write .mlir, or quantize it first");
  if (impl.onnxPath.empty() && !impl.onnxBytes)
    return makeError("a QDQ ONNX model is written from the ONNX model it was "
                     "imported from; " +
                     impl.source +
                     " was not imported "
                     "from ONNX");
  DiagnosticCollector diagnostics(*impl.context);
  mlir::func::FuncOp function =
      qg::findEntryFunction(*impl.module, "qcc quantize");
  onnx::QdqPlan plan;
  plan.producerNote = "qcc quantize --scheme=" + impl.report->scheme +
                      " --method=" + impl.report->method;
  if (!function || failed(buildQdqPlan(function, impl.noMatMulNBits, plan)))
    return diagnostics.error("cannot export the model as QDQ ONNX");
  std::string source = impl.onnxPath;
  TempFiles temps;
  if (source.empty()) {
    // Imported from memory: the exporter reads the original from a file.
    if (!temps.make("qcc-source", "onnx", source))
      return makeError("cannot create a temporary file");
    std::ofstream file(source, std::ios::binary);
    file.write(impl.onnxBytes->data(),
               static_cast<std::streamsize>(impl.onnxBytes->size()));
    if (!file.good())
      return makeError(source + ": cannot write a temporary copy of the "
                                "model");
  }
  std::string error;
  if (!onnx::exportQdqModel(source, plan, path, error))
    return makeError(error);
  return {};
}

Result<Model> Model::quantize(const SampleSet &calibration,
                              const QuantizeOptions &options,
                              const SampleSet &evaluation) const {
  std::unique_ptr<Impl> quantized = impl->clone();
  DiagnosticCollector diagnostics(*quantized->context);
  Status status =
      quantizeModule(*quantized, calibration, options, evaluation, diagnostics);
  if (!status)
    return status.error();
  std::vector<Diagnostic> warnings = diagnostics.warnings();
  quantized->warnings.insert(quantized->warnings.end(), warnings.begin(),
                             warnings.end());
  return ModelAccess::make(std::move(quantized));
}

} // namespace qcc::compiler
