// qg-calibrate: run the float graph on calibration samples with observers
// on the layers' activations and save the statistics (DESIGN.md section 4).
#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "importers/data/SampleReader.h"
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
    if (bins < 16 || bins > (1 << 20)) {
      module.emitError("qg-calibrate: bins must be in [16, 1048576], got ")
          << bins.getValue();
      return signalPassFailure();
    }
    func::FuncOp function = findEntryFunction(module, "qg-calibrate");
    if (!function)
      return signalPassFailure();

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
          gram && site->rowsAlongLastDim && matrixView(op).has_value();
      auto [it, inserted] =
          sites.insert({value, Observed{site->rowsAlongLastDim, gramWanted}});
      if (!inserted) {
        it->second.rows &= site->rowsAlongLastDim;
        it->second.gram |= gramWanted;
      }
    });
    llvm::StringMap<Observed> layout;
    SmallVector<ObserveOp> observers;
    for (auto &[value, observed] : sites) {
      OpBuilder builder(&getContext());
      builder.setInsertionPointAfterValue(value);
      const std::string key = keys.key(value);
      auto observer = ObserveOp::create(builder, value.getLoc(), value,
                                        builder.getStringAttr(key));
      value.replaceAllUsesExcept(observer.getResult(), observer);
      observers.push_back(observer);
      layout[key] = observed;
    }
    numObserved = observers.size();

    data::SampleReader reader;
    std::string error;
    if (!reader.open(data, function, error)) {
      module.emitError("qg-calibrate: ") << error;
      removeObservers(observers);
      return signalPassFailure();
    }

    CalibrationStats stats;
    for (auto &[key, observed] : layout)
      stats.tensors.try_emplace(key.str(), TensorStats{Histogram(bins)});
    bool ok = true;
    ref::RunOptions options;
    std::vector<float> values;
    options.afterOp = [&](Operation *op, ArrayRef<ref::Tensor> results) {
      auto observer = dyn_cast<ObserveOp>(op);
      if (!observer || !ok)
        return;
      const ref::Tensor &tensor = results.front();
      values.assign(tensor.data.begin(), tensor.data.end());
      const Observed &observed = layout[observer.getKey()];
      const int64_t channels =
          observed.rows && !tensor.shape.empty() ? tensor.shape.back() : 1;
      if (!stats.tensors[observer.getKey().str()].addRows(values, channels,
                                                          observed.gram)) {
        observer.emitError("qg-calibrate: inconsistent channel count");
        ok = false;
      }
    };

    const auto start = std::chrono::steady_clock::now();
    auto lastPrint = start;
    std::vector<ref::Tensor> sample;
    while (ok && (maxSamples <= 0 || stats.sampleCount < maxSamples)) {
      if (!reader.next(sample, error)) {
        if (!error.empty()) {
          module.emitError("qg-calibrate: ") << error;
          ok = false;
        }
        break;
      }
      if (failed(ref::run(function, sample, options))) {
        ok = false;
        break;
      }
      ++stats.sampleCount;
      const auto now = std::chrono::steady_clock::now();
      if (progress && now - lastPrint > std::chrono::milliseconds(500)) {
        printProgress(stats.sampleCount, reader, now - start, false);
        lastPrint = now;
      }
    }
    if (progress && ok)
      printProgress(stats.sampleCount, reader,
                    std::chrono::steady_clock::now() - start, true);
    removeObservers(observers);
    if (!ok)
      return signalPassFailure();
    if (stats.sampleCount == 0) {
      module.emitError("qg-calibrate: '")
          << data.getValue() << "' holds no samples";
      return signalPassFailure();
    }
    numSamples = stats.sampleCount;
    if (!saveStats(save, stats, error)) {
      module.emitError("qg-calibrate: ") << error;
      return signalPassFailure();
    }
  }

private:
  static void removeObservers(ArrayRef<ObserveOp> observers) {
    for (ObserveOp observer : observers) {
      observer.getResult().replaceAllUsesWith(observer.getInput());
      observer.erase();
    }
  }

  static void printProgress(int64_t samples, const data::SampleReader &reader,
                            std::chrono::steady_clock::duration elapsed,
                            bool done) {
    const double seconds =
        std::chrono::duration<double>(elapsed).count() + 1e-9;
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
};

} // namespace
