// Unit tests of calibration statistics: the streaming histogram, the range
// methods and the statistics file. Expected values come from independent
// computations written out here (recounts, sorting, brute-force KL and
// quantization-error searches over the raw samples, naive loops), never from
// the code under test.
#include "passes/algorithms/Calibration.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <unistd.h>

using namespace qcc;
using namespace qcc::qg;

namespace {

std::vector<float> gaussian(size_t count, double sigma, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, sigma);
  std::vector<float> values(count);
  for (float &v : values)
    v = static_cast<float>(dist(rng));
  return values;
}

// Laplacian samples (scale b) by inverse CDF, plus a few large outliers.
std::vector<float> laplacianWithOutliers(size_t count, double b,
                                         uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(-0.5, 0.5);
  std::vector<float> values(count);
  for (float &v : values) {
    const double u = uniform(rng);
    v = static_cast<float>(-b * (u < 0 ? -1.0 : 1.0) *
                           std::log(1 - 2 * std::fabs(u)));
  }
  for (size_t i = 0; i < 12 && i < count; ++i)
    values[i * 37 % count] = (i % 2 ? -1.0f : 1.0f) * (40.0f + i);
  return values;
}

// Bin counts of `values` at the histogram's final layout, recounted from
// scratch: value v belongs to bin k when lower + k w <= v < lower + (k+1) w.
// Long double keeps the edges exact for these layouts.
std::vector<int64_t> recount(const Histogram &h,
                             const std::vector<float> &values) {
  std::vector<int64_t> bins(h.binCount(), 0);
  const long double lower = h.lower(), width = h.binWidth();
  for (float v : values) {
    if (!std::isfinite(v))
      continue;
    const long double k =
        std::floor((static_cast<long double>(v) - lower) / width);
    EXPECT_GE(k, 0) << v;
    EXPECT_LT(k, h.binCount()) << v;
    if (k >= 0 && k < h.binCount())
      ++bins[static_cast<size_t>(k)];
  }
  return bins;
}

int64_t sum(std::span<const int64_t> bins) {
  int64_t total = 0;
  for (int64_t c : bins)
    total += c;
  return total;
}

//===----------------------------------------------------------------------===//
// Histogram
//===----------------------------------------------------------------------===//

TEST(HistogramTest, FirstBatchSetsRange) {
  Histogram h(64);
  const std::vector<float> values = {0.5f, -1.25f, 3.0f, 2.0f, 0.0f};
  h.add(values);
  EXPECT_EQ(h.count(), 5);
  EXPECT_EQ(h.min(), -1.25f);
  EXPECT_EQ(h.max(), 3.0f);
  EXPECT_LE(h.lower(), -1.25);
  EXPECT_GT(h.lower() + 64 * h.binWidth(), 3.0);
  // Tight: no more than 1/8 wider than the data (4-bit width rounding) plus
  // a bin of alignment slack on each side.
  EXPECT_LE(h.binWidth(), 4.25 / 64 * 1.125 + 1e-12);
  const std::vector<int64_t> expected = recount(h, values);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), h.bins().begin(),
                         h.bins().end()));
}

TEST(HistogramTest, DegenerateRangeGetsPositiveWidth) {
  for (float constant : {0.0f, 7.5f, -1e-20f, 3e38f}) {
    Histogram h(32);
    const std::vector<float> values(10, constant);
    h.add(values);
    EXPECT_GT(h.binWidth(), 0) << constant;
    EXPECT_LE(h.lower(), constant);
    EXPECT_GT(h.lower() + 32 * h.binWidth(), constant);
    EXPECT_EQ(h.min(), constant);
    EXPECT_EQ(h.max(), constant);
    EXPECT_EQ(sum(h.bins()), 10);
  }
}

TEST(HistogramTest, GrowthKeepsCountExtremesAndRecount) {
  Histogram h(128);
  std::vector<float> all;
  const std::vector<std::vector<float>> batches = {
      {0.0f, 1.0f, 0.25f},        // initial range
      {0.5f, 0.75f},              // inside
      {1.5f, 2.75f},              // grows up
      {-3.0f, 0.1f},              // grows down
      {-1000.0f, 1000.0f, 1e-7f}, // grows both ways, many doublings
      {5e5f}};                    // grows up again
  double previousWidth = 0;
  for (const auto &batch : batches) {
    h.add(batch);
    all.insert(all.end(), batch.begin(), batch.end());
    if (previousWidth > 0) {
      EXPECT_TRUE(h.binWidth() == previousWidth ||
                  h.binWidth() >= 2 * previousWidth);
    }
    previousWidth = h.binWidth();
    EXPECT_EQ(h.count(), static_cast<int64_t>(all.size()));
    EXPECT_EQ(sum(h.bins()), h.count());
    EXPECT_EQ(h.min(), *std::min_element(all.begin(), all.end()));
    EXPECT_EQ(h.max(), *std::max_element(all.begin(), all.end()));
    EXPECT_EQ(h.binCount(), 128);
    const std::vector<int64_t> expected = recount(h, all);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), h.bins().begin()));
  }
}

TEST(HistogramTest, ManyBatchesEqualRecountAtFinalLayout) {
  // Batches of growing spread on both sides: each growth merges whole bins,
  // so the result must be the recount of every value at the final layout.
  Histogram h(256);
  std::vector<float> all;
  std::mt19937_64 rng(7);
  for (int batch = 0; batch < 40; ++batch) {
    std::normal_distribution<double> dist(0.3 * batch, 0.1 + 0.5 * batch);
    std::vector<float> values(500);
    for (float &v : values)
      v = static_cast<float>(dist(rng));
    h.add(values);
    all.insert(all.end(), values.begin(), values.end());
  }
  const std::vector<int64_t> expected = recount(h, all);
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), h.bins().begin()));
  EXPECT_EQ(h.count(), static_cast<int64_t>(all.size()));

  // The same values in one batch give a recount-exact histogram too.
  Histogram once(256);
  once.add(all);
  const std::vector<int64_t> expectedOnce = recount(once, all);
  EXPECT_TRUE(std::equal(expectedOnce.begin(), expectedOnce.end(),
                         once.bins().begin()));
  EXPECT_EQ(once.min(), h.min());
  EXPECT_EQ(once.max(), h.max());
}

TEST(HistogramTest, Deterministic) {
  const std::vector<float> values = laplacianWithOutliers(5000, 1.0, 3);
  auto build = [&] {
    Histogram h(512);
    for (size_t i = 0; i < values.size(); i += 700)
      h.add(std::span(values).subspan(
          i, std::min<size_t>(700, values.size() - i)));
    return h;
  };
  const Histogram a = build(), b = build();
  EXPECT_EQ(a.lower(), b.lower());
  EXPECT_EQ(a.binWidth(), b.binWidth());
  EXPECT_TRUE(std::equal(a.bins().begin(), a.bins().end(), b.bins().begin()));
}

TEST(HistogramTest, NonFiniteValuesAreCountedApart) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  Histogram h(16);
  h.add(std::vector<float>{nan, inf, -inf});
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.nonFiniteCount(), 3);
  EXPECT_EQ(h.binWidth(), 0); // no range yet
  h.add(std::vector<float>{1.0f, nan, 2.0f, -inf});
  EXPECT_EQ(h.count(), 2);
  EXPECT_EQ(h.nonFiniteCount(), 5);
  EXPECT_EQ(h.min(), 1.0f);
  EXPECT_EQ(h.max(), 2.0f);
  EXPECT_EQ(sum(h.bins()), 2);
}

TEST(HistogramTest, MemoryStaysBoundedOverHugeRange) {
  // 1e6 values from 1e-30 to 1e30 in magnitude, both signs.
  Histogram h(2048);
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> exponent(-30, 30);
  std::vector<float> batch(10000);
  float minSeen = std::numeric_limits<float>::infinity(), maxSeen = -minSeen;
  for (int b = 0; b < 100; ++b) {
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i] =
          static_cast<float>((i % 2 ? -1 : 1) * std::pow(10.0, exponent(rng)));
      minSeen = std::min(minSeen, batch[i]);
      maxSeen = std::max(maxSeen, batch[i]);
    }
    h.add(batch);
    ASSERT_EQ(h.binCount(), 2048);
    ASSERT_EQ(h.bins().size(), 2048u);
  }
  EXPECT_EQ(h.count(), 1000000);
  EXPECT_EQ(sum(h.bins()), 1000000);
  EXPECT_EQ(h.min(), minSeen);
  EXPECT_EQ(h.max(), maxSeen);
  EXPECT_LE(h.lower(), minSeen);
  EXPECT_GT(h.lower() + 2048 * h.binWidth(), maxSeen);
}

TEST(HistogramTest, RestoreValidatesFields) {
  Histogram h(8);
  h.add(std::vector<float>{-1.0f, 0.5f, 2.0f, 2.0f});
  std::vector<int64_t> bins(h.bins().begin(), h.bins().end());
  Histogram out;
  ASSERT_TRUE(Histogram::restore(8, h.lower(), h.binWidth(), h.min(), h.max(),
                                 h.count(), 1, bins, out));
  EXPECT_EQ(out.count(), 4);
  EXPECT_EQ(out.nonFiniteCount(), 1);
  EXPECT_TRUE(std::equal(bins.begin(), bins.end(), out.bins().begin()));

  auto rejects = [&](int64_t binCount, double lower, double width, float lo,
                     float hi, int64_t count, int64_t nonFinite,
                     std::vector<int64_t> b) {
    Histogram target;
    return !Histogram::restore(binCount, lower, width, lo, hi, count, nonFinite,
                               std::move(b), target);
  };
  const double lower = h.lower(), width = h.binWidth();
  EXPECT_TRUE(rejects(8, lower, width, -1, 2, 5, 0, bins)); // sum != count
  auto negative = bins;
  negative[0] = -1;
  negative[1] += 1;
  EXPECT_TRUE(rejects(8, lower, width, -1, 2, 4, 0, negative));
  EXPECT_TRUE(rejects(7, lower, width, -1, 2, 4, 0, bins)); // size
  EXPECT_TRUE(rejects(8, std::nan(""), width, -1, 2, 4, 0, bins));
  EXPECT_TRUE(rejects(8, lower, 0, -1, 2, 4, 0, bins));
  EXPECT_TRUE(rejects(8, lower, -width, -1, 2, 4, 0, bins));
  EXPECT_TRUE(rejects(8, lower, width, -1, 100, 4, 0, bins)); // max outside
  EXPECT_TRUE(rejects(8, lower, width, 2, -1, 4, 0, bins));   // min > max
  EXPECT_TRUE(rejects(8, lower, width, -1, 2, 4, -1, bins));  // nonFinite
  EXPECT_TRUE(rejects(8, lower + width / 3, width, -1, 2, 4, 0, bins));
  // Empty histograms must have no range.
  EXPECT_FALSE(rejects(8, 0, 0, 0, 0, 0, 3, std::vector<int64_t>(8, 0)));
  EXPECT_TRUE(rejects(8, 0, 1, 0, 0, 0, 0, std::vector<int64_t>(8, 0)));
}

//===----------------------------------------------------------------------===//
// Range methods
//===----------------------------------------------------------------------===//

Range rangeOf(const Histogram &h, RangeMethod method, rt::Format format,
              bool symmetric, double percentile = 99.99) {
  RangeOptions options;
  options.method = method;
  options.format = format;
  options.symmetric = symmetric;
  options.percentile = percentile;
  return chooseRange(h, options);
}

TEST(RangeMethodTest, NamesRoundTrip) {
  for (RangeMethod m : {RangeMethod::MinMax, RangeMethod::Percentile,
                        RangeMethod::Entropy, RangeMethod::MSE})
    EXPECT_EQ(parseRangeMethod(rangeMethodName(m)), m);
  EXPECT_EQ(parseRangeMethod("kl"), std::nullopt);
}

TEST(RangeMethodTest, MinMaxIsExact) {
  Histogram h;
  h.add(std::vector<float>{2.5f, 4.0f, 3.25f});
  Range r = rangeOf(h, RangeMethod::MinMax, rt::Format::U8, false);
  EXPECT_EQ(r.min, 0.0f); // widened to contain 0
  EXPECT_EQ(r.max, 4.0f);
  h.add(std::vector<float>{-7.0f});
  r = rangeOf(h, RangeMethod::MinMax, rt::Format::U8, false);
  EXPECT_EQ(r.min, -7.0f);
  EXPECT_EQ(r.max, 4.0f);
  r = rangeOf(h, RangeMethod::MinMax, rt::Format::I8, true);
  EXPECT_EQ(r.min, -7.0f);
  EXPECT_EQ(r.max, 7.0f);
}

TEST(RangeMethodTest, ZeroTensorGetsTinyNonEmptyRange) {
  Histogram zeros, empty;
  zeros.add(std::vector<float>(100, 0.0f));
  for (const Histogram *h : {&zeros, &empty})
    for (RangeMethod m : {RangeMethod::MinMax, RangeMethod::Percentile,
                          RangeMethod::Entropy, RangeMethod::MSE})
      for (bool symmetric : {true, false}) {
        const Range r = rangeOf(*h, m, rt::Format::I8, symmetric);
        EXPECT_LE(r.min, 0.0f);
        EXPECT_GE(r.max, 0.0f);
        EXPECT_GT(r.max - r.min, 0.0f);
        EXPECT_LE(r.max - r.min, 1e-6f);
      }
}

TEST(RangeMethodTest, PercentileMatchesSortedSamples) {
  const std::vector<float> values = laplacianWithOutliers(50000, 1.0, 5);
  Histogram h;
  h.add(values);
  std::vector<double> sorted(values.begin(), values.end()), sortedAbs;
  std::sort(sorted.begin(), sorted.end());
  for (double v : sorted)
    sortedAbs.push_back(std::fabs(v));
  std::sort(sortedAbs.begin(), sortedAbs.end());
  const double n = static_cast<double>(values.size());
  const double w = h.binWidth();
  for (double p : {50.0, 99.0, 99.9, 99.99}) {
    // Nearest-rank percentile: the smallest sample with at least p% of the
    // samples at or below it.
    const size_t upper =
        static_cast<size_t>(std::llround(std::ceil(p / 100 * n - 1e-6))) - 1;
    const double absPercentile = sortedAbs[upper];
    const Range sym =
        rangeOf(h, RangeMethod::Percentile, rt::Format::I8, true, p);
    EXPECT_GE(sym.max, absPercentile - 1e-6) << p;
    EXPECT_LE(sym.max, absPercentile + w + 1e-6) << p;
    EXPECT_EQ(sym.min, -sym.max);

    const Range asym =
        rangeOf(h, RangeMethod::Percentile, rt::Format::U8, false, p);
    const double hi = std::max(sorted[upper], 0.0);
    const size_t lowerRank =
        static_cast<size_t>(std::floor((1 - p / 100) * n + 1e-6));
    const double lo = std::min(sorted[lowerRank], 0.0);
    EXPECT_GE(asym.max, hi - 1e-6) << p;
    EXPECT_LE(asym.max, hi + w + 1e-6) << p;
    EXPECT_LE(asym.min, lo + 1e-6) << p;
    EXPECT_GE(asym.min, lo - w - 1e-6) << p;
  }
  // 100 is min-max.
  const Range all =
      rangeOf(h, RangeMethod::Percentile, rt::Format::U8, false, 100);
  EXPECT_EQ(all.min, h.min());
  EXPECT_EQ(all.max, h.max());
}

// TensorRT's KL calibration, written out as plainly as possible over a
// histogram of |x| recounted from the raw samples. Returns the chosen
// threshold, the upper edge of the last kept bin, capped at max|x|.
double bruteForceEntropyThreshold(const std::vector<float> &values,
                                  double width, int levels) {
  std::vector<double> hist;
  double maxAbs = 0;
  for (float v : values) {
    const double a = std::fabs(static_cast<double>(v));
    maxAbs = std::max(maxAbs, a);
    const size_t bin = static_cast<size_t>(std::floor(a / width));
    if (hist.size() <= bin)
      hist.resize(bin + 1, 0.0);
    hist[bin] += 1;
  }
  const int bins = static_cast<int>(hist.size());
  double bestKL = std::numeric_limits<double>::infinity();
  int bestI = -1;
  for (int i = levels; i <= bins; ++i) {
    std::vector<double> p(hist.begin(), hist.begin() + i);
    for (int j = i; j < bins; ++j)
      p[i - 1] += hist[j];
    std::vector<double> q(i, 0.0);
    for (int g = 0; g < levels; ++g) {
      // Bins start..stop-1 form quantized level g: j * levels / i == g.
      const int start = (g * i + levels - 1) / levels;
      const int stop = ((g + 1) * i + levels - 1) / levels;
      double total = 0;
      int nonZero = 0;
      for (int j = start; j < stop; ++j) {
        total += hist[j];
        if (p[j] != 0)
          ++nonZero;
      }
      for (int j = start; j < stop; ++j)
        if (p[j] != 0)
          q[j] = total / nonZero;
    }
    double pSum = 0, qSum = 0;
    for (int j = 0; j < i; ++j) {
      pSum += p[j];
      qSum += q[j];
    }
    double kl = 0;
    for (int j = 0; j < i; ++j) {
      if (p[j] == 0)
        continue;
      if (q[j] == 0) {
        kl = std::numeric_limits<double>::infinity();
        break;
      }
      kl += (p[j] / pSum) * std::log((p[j] / pSum) / (q[j] / qSum));
    }
    if (kl < bestKL) {
      bestKL = kl;
      bestI = i;
    }
  }
  if (bestI < 0)
    return maxAbs;
  return std::min(bestI * width, maxAbs);
}

TEST(RangeMethodTest, EntropyMatchesBruteForceKL) {
  struct Case {
    const char *name;
    std::vector<float> values;
    rt::Format format;
    int levels;
  };
  const std::vector<Case> cases = {
      {"gaussian-i8", gaussian(20000, 1.0, 1), rt::Format::I8, 128},
      {"gaussian-i4", gaussian(20000, 2.0, 2), rt::Format::I4, 8},
      {"laplacian-outliers-i8", laplacianWithOutliers(30000, 0.5, 3),
       rt::Format::I8, 128},
      {"laplacian-outliers-u8", laplacianWithOutliers(30000, 1.0, 4),
       rt::Format::U8, 128},
  };
  for (const Case &c : cases) {
    Histogram h;
    h.add(c.values);
    // The test's |x| recount relies on bins aligned to multiples of the
    // width and a range spanning 0 (no |x| coarsening).
    ASSERT_EQ(std::fmod(h.lower(), h.binWidth()), 0.0) << c.name;
    ASSERT_LT(h.lower(), 0) << c.name;
    const double expected =
        bruteForceEntropyThreshold(c.values, h.binWidth(), c.levels);
    const Range r = rangeOf(h, RangeMethod::Entropy, c.format, true);
    EXPECT_EQ(r.max, static_cast<float>(expected)) << c.name;
    EXPECT_EQ(r.min, -r.max) << c.name;
    // A real choice, neither the first candidate nor "keep everything".
    EXPECT_GT(r.max, c.levels * h.binWidth()) << c.name;
    EXPECT_LT(r.max, std::max(-h.min(), h.max())) << c.name;

    // Asymmetric: the same threshold intersected with [min, max].
    const Range a = rangeOf(h, RangeMethod::Entropy, c.format, false);
    EXPECT_EQ(a.max, std::min(static_cast<float>(expected), h.max()));
    EXPECT_EQ(a.min, std::max(-static_cast<float>(expected), h.min()));
  }
}

// Sum of squared quantize/dequantize errors of the raw samples for the range
// a threshold t gives (clipping included).
double rawError(const std::vector<float> &values, double t, double minValue,
                double maxValue, rt::Format format, bool symmetric) {
  float lo = static_cast<float>(-t), hi = static_cast<float>(t);
  if (!symmetric) {
    lo = static_cast<float>(std::min(std::max(-t, minValue), 0.0));
    hi = static_cast<float>(std::max(std::min(t, maxValue), 0.0));
  }
  const rt::ScaleAndZeroPoint sz =
      rt::chooseScaleAndZeroPoint(lo, hi, format, symmetric);
  double error = 0;
  for (float v : values) {
    const float back = rt::dequantizeValue(
        rt::quantizeValue(v, sz.scale, sz.zeroPoint, format), sz.scale,
        sz.zeroPoint, format);
    error += (static_cast<double>(v) - back) * (static_cast<double>(v) - back);
  }
  return error;
}

TEST(RangeMethodTest, MseNearBruteForceOverRawSamples) {
  struct Case {
    const char *name;
    std::vector<float> values;
    rt::Format format;
    bool symmetric;
    bool checkThreshold; // FP8's error curve is too flat to pin a threshold
    // Few bins keep the brute force over raw samples fast, but a bin must
    // stay well below the quantization step (8-bit needs more bins).
    int64_t bins;
  };
  std::vector<float> positive = gaussian(5000, 1.0, 9);
  for (float &v : positive)
    v = std::fabs(v);
  const std::vector<Case> cases = {
      {"gaussian-i4", gaussian(5000, 1.0, 6), rt::Format::I4, true, true, 256},
      {"gaussian-i8", gaussian(3000, 1.0, 7), rt::Format::I8, true, true, 1024},
      {"laplacian-nf4", laplacianWithOutliers(5000, 1.0, 8), rt::Format::NF4,
       true, true, 256},
      {"halfnormal-u4-asym", positive, rt::Format::U4, false, true, 256},
      {"laplacian-fp8", laplacianWithOutliers(5000, 1.0, 10),
       rt::Format::F8E4M3FN, true, false, 256},
  };
  for (const Case &c : cases) {
    Histogram h(c.bins);
    h.add(c.values);
    const double maxAbs = std::max(-h.min(), h.max());
    const double w = h.binWidth();
    std::vector<std::pair<double, double>> curve; // (t, raw error)
    for (int j = 1;; ++j) {
      const double t = std::min(j * w, maxAbs);
      curve.emplace_back(
          t, rawError(c.values, t, h.min(), h.max(), c.format, c.symmetric));
      if (t >= maxAbs)
        break;
    }
    double bestError = std::numeric_limits<double>::infinity();
    for (const auto &[t, e] : curve)
      bestError = std::min(bestError, e);
    const Range r = rangeOf(h, RangeMethod::MSE, c.format, c.symmetric);
    const double chosenT = c.symmetric ? r.max : std::max(r.max, -r.min);
    const double chosenError =
        rawError(c.values, chosenT, h.min(), h.max(), c.format, c.symmetric);
    EXPECT_LE(chosenError, bestError * 1.01) << c.name;
    // Near the optimum the error curve is flat to a fraction of a percent
    // over several bins, so the raw-sample argmin itself moves with sampling
    // noise: the chosen threshold must lie within two bin widths of the
    // thresholds whose raw error is within 0.2% of the optimum.
    double distance = std::numeric_limits<double>::infinity();
    for (const auto &[t, e] : curve)
      if (e <= bestError * 1.002)
        distance = std::min(distance, std::fabs(t - chosenT));
    if (c.checkThreshold) {
      EXPECT_LE(distance, 2 * w) << c.name;
    }
    if (c.symmetric) {
      EXPECT_EQ(r.min, -r.max) << c.name;
    } else {
      EXPECT_GE(r.min, std::min(h.min(), 0.0f)) << c.name;
      EXPECT_LE(r.max, h.max()) << c.name;
    }
  }
}

//===----------------------------------------------------------------------===//
// TensorStats
//===----------------------------------------------------------------------===//

TEST(TensorStatsTest, ChannelStatsAndGramMatchNaiveLoops) {
  const int64_t channels = 37;
  // 150 rows in three calls, crossing the internal row blocks.
  const std::vector<float> values = gaussian(150 * channels, 1.5, 21);
  TensorStats stats;
  const std::vector<size_t> splits = {0, 10 * channels, 100 * channels,
                                      150 * channels};
  for (size_t s = 0; s + 1 < splits.size(); ++s)
    ASSERT_TRUE(stats.addRows(
        std::span(values).subspan(splits[s], splits[s + 1] - splits[s]),
        channels, true));
  EXPECT_EQ(stats.rows, 150);
  EXPECT_EQ(stats.channels(), channels);
  EXPECT_EQ(stats.histogram.count(), 150 * channels);
  ASSERT_EQ(stats.gram.size(), static_cast<size_t>(channels * channels));
  const std::vector<double> mean = stats.channelMeanAbs();
  for (int64_t a = 0; a < channels; ++a) {
    double absMax = 0, absSum = 0;
    for (int64_t r = 0; r < 150; ++r) {
      absMax = std::max(
          absMax, std::fabs(static_cast<double>(values[r * channels + a])));
      absSum += std::fabs(static_cast<double>(values[r * channels + a]));
    }
    EXPECT_EQ(stats.channelAbsMax[a], absMax);
    EXPECT_NEAR(stats.channelAbsSum[a], absSum, 1e-9 * absSum);
    EXPECT_NEAR(mean[a], absSum / 150, 1e-9 * absSum);
    for (int64_t b = 0; b < channels; ++b) {
      double dot = 0;
      for (int64_t r = 0; r < 150; ++r)
        dot += static_cast<double>(values[r * channels + a]) *
               static_cast<double>(values[r * channels + b]);
      EXPECT_NEAR(stats.gram[a * channels + b], dot,
                  1e-9 * (1 + std::fabs(dot)))
          << a << "," << b;
    }
  }
}

TEST(TensorStatsTest, RejectsMismatchedCalls) {
  TensorStats stats;
  ASSERT_TRUE(stats.addRows(std::vector<float>(12, 1.0f), 4, false));
  EXPECT_FALSE(stats.addRows(std::vector<float>(12, 1.0f), 3, false));
  EXPECT_FALSE(stats.addRows(std::vector<float>(12, 1.0f), 4, true));
  EXPECT_FALSE(stats.addRows(std::vector<float>(10, 1.0f), 4, false));
  EXPECT_EQ(stats.rows, 3);
  EXPECT_EQ(stats.histogram.count(), 12);
  EXPECT_TRUE(stats.gram.empty());
  EXPECT_TRUE(TensorStats().channelMeanAbs().empty());
}

TEST(TensorStatsTest, NonFiniteValuesDoNotPoisonChannelStats) {
  TensorStats stats;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  ASSERT_TRUE(
      stats.addRows(std::vector<float>{1.0f, nan, -2.0f, INFINITY}, 2, true));
  EXPECT_EQ(stats.histogram.nonFiniteCount(), 2);
  EXPECT_EQ(stats.channelAbsMax, (std::vector<double>{2.0, 0.0}));
  EXPECT_EQ(stats.gram, (std::vector<double>{5.0, 0.0, 0.0, 0.0}));
}

//===----------------------------------------------------------------------===//
// Statistics file
//===----------------------------------------------------------------------===//

class StatsFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = std::filesystem::temp_directory_path() /
          ("qcc-calibration-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
  }
  void TearDown() override { std::filesystem::remove_all(dir); }

  std::string file(const std::string &name) const {
    return (dir / name).string();
  }

  static std::string readBytes(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void writeBytes(const std::string &path, const std::string &bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  static CalibrationStats sampleStats() {
    CalibrationStats stats;
    stats.sampleCount = 17;
    TensorStats &a = stats.tensors["act_a"];
    a.histogram = Histogram(16);
    EXPECT_TRUE(a.addRows(gaussian(5 * 3, 1.0, 31), 3, true));
    EXPECT_TRUE(a.addRows(std::vector<float>{100.0f, NAN, -3.0f}, 3, true));
    TensorStats &b = stats.tensors["act_b"];
    b.histogram = Histogram(8);
    b.histogram.add(gaussian(40, 4.0, 32));
    stats.tensors["empty"].histogram = Histogram(4);
    return stats;
  }

  std::filesystem::path dir;
};

void expectEqual(const CalibrationStats &a, const CalibrationStats &b) {
  EXPECT_EQ(a.sampleCount, b.sampleCount);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto &[name, x] : a.tensors) {
    ASSERT_TRUE(b.tensors.count(name)) << name;
    const TensorStats &y = b.tensors.at(name);
    EXPECT_EQ(x.histogram.binCount(), y.histogram.binCount());
    EXPECT_EQ(x.histogram.lower(), y.histogram.lower());
    EXPECT_EQ(x.histogram.binWidth(), y.histogram.binWidth());
    EXPECT_EQ(x.histogram.min(), y.histogram.min());
    EXPECT_EQ(x.histogram.max(), y.histogram.max());
    EXPECT_EQ(x.histogram.count(), y.histogram.count());
    EXPECT_EQ(x.histogram.nonFiniteCount(), y.histogram.nonFiniteCount());
    EXPECT_TRUE(std::equal(x.histogram.bins().begin(), x.histogram.bins().end(),
                           y.histogram.bins().begin(),
                           y.histogram.bins().end()));
    EXPECT_EQ(x.channelAbsMax, y.channelAbsMax);
    EXPECT_EQ(x.channelAbsSum, y.channelAbsSum);
    EXPECT_EQ(x.rows, y.rows);
    EXPECT_EQ(x.gram, y.gram);
  }
}

TEST_F(StatsFileTest, RoundTrip) {
  const CalibrationStats stats = sampleStats();
  std::string error;
  ASSERT_TRUE(saveStats(file("s.qstats"), stats, error)) << error;
  CalibrationStats loaded;
  ASSERT_TRUE(loadStats(file("s.qstats"), loaded, error)) << error;
  expectEqual(stats, loaded);
  // Only the final file remains: the temporary was renamed.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            1);
  // Saving the loaded statistics reproduces the file byte for byte.
  ASSERT_TRUE(saveStats(file("t.qstats"), loaded, error)) << error;
  EXPECT_EQ(readBytes(file("s.qstats")), readBytes(file("t.qstats")));
}

TEST_F(StatsFileTest, EveryTruncationFails) {
  std::string error;
  ASSERT_TRUE(saveStats(file("s.qstats"), sampleStats(), error)) << error;
  const std::string bytes = readBytes(file("s.qstats"));
  // Every length through the header and the first fields, then a spread
  // (file writes are slow on some machines), then every length at the end.
  std::vector<size_t> lengths;
  for (size_t length = 0; length < bytes.size(); ++length)
    if (length < 48 || length % 11 == 0 || length + 12 > bytes.size())
      lengths.push_back(length);
  for (size_t length : lengths) {
    writeBytes(file("cut"), bytes.substr(0, length));
    CalibrationStats loaded;
    error.clear();
    EXPECT_FALSE(loadStats(file("cut"), loaded, error)) << length;
    EXPECT_NE(error.find(file("cut")), std::string::npos) << error;
  }
  // Trailing garbage is rejected too.
  writeBytes(file("long"), bytes + "x");
  CalibrationStats loaded;
  EXPECT_FALSE(loadStats(file("long"), loaded, error));
}

// Little-endian u64 at `offset`.
void putU64(std::string &bytes, size_t offset, uint64_t value) {
  for (int b = 0; b < 8; ++b)
    bytes[offset + b] = static_cast<char>((value >> (8 * b)) & 0xFF);
}

TEST_F(StatsFileTest, CorruptionIsRejectedWithTheField) {
  std::string error;
  CalibrationStats one;
  one.sampleCount = 2;
  TensorStats &t = one.tensors["x"];
  t.histogram = Histogram(4);
  ASSERT_TRUE(t.addRows(std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}, 2, true));
  ASSERT_TRUE(saveStats(file("one"), one, error)) << error;
  const std::string good = readBytes(file("one"));
  // Offsets from the documented layout.
  const size_t tensorCount = 8 + 4 + 8;
  const size_t nameLength = tensorCount + 8;
  const size_t binCount = nameLength + 8 + 1;
  const size_t histCount = binCount + 8 + 8 + 8 + 4 + 4;
  const size_t firstBin = histCount + 8 + 8;
  const size_t channels = firstBin + 4 * 8;
  const size_t rows = channels + 8 + 2 * 2 * 8;
  const size_t gramSize = rows + 8;
  const size_t gram = gramSize + 8;
  ASSERT_EQ(good.size(), gram + 4 * 8);

  auto rejected = [&](const std::string &bytes, const std::string &field) {
    writeBytes(file("bad"), bytes);
    CalibrationStats loaded;
    std::string message;
    const bool ok = loadStats(file("bad"), loaded, message);
    EXPECT_FALSE(ok) << field;
    EXPECT_NE(message.find(field), std::string::npos) << message;
    EXPECT_NE(message.find(file("bad")), std::string::npos) << message;
  };
  std::string bytes = good;
  bytes[0] = 'X';
  rejected(bytes, "magic");
  bytes = good;
  bytes[8] = 2;
  rejected(bytes, "version");
  bytes = good;
  putU64(bytes, tensorCount, uint64_t{1} << 60);
  rejected(bytes, "tensor count");
  bytes = good;
  putU64(bytes, nameLength, 1000);
  rejected(bytes, "name length");
  bytes = good;
  putU64(bytes, binCount, uint64_t{1} << 40);
  rejected(bytes, "histogram bin count");
  bytes = good;
  putU64(bytes, histCount, 5); // bins add up to 4
  rejected(bytes, "histogram");
  bytes = good;
  putU64(bytes, firstBin, uint64_t(-1)); // negative bin
  rejected(bytes, "histogram");
  bytes = good;
  putU64(bytes, channels, 3);
  rejected(bytes, "channel");
  bytes = good;
  putU64(bytes, rows, uint64_t(-5));
  rejected(bytes, "rows");
  bytes = good;
  putU64(bytes, gramSize, 3);
  rejected(bytes, "gram size");
  bytes = good;
  putU64(bytes, gram + 8, std::bit_cast<uint64_t>(std::nan(""))); // gram[0][1]
  rejected(bytes, "gram[0][1]");
  bytes = good;
  putU64(bytes, channels + 8, std::bit_cast<uint64_t>(-1.0)); // absMax[0]
  rejected(bytes, "channelAbsMax[0]");

  // Two tensors with the same name.
  CalibrationStats two;
  two.tensors["ab"].histogram.add(std::vector<float>{1.0f});
  two.tensors["ac"].histogram.add(std::vector<float>{2.0f});
  ASSERT_TRUE(saveStats(file("two"), two, error)) << error;
  bytes = readBytes(file("two"));
  const size_t second = bytes.rfind("ac");
  ASSERT_NE(second, std::string::npos);
  bytes[second + 1] = 'b';
  rejected(bytes, "appears twice");
}

TEST_F(StatsFileTest, SurvivesEverySingleByteCorruption) {
  // Whatever a flipped byte does, loading either fails with an error or
  // yields statistics the range methods and addRows can use (ASan/UBSan
  // watch for the rest).
  // A small file keeps this fast where file writes are slow.
  CalibrationStats small;
  small.sampleCount = 3;
  TensorStats &t = small.tensors["x"];
  t.histogram = Histogram(4);
  ASSERT_TRUE(t.addRows(std::vector<float>{1.0f, -2.0f, 0.5f, 3.0f}, 2, true));
  small.tensors["y"].histogram = Histogram(2);
  small.tensors["y"].histogram.add(std::vector<float>{-1.0f, 4.0f});
  std::string error;
  ASSERT_TRUE(saveStats(file("s.qstats"), small, error)) << error;
  const std::string good = readBytes(file("s.qstats"));
  for (size_t at = 0; at < good.size(); ++at) {
    std::string bytes = good;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5A);
    writeBytes(file("flip"), bytes);
    CalibrationStats loaded;
    error.clear();
    if (!loadStats(file("flip"), loaded, error)) {
      EXPECT_FALSE(error.empty()) << at;
      continue;
    }
    for (auto &[name, tensor] : loaded.tensors) {
      for (RangeMethod m : {RangeMethod::MinMax, RangeMethod::Percentile,
                            RangeMethod::Entropy, RangeMethod::MSE}) {
        const Range r = rangeOf(tensor.histogram, m, rt::Format::I8, false);
        EXPECT_LE(r.min, 0.0f) << at;
        EXPECT_GE(r.max, 0.0f) << at;
        EXPECT_LT(r.min, r.max) << at;
      }
      if (tensor.channels() > 0)
        tensor.addRows(std::vector<float>(tensor.channels(), 1.0f),
                       tensor.channels(), !tensor.gram.empty());
      tensor.histogram.add(std::vector<float>{-1e30f, 1e30f});
    }
  }
}

TEST_F(StatsFileTest, MissingFileAndUnwritableDirectory) {
  CalibrationStats loaded;
  std::string error;
  EXPECT_FALSE(loadStats(file("absent"), loaded, error));
  EXPECT_NE(error.find("absent"), std::string::npos);
  error.clear();
  EXPECT_FALSE(saveStats(file("no/such/dir/s.qstats"), sampleStats(), error));
  EXPECT_FALSE(error.empty());
}

} // namespace
