// qg-smooth-quant: move activation outliers into the weights (SmoothQuant)
// so that W8A8 quantizes both well; the float function is unchanged.
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"
#include "passes/QuantSites.h"
#include "passes/algorithms/Calibration.h"
#include "passes/algorithms/WeightAlgorithms.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGSMOOTHQUANT
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

class SmoothQuantPass
    : public qcc::qg::impl::QGSmoothQuantBase<SmoothQuantPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (alpha < 0 || alpha > 1) {
      module.emitError("qg-smooth-quant: alpha must be in [0, 1], got ")
          << alpha.getValue();
      return signalPassFailure();
    }
    CalibrationStats calibration;
    std::string error;
    if (stats.empty() || !loadStats(stats, calibration, error)) {
      module.emitError("qg-smooth-quant: ")
          << (stats.empty() ? "needs stats=<file> from qg-calibrate" : error);
      return signalPassFailure();
    }
    func::FuncOp function = findEntryFunction(module, "qg-smooth-quant");
    if (!function)
      return signalPassFailure();

    // Layers grouped by the activation they read: one set of scales per
    // activation, so that every reader sees the same x / s.
    TensorKeys keys(function);
    auto groups = groupLayersByActivation(function);
    for (auto &[x, layers] : groups) {
      const std::string key = keys.key(x);
      auto it = calibration.tensors.find(key);
      if (it == calibration.tensors.end() || it->second.channelAbsMax.empty()) {
        layers.front()->emitError("qg-smooth-quant: no per-channel statistics "
                                  "for the activation '")
            << key << "'";
        return signalPassFailure();
      }
      // The weights of all readers side by side: K x (sum of N).
      const int64_t k = matrixView(layers.front())->k;
      if (static_cast<int64_t>(it->second.channelAbsMax.size()) != k)
        continue;
      int64_t width = 0;
      FailureOr<std::vector<float>> stacked = stackWeights(layers, k, width);
      if (failed(stacked))
        continue;
      std::vector<float> scales = smoothQuantScales(it->second.channelAbsMax,
                                                    *stacked, k, width, alpha);
      for (Operation *layer : layers)
        if (failed(scaleWeightRows(layer, scales))) {
          layer->emitError("qg-smooth-quant: cannot rescale the weight");
          return signalPassFailure();
        }
      if (divideActivation(x, layers, scales, key))
        ++numFoldedIntoNorm;
      ++numSmoothed;
    }
  }
};

} // namespace
