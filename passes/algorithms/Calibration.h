// Calibration statistics: streaming histograms and per-channel moments of the
// activations a model produces on calibration samples, the clipping-range
// methods that turn them into quantization ranges (DESIGN.md section 4), and
// a validated binary file format so one calibration serves many quantization
// runs. Plain C++: no MLIR or LLVM.
#ifndef QCC_PASSES_ALGORITHMS_CALIBRATION_H
#define QCC_PASSES_ALGORITHMS_CALIBRATION_H

#include "runtime/numerics/Numerics.h"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qcc::qg {

/// A histogram of every finite value added, with a fixed number of bins.
/// The bins cover [lower(), lower() + binCount * binWidth()); when a value
/// falls outside, the range grows by merging adjacent bins (the width at
/// least doubles), so memory is fixed and the result depends only on the
/// values added, their order and how they were split into add() calls. NaN
/// and +-Inf are counted apart and not binned.
///
/// Layout invariant: binWidth() has at most 4 significant bits and lower()
/// is an integer multiple of it, so every bin edge is an exact multiple of
/// the width. Growth then regroups whole bins exactly, and a folded |x|
/// histogram (the range methods) maps each signed bin onto one |x| bin.
class Histogram {
public:
  static constexpr int64_t kDefaultBinCount = 2048;

  explicit Histogram(int64_t binCount = kDefaultBinCount);

  void add(std::span<const float> values);

  int64_t binCount() const { return static_cast<int64_t>(bins_.size()); }
  /// Finite values added.
  int64_t count() const { return count_; }
  /// NaN and infinite values seen (not binned).
  int64_t nonFiniteCount() const { return nonFinite_; }
  /// Exact extremes of the finite values added (0 when none).
  float min() const { return min_; }
  float max() const { return max_; }
  double lower() const { return lower_; }
  double binWidth() const { return width_; }
  std::span<const int64_t> bins() const { return bins_; }

  /// Rebuilds a histogram from saved fields; false if they are inconsistent
  /// (negative counts, counts that do not add up, non-finite bounds, ...).
  static bool restore(int64_t binCount, double lower, double width,
                      float minValue, float maxValue, int64_t count,
                      int64_t nonFinite, std::vector<int64_t> bins,
                      Histogram &out);
  /// Why restore() would reject these fields ("" when it would accept
  /// them), so file readers can name the offending field.
  static std::string checkFields(int64_t binCount, double lower, double width,
                                 float minValue, float maxValue, int64_t count,
                                 int64_t nonFinite,
                                 std::span<const int64_t> bins);

private:
  std::vector<int64_t> bins_;
  double lower_ = 0, width_ = 0;
  float min_ = 0, max_ = 0;
  int64_t count_ = 0, nonFinite_ = 0;
};

/// How a clipping range is chosen from a histogram.
enum class RangeMethod { MinMax, Percentile, Entropy, MSE };
const char *rangeMethodName(RangeMethod method);
std::optional<RangeMethod> parseRangeMethod(std::string_view name);

struct RangeOptions {
  RangeMethod method = RangeMethod::MinMax;
  /// Storage format the range is for (sets the number of levels).
  rt::Format format = rt::Format::I8;
  /// Symmetric: the range is [-t, t] and the methods search t over |x|.
  /// Asymmetric: min-max and percentile clip each side; entropy and MSE
  /// search a symmetric threshold on |x| and then intersect with [min, max].
  bool symmetric = true;
  /// Percentile kept (percentile method), e.g. 99.99.
  double percentile = 99.99;
};

struct Range {
  float min = 0;
  float max = 0;
};

/// The clipping range for the values a histogram summarizes. Always contains
/// 0 and is never empty: a constant-zero tensor gets a tiny positive range.
Range chooseRange(const Histogram &histogram, const RangeOptions &options);

/// Statistics of one observed tensor.
struct TensorStats {
  Histogram histogram;
  /// Per-channel statistics over the last axis (channel = innermost index):
  /// the largest |x| and the sum of |x| over `rows` rows. Empty when not
  /// collected.
  std::vector<double> channelAbsMax;
  std::vector<double> channelAbsSum;
  int64_t rows = 0;
  /// Sum over rows of x x^T (channels x channels, row-major): the GPTQ/AWQ
  /// Hessian up to a factor. Empty when not collected.
  std::vector<double> gram;

  /// Adds values laid out as rows of `channels` (the tensor's last
  /// dimension): updates the histogram, and the per-channel statistics (and
  /// the Gram matrix when `withGram`). The first call fixes `channels` and
  /// whether the Gram matrix is collected; later calls that disagree, or a
  /// value count that is not a multiple of `channels`, return false and
  /// change nothing. NaN and +-Inf reach the histogram (nonFiniteCount) but
  /// count as 0 in the channel statistics and the Gram matrix, so those stay
  /// finite.
  bool addRows(std::span<const float> values, int64_t channels, bool withGram);
  int64_t channels() const {
    return static_cast<int64_t>(channelAbsMax.size());
  }
  /// Mean |x| per channel (empty when no rows).
  std::vector<double> channelMeanAbs() const;
};

/// Everything one calibration run collected, keyed by the observed tensor's
/// name, plus how many samples were run.
struct CalibrationStats {
  int64_t sampleCount = 0;
  std::map<std::string, TensorStats> tensors;
};

/// Binary file: a magic, a version, then each tensor's fields with explicit
/// sizes. Loading validates every count against the remaining bytes and the
/// histogram invariants; errors name the file and the field.
bool saveStats(const std::string &path, const CalibrationStats &stats,
               std::string &error);
bool loadStats(const std::string &path, CalibrationStats &stats,
               std::string &error);

} // namespace qcc::qg

#endif // QCC_PASSES_ALGORITHMS_CALIBRATION_H
