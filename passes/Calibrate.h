// Calibration as a function, for the qg-calibrate pass and for the compiler
// API, which streams samples given in memory instead of files.
#ifndef QCC_PASSES_CALIBRATE_H
#define QCC_PASSES_CALIBRATE_H

#include "importers/data/SampleReader.h"
#include "passes/algorithms/Calibration.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <functional>

namespace qcc::qg {

struct CalibrateOptions {
  int64_t bins = Histogram::kDefaultBinCount;
  /// Also accumulate X^T X of the layers' inputs (GPTQ, AWQ).
  bool gram = false;
  /// Stop after this many samples (0: all).
  int64_t maxSamples = 0;
  /// Called about twice a second and once at the end (done = true).
  std::function<void(int64_t samples, const data::SampleReader &reader,
                     bool done)>
      progress;
};

/// Runs `function` with observers on every layer's float activation over
/// the samples `reader` yields, and returns their statistics; the function
/// is left as it was. Errors (bad samples, no samples) are emitted on the
/// function. `observed` receives the number of observed tensors.
mlir::FailureOr<CalibrationStats>
calibrateFunction(mlir::func::FuncOp function, data::SampleReader &reader,
                  const CalibrateOptions &options, int64_t *observed = nullptr);

} // namespace qcc::qg

#endif // QCC_PASSES_CALIBRATE_H
