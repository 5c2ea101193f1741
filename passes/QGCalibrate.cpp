// qg-calibrate: run the float graph on calibration samples with observers
// on the layers' activations and save the statistics (DESIGN.md section 4).
#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "importers/data/SampleReader.h"
#include "passes/Calibrate.h"
#include "passes/Passes.h"
#include "passes/QuantSites.h"
#include "passes/algorithms/Calibration.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

namespace qcc::qg {
#define GEN_PASS_DEF_QGCALIBRATE
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

/// How an observed tensor's values are laid out for the per-channel
/// statistics: rows of its last dimension, or (conv inputs) one channel.
struct Observed {
  bool rows;
  bool gram;
};

void removeObservers(ArrayRef<ObserveOp> observers) {
  for (ObserveOp observer : observers) {
    observer.getResult().replaceAllUsesWith(observer.getInput());
    observer.erase();
  }
}

void printProgress(int64_t samples, const data::SampleReader &reader,
                   std::chrono::steady_clock::duration elapsed, bool done) {
  const double seconds = std::chrono::duration<double>(elapsed).count() + 1e-9;
  const int64_t files = reader.sourceCount();
  const int64_t read = reader.sourcesRead();
  const int width = 24;
  const int filled = files ? static_cast<int>(width * read / files) : width;
  llvm::errs() << "\rcalibrating [" << std::string(filled, '#')
               << std::string(width - filled, '.') << "] " << samples
               << " samples (" << read << "/" << files << " files), "
               << llvm::format("%.1f samples/s", samples / seconds)
               << (done ? "\n" : "");
  llvm::errs().flush();
}

class CalibratePass : public qcc::qg::impl::QGCalibrateBase<CalibratePass> {
public:
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (data.empty() || save.empty()) {
      module.emitError("qg-calibrate: both data=<samples> and save=<file> "
                       "are required");
      return signalPassFailure();
    }
    func::FuncOp function = findEntryFunction(module, "qg-calibrate");
    if (!function)
      return signalPassFailure();
    data::SampleReader reader;
    std::string error;
    if (!reader.open(data, function, error)) {
      module.emitError("qg-calibrate: ") << error;
      return signalPassFailure();
    }
    CalibrateOptions options;
    options.bins = bins;
    options.gram = gram;
    options.maxSamples = maxSamples;
    const auto start = std::chrono::steady_clock::now();
    if (progress)
      options.progress = [start](int64_t samples,
                                 const data::SampleReader &reader, bool done) {
        printProgress(samples, reader, std::chrono::steady_clock::now() - start,
                      done);
      };
    int64_t observed = 0;
    FailureOr<CalibrationStats> stats =
        calibrateFunction(function, reader, options, &observed);
    numObserved = observed;
    if (failed(stats))
      return signalPassFailure();
    numSamples = stats->sampleCount;
    if (!saveStats(save, *stats, error)) {
      module.emitError("qg-calibrate: ") << error;
      return signalPassFailure();
    }
  }
};

} // namespace

FailureOr<CalibrationStats>
qcc::qg::calibrateFunction(func::FuncOp function, data::SampleReader &reader,
                           const CalibrateOptions &options, int64_t *observed) {
  if (options.bins < 16 || options.bins > (1 << 20))
    return function.emitError("qg-calibrate: bins must be in [16, 1048576], "
                              "got ")
           << options.bins;

  // One observer per distinct activation value.
  TensorKeys keys(function);
  llvm::MapVector<Value, Observed> sites;
  function.walk([&](Operation *op) {
    if (!isLayer(op))
      return;
    std::optional<ActivationSite> site = findActivation(op);
    Value value = site->operand->get();
    if (!isa<FloatType>(
            cast<RankedTensorType>(value.getType()).getElementType()))
      return;
    const bool gramWanted =
        options.gram && site->rowsAlongLastDim && matrixView(op).has_value();
    auto [it, inserted] =
        sites.insert({value, Observed{site->rowsAlongLastDim, gramWanted}});
    if (!inserted) {
      it->second.rows &= site->rowsAlongLastDim;
      it->second.gram |= gramWanted;
    }
  });
  llvm::StringMap<Observed> layout;
  SmallVector<ObserveOp> observers;
  for (auto &[value, how] : sites) {
    OpBuilder builder(function.getContext());
    builder.setInsertionPointAfterValue(value);
    const std::string key = keys.key(value);
    auto observer = ObserveOp::create(builder, value.getLoc(), value,
                                      builder.getStringAttr(key));
    value.replaceAllUsesExcept(observer.getResult(), observer);
    observers.push_back(observer);
    layout[key] = how;
  }
  if (observed)
    *observed = static_cast<int64_t>(observers.size());

  CalibrationStats stats;
  for (auto &[key, how] : layout)
    stats.tensors.try_emplace(key.str(), TensorStats{Histogram(options.bins)});
  bool ok = true;
  ref::RunOptions runOptions;
  std::vector<float> values;
  runOptions.afterOp = [&](Operation *op, ArrayRef<ref::Tensor> results) {
    auto observer = dyn_cast<ObserveOp>(op);
    if (!observer || !ok)
      return;
    const ref::Tensor &tensor = results.front();
    values.assign(tensor.data.begin(), tensor.data.end());
    const Observed &how = layout[observer.getKey()];
    const int64_t channels =
        how.rows && !tensor.shape.empty() ? tensor.shape.back() : 1;
    if (!stats.tensors[observer.getKey().str()].addRows(values, channels,
                                                        how.gram)) {
      observer.emitError("qg-calibrate: inconsistent channel count");
      ok = false;
    }
  };

  auto lastPrint = std::chrono::steady_clock::now();
  std::vector<ref::Tensor> sample;
  std::string error;
  while (ok &&
         (options.maxSamples <= 0 || stats.sampleCount < options.maxSamples)) {
    if (!reader.next(sample, error)) {
      if (!error.empty()) {
        function.emitError("qg-calibrate: ") << error;
        ok = false;
      }
      break;
    }
    if (failed(ref::run(function, sample, runOptions))) {
      ok = false;
      break;
    }
    ++stats.sampleCount;
    const auto now = std::chrono::steady_clock::now();
    if (options.progress && now - lastPrint > std::chrono::milliseconds(500)) {
      options.progress(stats.sampleCount, reader, false);
      lastPrint = now;
    }
  }
  if (options.progress && ok)
    options.progress(stats.sampleCount, reader, true);
  removeObservers(observers);
  if (!ok)
    return failure();
  if (stats.sampleCount == 0)
    return function.emitError("qg-calibrate: the calibration data holds no "
                              "samples");
  return stats;
}
