// Clipping-range methods (DESIGN.md section 4): min-max, percentile, entropy
// (TensorRT's KL-divergence calibration) and MSE, all computed from a
// streaming Histogram rather than from the raw activations.
//
// Percentile, entropy and MSE work at bin-edge resolution:
//  - Percentile returns the far edge of the bin that holds the requested
//    order statistic, so it is at most one bin width beyond the exact sample
//    percentile (and never clips more than 100 - p percent of the values).
//  - Entropy runs on a histogram of |x| folded from the signed bins. Bin
//    edges are multiples of the width (see Histogram), so signed bin
//    [a w, (a+1) w) is exactly |x| bin a for a >= 0 and |x| bin -a-1 for
//    a < 0; the only approximation is that a negative value lying exactly on
//    an edge -a w counts in |x| bin a-1 instead of a.
//  - MSE evaluates every bin at its center.
#include "passes/algorithms/Calibration.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qcc::qg {
namespace {

/// Counts of |x|: bins[j] holds [j * width, (j + 1) * width); the last bin is
/// the last non-empty one.
struct AbsHistogram {
  double width = 0;
  std::vector<int64_t> bins;
};

AbsHistogram foldAbs(const Histogram &histogram) {
  const int64_t n = histogram.binCount();
  const auto first =
      static_cast<int64_t>(histogram.lower() / histogram.binWidth()); // exact
  std::span<const int64_t> bins = histogram.bins();
  auto absIndex = [&](int64_t k) {
    const int64_t a = first + k;
    return a >= 0 ? a : -a - 1;
  };
  int64_t top = 0;
  for (int64_t k = 0; k < n; ++k)
    if (bins[k] != 0)
      top = std::max(top, absIndex(k) + 1);
  // A window far from 0 folds onto a long mostly empty |x| axis; merge pairs
  // (exactly, the edges stay multiples of the width) until it has no more
  // bins than the signed histogram.
  int shift = 0;
  while (((top - 1) >> shift) + 1 > n)
    ++shift;
  AbsHistogram result;
  result.width = std::ldexp(histogram.binWidth(), shift);
  result.bins.assign(static_cast<size_t>(((top - 1) >> shift) + 1), 0);
  for (int64_t k = 0; k < n; ++k)
    if (bins[k] != 0)
      result.bins[absIndex(k) >> shift] += bins[k];
  return result;
}

/// Index of the bin holding the value of 0-based rank `rank`.
int64_t binOfRank(std::span<const int64_t> bins, int64_t rank) {
  int64_t seen = 0;
  for (size_t k = 0; k < bins.size(); ++k) {
    seen += bins[k];
    if (seen > rank)
      return static_cast<int64_t>(k);
  }
  return static_cast<int64_t>(bins.size()) - 1;
}

/// 0-based rank of the sample at fraction `fraction` of `count` sorted
/// values: the smallest rank r with (r + 1) >= fraction * count. The slack
/// absorbs rounding in fraction * count (99.99 is not exact).
int64_t upperRank(double fraction, int64_t count) {
  const double r = std::ceil(fraction * static_cast<double>(count) - 1e-9) - 1;
  return std::clamp<int64_t>(static_cast<int64_t>(std::max(r, 0.0)), 0,
                             count - 1);
}

/// Entropy calibration on |x| (TensorRT): for each candidate threshold bin
/// i in [levels, bins], the reference P is the first i bins with every
/// count beyond added to bin i-1; the candidate Q splits the first i bins
/// (without the outliers, so clipping is penalized; with them Q equals P
/// at i == levels and that candidate would always win) into `levels` groups,
/// bin j in group floor(j * levels / i), and spreads each group's count
/// evenly over its bins where P is non-zero. Returns the i minimizing
/// KL(P || Q), the smallest on ties, or 0 when no candidate is finite.
int64_t entropyThresholdBin(std::span<const int64_t> bins, int64_t levels) {
  const auto m = static_cast<int64_t>(bins.size());
  std::vector<double> prefix(m + 1, 0.0), logCount(m, 0.0);
  for (int64_t j = 0; j < m; ++j) {
    prefix[j + 1] = prefix[j] + static_cast<double>(bins[j]);
    if (bins[j] > 0)
      logCount[j] = std::log(static_cast<double>(bins[j]));
  }
  const double total = prefix[m];
  int64_t best = 0;
  double bestDivergence = std::numeric_limits<double>::infinity();
  for (int64_t i = levels; i <= m; ++i) {
    const double kept = prefix[i]; // sum of Q before normalization
    if (kept == 0)
      continue;
    const double lastP = static_cast<double>(bins[i - 1]) + (total - kept);
    // KL = sum p log(p/q) with p = P/total, q = Q/kept
    //    = (1/total) sum P (log P - log Q) + log(kept/total),
    // and Q is constant within a group: one log per group.
    double sum = 0;
    bool finite = true;
    int64_t j = 0;
    for (int64_t group = 0; group < levels && finite; ++group) {
      int64_t end = j;
      double mass = 0;
      int64_t support = 0;
      while (end < i && end * levels / i == group) {
        mass += static_cast<double>(bins[end]);
        const bool nonZeroP = end == i - 1 ? lastP > 0 : bins[end] > 0;
        support += nonZeroP;
        ++end;
      }
      if (support > 0) {
        if (mass == 0) {
          finite = false; // P > 0 where Q == 0
          break;
        }
        const double logQ = std::log(mass / static_cast<double>(support));
        for (; j < end; ++j) {
          if (j == i - 1) {
            if (lastP > 0)
              sum += lastP * (std::log(lastP) - logQ);
          } else if (bins[j] > 0) {
            sum += static_cast<double>(bins[j]) * (logCount[j] - logQ);
          }
        }
      }
      j = end;
    }
    if (!finite)
      continue;
    const double divergence = sum / total + std::log(kept / total);
    if (divergence < bestDivergence) {
      bestDivergence = divergence;
      best = i;
    }
  }
  return best;
}

/// The range a symmetric threshold t becomes: [-t, t], or for asymmetric
/// ranges [-t, t] intersected with the data's [min, max], then widened to
/// hold 0 and kept non-empty.
Range finishRange(double lo, double hi) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  if (!(hi > lo))
    return {-rt::kMinScale, rt::kMinScale};
  return {static_cast<float>(lo), static_cast<float>(hi)};
}

Range rangeForThreshold(double t, const Histogram &histogram,
                        const RangeOptions &options) {
  if (options.symmetric)
    return finishRange(-t, t);
  return finishRange(std::max(-t, static_cast<double>(histogram.min())),
                     std::min(t, static_cast<double>(histogram.max())));
}

/// MSE calibration: the threshold t among the |x| bin edges (and max|x|)
/// whose range gives the smallest sum over signed bins of
/// count * (center - dequantize(quantize(center)))^2 with the format's
/// scale and zero point for that range, clipping included.
double mseThreshold(const Histogram &histogram, const AbsHistogram &folded,
                    double maxAbs, const RangeOptions &options) {
  struct Mass {
    float center;
    double count;
  };
  std::vector<Mass> masses;
  std::span<const int64_t> bins = histogram.bins();
  for (size_t k = 0; k < bins.size(); ++k)
    if (bins[k] != 0)
      masses.push_back({static_cast<float>(histogram.lower() +
                                           (static_cast<double>(k) + 0.5) *
                                               histogram.binWidth()),
                        static_cast<double>(bins[k])});

  double bestT = maxAbs;
  double bestError = std::numeric_limits<double>::infinity();
  const auto edges = static_cast<int64_t>(folded.bins.size());
  for (int64_t j = 1; j <= edges; ++j) {
    const double t = std::min(static_cast<double>(j) * folded.width, maxAbs);
    const Range range = rangeForThreshold(t, histogram, options);
    const rt::ScaleAndZeroPoint params = rt::chooseScaleAndZeroPoint(
        range.min, range.max, options.format, options.symmetric);
    double error = 0;
    for (const Mass &mass : masses) {
      const int32_t code = rt::quantizeValue(mass.center, params.scale,
                                             params.zeroPoint, options.format);
      const double diff = static_cast<double>(mass.center) -
                          rt::dequantizeValue(code, params.scale,
                                              params.zeroPoint, options.format);
      error += mass.count * diff * diff;
    }
    if (error < bestError) {
      bestError = error;
      bestT = t;
    }
    if (t >= maxAbs)
      break; // later edges clamp to the same threshold
  }
  return bestT;
}

} // namespace

const char *rangeMethodName(RangeMethod method) {
  switch (method) {
  case RangeMethod::MinMax:
    return "minmax";
  case RangeMethod::Percentile:
    return "percentile";
  case RangeMethod::Entropy:
    return "entropy";
  case RangeMethod::MSE:
    return "mse";
  }
  return "unknown";
}

std::optional<RangeMethod> parseRangeMethod(std::string_view name) {
  for (RangeMethod method : {RangeMethod::MinMax, RangeMethod::Percentile,
                             RangeMethod::Entropy, RangeMethod::MSE})
    if (name == rangeMethodName(method))
      return method;
  return std::nullopt;
}

Range chooseRange(const Histogram &histogram, const RangeOptions &options) {
  if (histogram.count() == 0)
    return finishRange(0, 0);
  const double minValue = histogram.min(), maxValue = histogram.max();
  const double maxAbs = std::max(std::fabs(minValue), std::fabs(maxValue));

  switch (options.method) {
  case RangeMethod::MinMax:
    return options.symmetric ? finishRange(-maxAbs, maxAbs)
                             : finishRange(minValue, maxValue);

  case RangeMethod::Percentile: {
    // NaN or out-of-range percentiles clamp; 100 is exactly min-max.
    const double p = std::isnan(options.percentile)
                         ? 100.0
                         : std::clamp(options.percentile, 0.0, 100.0);
    const int64_t count = histogram.count();
    if (options.symmetric) {
      const AbsHistogram folded = foldAbs(histogram);
      const int64_t bin = binOfRank(folded.bins, upperRank(p / 100, count));
      const double t =
          std::min(static_cast<double>(bin + 1) * folded.width, maxAbs);
      return finishRange(-t, t);
    }
    // Lower side: the bin of rank floor((1 - p/100) * count), its low edge.
    const double lowFraction = 1 - p / 100;
    const int64_t lowRank = std::clamp<int64_t>(
        static_cast<int64_t>(
            std::floor(lowFraction * static_cast<double>(count) + 1e-9)),
        0, count - 1);
    const int64_t lowBin = binOfRank(histogram.bins(), lowRank);
    const int64_t highBin =
        binOfRank(histogram.bins(), upperRank(p / 100, count));
    const double lo = std::max(histogram.lower() + static_cast<double>(lowBin) *
                                                       histogram.binWidth(),
                               minValue);
    const double hi =
        std::min(histogram.lower() +
                     static_cast<double>(highBin + 1) * histogram.binWidth(),
                 maxValue);
    return finishRange(lo, hi);
  }

  case RangeMethod::Entropy: {
    const AbsHistogram folded = foldAbs(histogram);
    // The levels on one side of zero: 128 for 8-bit formats, 8 for 4-bit.
    const int64_t levels = int64_t{1} << (rt::formatBits(options.format) - 1);
    const int64_t bin = entropyThresholdBin(folded.bins, levels);
    // No candidate (fewer |x| bins than levels): the histogram cannot
    // resolve clipping, keep the whole range.
    const double t =
        bin == 0 ? maxAbs
                 : std::min(static_cast<double>(bin) * folded.width, maxAbs);
    return rangeForThreshold(t, histogram, options);
  }

  case RangeMethod::MSE: {
    const AbsHistogram folded = foldAbs(histogram);
    return rangeForThreshold(mseThreshold(histogram, folded, maxAbs, options),
                             histogram, options);
  }
  }
  return finishRange(minValue, maxValue);
}

} // namespace qcc::qg
