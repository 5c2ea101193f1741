// Unit tests of the weight quantization algorithms. Expected values come from
// independent computations written out here: output errors straight from the
// calibration activations X (never through the Gram-matrix shortcut), RTN by
// its formula, AWQ by exhaustive search over explicitly scaled X and W, and
// SmoothQuant by its closed form.
#include "passes/algorithms/WeightAlgorithms.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

using namespace qcc;
using namespace qcc::qg;

namespace {

/// Row-major matrix of doubles, rows x cols.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> data;
  double &at(int64_t r, int64_t c) { return data[r * cols + c]; }
  double at(int64_t r, int64_t c) const { return data[r * cols + c]; }
};

Matrix gaussian(int64_t rows, int64_t cols, double sigma, std::mt19937 &rng) {
  std::normal_distribution<double> normal(0.0, sigma);
  Matrix m{rows, cols, std::vector<double>(rows * cols)};
  for (double &v : m.data)
    v = normal(rng);
  return m;
}

/// Calibration activations from a low-rank factor model: x = f A + noise,
/// with f of dimension `rank`, so input features are strongly correlated,
/// the situation GPTQ's error feedback exploits.
Matrix correlatedActivations(int64_t samples, int64_t k, int64_t rank,
                             double noise, std::mt19937 &rng) {
  Matrix factors = gaussian(samples, rank, 1.0, rng);
  Matrix loadings = gaussian(rank, k, 1.0, rng);
  Matrix x = gaussian(samples, k, noise, rng);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t r = 0; r < rank; ++r)
      for (int64_t i = 0; i < k; ++i)
        x.at(s, i) += factors.at(s, r) * loadings.at(r, i);
  return x;
}

std::vector<float> toFloat(const Matrix &m) {
  return std::vector<float>(m.data.begin(), m.data.end());
}

/// G = X^T X.
std::vector<double> gramOf(const Matrix &x) {
  const int64_t k = x.cols;
  std::vector<double> gram(k * k, 0.0);
  for (int64_t s = 0; s < x.rows; ++s) {
    const double *row = &x.data[s * k];
    for (int64_t i = 0; i < k; ++i) {
      double *g = &gram[i * k];
      for (int64_t j = 0; j < k; ++j)
        g[j] += row[i] * row[j];
    }
  }
  return gram;
}

/// sum over rows x of X of |x W - x What|^2, straight from the definition
/// (x (W - What) is the same product up to rounding, at half the cost).
double directOutputError(const Matrix &x, std::span<const float> w,
                         std::span<const float> wHat, int64_t n) {
  const int64_t k = x.cols;
  std::vector<double> diff(k * n);
  for (int64_t i = 0; i < k * n; ++i)
    diff[i] = static_cast<double>(w[i]) - static_cast<double>(wHat[i]);
  std::vector<double> y(n);
  double total = 0;
  for (int64_t s = 0; s < x.rows; ++s) {
    std::fill(y.begin(), y.end(), 0.0);
    const double *row = &x.data[s * k];
    for (int64_t i = 0; i < k; ++i) {
      const double *d = &diff[i * n];
      for (int64_t c = 0; c < n; ++c)
        y[c] += row[i] * d[c];
    }
    for (double v : y)
      total += v * v;
  }
  return total;
}

/// Checks that a quantized weight is self-consistent: codes in the format's
/// range, the table shaped as RTN's for the same spec, and the dequantized
/// values exactly what the numeric core makes of the codes and params.
void expectConsistent(const QuantizedWeight &q, int64_t k, int64_t n,
                      const WeightSpec &spec) {
  const int64_t shape[2] = {k, n};
  EXPECT_EQ(q.params.format, spec.format);
  EXPECT_EQ(q.params.granularity.axis, spec.granularity().axis);
  EXPECT_EQ(q.params.granularity.blockSize, spec.granularity().blockSize);
  EXPECT_EQ(static_cast<int64_t>(q.params.scales.size()),
            rt::elementCount(rt::scaleTableShape(shape, spec.granularity())));
  ASSERT_EQ(static_cast<int64_t>(q.codes.size()), k * n);
  for (int32_t code : q.codes) {
    ASSERT_GE(code, rt::codeMin(spec.format));
    ASSERT_LE(code, rt::codeMax(spec.format));
  }
  for (float scale : q.params.scales)
    EXPECT_TRUE(std::isfinite(scale) && scale > 0);
  std::vector<float> expected(k * n);
  rt::dequantizeTensor(q.codes, shape, q.params, expected);
  EXPECT_EQ(expected, q.dequantized);
}

/// Every format with each weight granularity (per channel, groups of 16,
/// per tensor), symmetric and not.
std::vector<WeightSpec> allSpecs() {
  std::vector<WeightSpec> specs;
  for (rt::Format format : rt::kAllFormats)
    for (int64_t group : {0, 16, -1})
      for (bool symmetric : {true, false})
        specs.push_back(WeightSpec{format, group, symmetric});
  return specs;
}

std::string describe(const WeightSpec &spec) {
  return std::string(rt::formatName(spec.format)) + " group " +
         std::to_string(spec.groupSize) +
         (spec.symmetric ? " symmetric" : " asymmetric");
}

//===----------------------------------------------------------------------===//
// RTN and the output error
//===----------------------------------------------------------------------===//

TEST(QuantizeRTN, PerChannelInt8MatchesTheFormula) {
  std::mt19937 rng(7);
  const int64_t k = 16, n = 5;
  std::vector<float> w = toFloat(gaussian(k, n, 1.0, rng));
  QuantizedWeight q = quantizeRTN(w, k, n, WeightSpec{rt::Format::I8, 0, true});
  ASSERT_EQ(q.params.scales.size(), static_cast<size_t>(n));
  EXPECT_TRUE(q.params.zeroPoints.empty());
  for (int64_t c = 0; c < n; ++c) {
    float absMax = 0;
    for (int64_t i = 0; i < k; ++i)
      absMax = std::max(absMax, std::fabs(w[i * n + c]));
    const float scale = absMax / 127.0f;
    EXPECT_EQ(q.params.scales[c], scale);
    for (int64_t i = 0; i < k; ++i) {
      const double code = std::nearbyint(w[i * n + c] / scale);
      EXPECT_EQ(q.codes[i * n + c], static_cast<int32_t>(code));
      EXPECT_EQ(q.dequantized[i * n + c], static_cast<float>(code) * scale);
    }
  }
}

// RTN is the numeric core's tensor functions applied with RTN parameters,
// for every format and granularity.
TEST(QuantizeRTN, MatchesTheNumericCoreForEveryFormat) {
  std::mt19937 rng(6);
  const int64_t k = 48, n = 10;
  const int64_t shape[2] = {k, n};
  std::vector<float> w = toFloat(gaussian(k, n, 2.0, rng));
  w[7] = 0.0f;
  for (const WeightSpec &spec : allSpecs()) {
    SCOPED_TRACE(describe(spec));
    QuantizedWeight q = quantizeRTN(w, k, n, spec);
    rt::QuantParams params = rt::computeRTNParams(
        w, shape, spec.format, spec.granularity(), spec.symmetric);
    std::vector<int32_t> codes(k * n);
    rt::quantizeTensor(w, shape, params, codes);
    EXPECT_EQ(q.params.scales, params.scales);
    EXPECT_EQ(q.params.zeroPoints, params.zeroPoints);
    EXPECT_EQ(q.codes, codes);
    expectConsistent(q, k, n, spec);
  }
}

TEST(QuantizeRTN, GroupsRunAlongInputs) {
  std::mt19937 rng(8);
  const int64_t k = 8, n = 3, group = 4;
  std::vector<float> w = toFloat(gaussian(k, n, 1.0, rng));
  w[5 * n + 1] = 40.0f; // only group 1 of output 1 sees the outlier
  QuantizedWeight q =
      quantizeRTN(w, k, n, WeightSpec{rt::Format::I4, group, true});
  ASSERT_EQ(q.params.scales.size(), static_cast<size_t>(2 * n));
  EXPECT_EQ(q.params.scales[1 * n + 1], 40.0f / 7.0f);
  EXPECT_LT(q.params.scales[0 * n + 1], 40.0f / 7.0f / 4.0f);
  expectConsistent(q, k, n, WeightSpec{rt::Format::I4, group, true});
}

TEST(OutputError, EqualsTheErrorOnTheActivations) {
  std::mt19937 rng(11);
  const int64_t samples = 50, k = 40, n = 7;
  Matrix x = correlatedActivations(samples, k, 5, 0.3, rng);
  std::vector<float> w = toFloat(gaussian(k, n, 1.0, rng));
  std::vector<float> wHat = w;
  std::normal_distribution<float> noise(0.0f, 0.05f);
  for (float &v : wHat)
    v += noise(rng);
  const double expected = directOutputError(x, w, wHat, n);
  EXPECT_NEAR(outputError(w, wHat, k, n, gramOf(x)), expected,
              1e-10 * expected);
  EXPECT_EQ(outputError(w, w, k, n, gramOf(x)), 0.0);
}

//===----------------------------------------------------------------------===//
// GPTQ
//===----------------------------------------------------------------------===//

struct GptqCase {
  const char *name;
  WeightSpec spec;
  bool activationOrder;
  /// Largest GPTQ / RTN output-error ratio accepted.
  double maxRatio;
};
void PrintTo(const GptqCase &c, std::ostream *os) { *os << c.name; }

class GptqVersusRtn : public ::testing::TestWithParam<GptqCase> {};

// The synthetic layer: K = 128 inputs driven by 8 latent factors plus 5%
// noise, 256 calibration rows, so the Hessian has 8 dominant directions and
// the error of one input can be compensated by the inputs correlated with
// it. Measured GPTQ / RTN output-error ratios with this seed: i4 g32 0.038
// (0.016 with activation order), i8 per channel 0.033 (0.014), asymmetric
// u4 g32 0.038, nf4 g32 0.033, f8e4m3 per channel 0.027. The 0.25 bound
// (0.5 for FP8) leaves a margin of 7x or more while still failing for any
// GPTQ that does not feed errors forward (ratio 1).
struct CorrelatedLayer {
  static constexpr int64_t samples = 256, k = 128, n = 64;
  Matrix x;
  std::vector<float> w;
  std::vector<double> gram;
};
const CorrelatedLayer &correlatedLayer() {
  static const CorrelatedLayer layer = [] {
    std::mt19937 rng(2024);
    CorrelatedLayer l;
    l.x = correlatedActivations(l.samples, l.k, 8, 0.05, rng);
    l.w = toFloat(gaussian(l.k, l.n, 0.1, rng));
    l.gram = gramOf(l.x);
    return l;
  }();
  return layer;
}

TEST_P(GptqVersusRtn, ErrorFeedbackBeatsRounding) {
  const GptqCase &param = GetParam();
  const CorrelatedLayer &layer = correlatedLayer();
  const int64_t k = layer.k, n = layer.n;
  const Matrix &x = layer.x;
  const std::vector<float> &w = layer.w;

  QuantizedWeight rtn = quantizeRTN(w, k, n, param.spec);
  QuantizedWeight gptq;
  std::string error;
  GptqOptions options;
  options.activationOrder = param.activationOrder;
  options.blockSize = 48; // not a multiple of the group: blocks must adapt
  ASSERT_TRUE(
      quantizeGPTQ(w, k, n, layer.gram, param.spec, options, gptq, error))
      << error;
  expectConsistent(gptq, k, n, param.spec);

  const double rtnError = directOutputError(x, w, rtn.dequantized, n);
  const double gptqError = directOutputError(x, w, gptq.dequantized, n);
  std::printf("[ ratio    ] %s: GPTQ %.4g / RTN %.4g = %.4f\n", param.name,
              gptqError, rtnError, gptqError / rtnError);
  EXPECT_LE(gptqError, param.maxRatio * rtnError);

  // Scales fixed from the original weights must equal RTN's: per channel
  // always, groups with activation order (static groups), and the first
  // group without it (no error has reached it when its scale is chosen).
  if (param.spec.groupSize == 0 || param.activationOrder) {
    EXPECT_EQ(gptq.params.scales, rtn.params.scales);
    EXPECT_EQ(gptq.params.zeroPoints, rtn.params.zeroPoints);
  } else {
    for (int64_t c = 0; c < n; ++c)
      EXPECT_EQ(gptq.params.scales[c], rtn.params.scales[c]) << c;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Formats, GptqVersusRtn,
    ::testing::Values(
        GptqCase{"i4_g32", {rt::Format::I4, 32, true}, false, 0.25},
        GptqCase{"i4_g32_actorder", {rt::Format::I4, 32, true}, true, 0.25},
        GptqCase{"i8_channel", {rt::Format::I8, 0, true}, false, 0.25},
        GptqCase{"i8_channel_actorder", {rt::Format::I8, 0, true}, true, 0.25},
        GptqCase{"u4_g32_asym", {rt::Format::U4, 32, false}, false, 0.25},
        GptqCase{"nf4_g32", {rt::Format::NF4, 32, true}, false, 0.25},
        GptqCase{
            "f8e4m3_channel", {rt::Format::F8E4M3FN, 0, true}, false, 0.5}),
    [](const ::testing::TestParamInfo<GptqCase> &paramInfo) {
      return std::string(paramInfo.param.name);
    });

/// GPTQ exactly as the paper's Algorithm 1 states it, without lazy batches:
/// H^-1 by Gauss-Jordan elimination, its upper Cholesky factor by the
/// textbook recurrence, and each row's error pushed to all later rows at
/// once. Group scales (without activation order) are chosen from the
/// updated weights when the first row of the group comes up.
std::vector<int32_t> unblockedGptq(std::vector<double> h,
                                   std::vector<double> weight, int64_t k,
                                   int64_t n, const WeightSpec &spec,
                                   double dampening, bool activationOrder) {
  for (int64_t i = 0; i < k; ++i) {
    if (h[i * k + i] == 0) {
      h[i * k + i] = 1;
      for (int64_t c = 0; c < n; ++c)
        weight[i * n + c] = 0;
    }
  }
  double mean = 0;
  for (int64_t i = 0; i < k; ++i)
    mean += h[i * k + i] / k;
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] += dampening * mean;

  std::vector<int64_t> order(k);
  for (int64_t i = 0; i < k; ++i)
    order[i] = i;
  if (activationOrder)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return h[a * k + a] > h[b * k + b];
    });
  Matrix a{k, 2 * k, std::vector<double>(2 * k * k, 0.0)};
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j)
      a.at(i, j) = h[order[i] * k + order[j]];
    a.at(i, k + i) = 1;
  }
  for (int64_t p = 0; p < k; ++p) { // SPD: no pivoting needed
    const double pivot = a.at(p, p);
    for (int64_t j = 0; j < 2 * k; ++j)
      a.at(p, j) /= pivot;
    for (int64_t r = 0; r < k; ++r) {
      if (r == p)
        continue;
      const double f = a.at(r, p);
      for (int64_t j = 0; j < 2 * k; ++j)
        a.at(r, j) -= f * a.at(p, j);
    }
  }
  // Hinv = L L^T by the Cholesky-Banachiewicz recurrence; U = L^T.
  Matrix l{k, k, std::vector<double>(k * k, 0.0)};
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j <= i; ++j) {
      double sum = a.at(i, k + j);
      for (int64_t t = 0; t < j; ++t)
        sum -= l.at(i, t) * l.at(j, t);
      l.at(i, j) = i == j ? std::sqrt(sum) : sum / l.at(j, j);
    }
  }

  const int64_t shape[2] = {k, n};
  std::vector<float> original(weight.begin(), weight.end());
  rt::QuantParams params = rt::computeRTNParams(
      original, shape, spec.format, spec.granularity(), spec.symmetric);
  const rt::ScaleIndexer index(shape, spec.granularity());
  const bool lazyGroups = spec.groupSize > 0 && !activationOrder;
  if (lazyGroups && params.zeroPoints.empty())
    params.zeroPoints.assign(params.scales.size(), 0);
  Matrix work{k, n, {}};
  for (int64_t i = 0; i < k; ++i)
    for (int64_t c = 0; c < n; ++c)
      work.data.push_back(weight[order[i] * n + c]);
  std::vector<int32_t> codes(k * n);
  for (int64_t i = 0; i < k; ++i) {
    const int64_t row = order[i];
    if (lazyGroups && row % spec.groupSize == 0) {
      for (int64_t c = 0; c < n; ++c) {
        float lo = INFINITY, hi = -INFINITY;
        for (int64_t r = row; r < std::min(k, row + spec.groupSize); ++r) {
          lo = std::min(lo, static_cast<float>(work.at(r, c)));
          hi = std::max(hi, static_cast<float>(work.at(r, c)));
        }
        auto sz =
            rt::chooseScaleAndZeroPoint(lo, hi, spec.format, spec.symmetric);
        params.scales[index(row * n + c)] = sz.scale;
        params.zeroPoints[index(row * n + c)] = sz.zeroPoint;
      }
    }
    for (int64_t c = 0; c < n; ++c) {
      const int64_t s = index(row * n + c);
      const int32_t code =
          rt::quantizeValue(static_cast<float>(work.at(i, c)), params.scales[s],
                            params.zeroPoint(s), spec.format);
      const float value = rt::dequantizeValue(code, params.scales[s],
                                              params.zeroPoint(s), spec.format);
      codes[row * n + c] = code;
      const double err = (work.at(i, c) - value) / l.at(i, i);
      for (int64_t j = i + 1; j < k; ++j)
        work.at(j, c) -= err * l.at(j, i);
    }
  }
  return codes;
}

// The blocked implementation (lazy batch updates, bottom-up factorization,
// blocks aligned to groups) must make the same rounding decisions as the
// algorithm written out plainly. Rounding differences in the two orders of
// summation could flip a value sitting exactly between two codes, so two
// mismatches are tolerated (none occur with this data and GCC 12).
TEST(Gptq, MatchesTheUnblockedAlgorithm) {
  std::mt19937 rng(77);
  const int64_t samples = 120, k = 40, n = 6;
  Matrix x = correlatedActivations(samples, k, 6, 0.2, rng);
  for (int64_t s = 0; s < samples; ++s)
    x.at(s, 13) = 0.0; // one dead input
  const std::vector<float> w = toFloat(gaussian(k, n, 1.0, rng));
  const std::vector<double> gram = gramOf(x);
  for (WeightSpec spec : {WeightSpec{rt::Format::I4, 8, true},
                          WeightSpec{rt::Format::U4, 16, false},
                          WeightSpec{rt::Format::I8, 0, true},
                          WeightSpec{rt::Format::NF4, 8, true}}) {
    for (bool order : {false, true}) {
      for (int64_t blockSize : {1, 7, 128}) {
        GptqOptions options;
        options.activationOrder = order;
        options.blockSize = blockSize;
        QuantizedWeight result;
        std::string error;
        ASSERT_TRUE(quantizeGPTQ(w, k, n, gram, spec, options, result, error));
        // The reference gets the float weights, as the implementation does.
        std::vector<int32_t> expected =
            unblockedGptq(gram, std::vector<double>(w.begin(), w.end()), k, n,
                          spec, options.dampening, order);
        int mismatches = 0;
        for (int64_t i = 0; i < k * n; ++i)
          mismatches += result.codes[i] != expected[i];
        EXPECT_LE(mismatches, 2)
            << rt::formatName(spec.format) << " group " << spec.groupSize
            << " order " << order << " block " << blockSize;
      }
    }
  }
}

// With uncorrelated inputs of equal energy the inverse Hessian is diagonal:
// a row's rounding error has no other row to go to, so GPTQ must be RTN.
TEST(Gptq, IdentityGramReproducesRtn) {
  std::mt19937 rng(5);
  const int64_t k = 64, n = 24;
  std::vector<float> w = toFloat(gaussian(k, n, 1.0, rng));
  std::vector<double> identity(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    identity[i * k + i] = 1.0;
  for (WeightSpec spec : allSpecs()) {
    for (bool order : {false, true}) {
      QuantizedWeight gptq;
      std::string error;
      GptqOptions options;
      options.activationOrder = order;
      ASSERT_TRUE(quantizeGPTQ(w, k, n, identity, spec, options, gptq, error));
      QuantizedWeight rtn = quantizeRTN(w, k, n, spec);
      SCOPED_TRACE(describe(spec) + (order ? " act-order" : ""));
      EXPECT_EQ(gptq.codes, rtn.codes);
      EXPECT_EQ(gptq.params.scales, rtn.params.scales);
      EXPECT_EQ(gptq.params.zeroPoints, rtn.params.zeroPoints);
      EXPECT_EQ(gptq.dequantized, rtn.dequantized);
    }
  }
}

TEST(Gptq, IndefiniteHessianIsAnErrorNotANaN) {
  const int64_t k = 2, n = 2;
  const std::vector<float> w = {0.5f, -0.25f, 1.0f, 0.75f};
  const std::vector<double> gram = {1.0, 2.0, 2.0, 1.0}; // eigenvalues 3, -1
  QuantizedWeight result;
  std::string error;
  GptqOptions options;
  options.dampening = 0.0;
  EXPECT_FALSE(
      quantizeGPTQ(w, k, n, gram, WeightSpec{}, options, result, error));
  EXPECT_NE(error.find("positive definite"), std::string::npos) << error;

  error.clear();
  const std::vector<double> badGram = {1.0, NAN, NAN, 1.0};
  EXPECT_FALSE(quantizeGPTQ(w, k, n, badGram, WeightSpec{}, GptqOptions{},
                            result, error));
  EXPECT_FALSE(error.empty());

  error.clear();
  const std::vector<float> nanWeight = {0.5f, NAN, 1.0f, 0.75f};
  const std::vector<double> identity = {1.0, 0.0, 0.0, 1.0};
  EXPECT_FALSE(quantizeGPTQ(nanWeight, k, n, identity, WeightSpec{},
                            GptqOptions{}, result, error));
  EXPECT_FALSE(error.empty());
}

// An input that is zero on every calibration row cannot affect the output:
// its weights go to the zero point and feed no error to the live inputs,
// which are then quantized exactly as without the dead one.
TEST(Gptq, DeadInputsAreZeroedAndIsolated) {
  std::mt19937 rng(9);
  const int64_t samples = 200, k = 24, n = 8, dead = 5;
  Matrix x = correlatedActivations(samples, k, 4, 0.1, rng);
  for (int64_t s = 0; s < samples; ++s)
    x.at(s, dead) = 0.0;
  std::vector<float> w = toFloat(gaussian(k, n, 1.0, rng));
  const WeightSpec spec{rt::Format::I8, 0, true};
  QuantizedWeight result;
  std::string error;
  ASSERT_TRUE(
      quantizeGPTQ(w, k, n, gramOf(x), spec, GptqOptions{}, result, error))
      << error;
  for (int64_t c = 0; c < n; ++c) {
    EXPECT_EQ(result.codes[dead * n + c], 0);
    EXPECT_EQ(result.dequantized[dead * n + c], 0.0f);
  }
  for (float v : result.dequantized)
    EXPECT_TRUE(std::isfinite(v));
  EXPECT_LT(directOutputError(x, w, result.dequantized, n),
            directOutputError(x, w, quantizeRTN(w, k, n, spec).dequantized, n));
}

//===----------------------------------------------------------------------===//
// AWQ
//===----------------------------------------------------------------------===//

// The search must return the exponent an exhaustive search finds when each
// candidate is evaluated the way the layer runs: x / s against Q(s W), with
// the error measured on the activations themselves.
TEST(Awq, SearchAgreesWithExhaustiveEvaluation) {
  std::mt19937 rng(31);
  const int64_t samples = 128, k = 64, n = 32;
  const int gridPoints = 20;
  Matrix x = gaussian(samples, k, 1.0, rng);
  for (int64_t salient : {3, 17, 40})
    for (int64_t s = 0; s < samples; ++s)
      x.at(s, salient) *= 25.0;
  std::vector<float> w = toFloat(gaussian(k, n, 0.2, rng));
  const WeightSpec spec{rt::Format::I4, 32, true};
  const int64_t shape[2] = {k, n};

  std::vector<double> meanAbs(k, 0.0);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t i = 0; i < k; ++i)
      meanAbs[i] += std::fabs(x.at(s, i)) / samples;

  std::vector<double> exhaustive(gridPoints);
  std::vector<std::vector<float>> scalesAt(gridPoints);
  std::vector<std::vector<int32_t>> codesAt(gridPoints);
  for (int g = 0; g < gridPoints; ++g) {
    const double alpha = static_cast<double>(g) / gridPoints;
    double lo = INFINITY, hi = 0;
    for (int64_t i = 0; i < k; ++i) {
      lo = std::min(lo, std::pow(meanAbs[i], alpha));
      hi = std::max(hi, std::pow(meanAbs[i], alpha));
    }
    std::vector<float> s(k);
    for (int64_t i = 0; i < k; ++i)
      s[i] =
          static_cast<float>(std::pow(meanAbs[i], alpha) / std::sqrt(lo * hi));
    std::vector<float> scaledW(k * n);
    for (int64_t i = 0; i < k; ++i)
      for (int64_t c = 0; c < n; ++c)
        scaledW[i * n + c] = static_cast<float>(double(w[i * n + c]) * s[i]);
    rt::QuantParams params = rt::computeRTNParams(
        scaledW, shape, spec.format, spec.granularity(), spec.symmetric);
    std::vector<int32_t> codes(k * n);
    std::vector<float> dequantized(k * n);
    rt::quantizeTensor(scaledW, shape, params, codes);
    rt::dequantizeTensor(codes, shape, params, dequantized);
    // (X / s) Q(sW) against X W, row by row.
    double error = 0;
    std::vector<double> xs(k), y(n), yHat(n);
    for (int64_t r = 0; r < samples; ++r) {
      const double *row = &x.data[r * k];
      for (int64_t i = 0; i < k; ++i)
        xs[i] = row[i] / s[i];
      std::fill(y.begin(), y.end(), 0.0);
      std::fill(yHat.begin(), yHat.end(), 0.0);
      for (int64_t i = 0; i < k; ++i) {
        for (int64_t c = 0; c < n; ++c) {
          y[c] += row[i] * w[i * n + c];
          yHat[c] += xs[i] * dequantized[i * n + c];
        }
      }
      for (int64_t c = 0; c < n; ++c)
        error += (y[c] - yHat[c]) * (y[c] - yHat[c]);
    }
    exhaustive[g] = error;
    scalesAt[g] = s;
    codesAt[g] = codes;
  }
  const int best =
      static_cast<int>(std::min_element(exhaustive.begin(), exhaustive.end()) -
                       exhaustive.begin());
  ASSERT_GT(best, 0) << "the data should make scaling worthwhile";
  std::printf("[ awq      ] best alpha %d/%d, error %.6g (neighbours %.6g, "
              "%.6g) vs %.6g at alpha 0\n",
              best, gridPoints, exhaustive[best], exhaustive[best - 1],
              exhaustive[std::min(best + 1, gridPoints - 1)], exhaustive[0]);

  AwqResult result = searchAWQ(w, k, n, gramOf(x), meanAbs, spec, gridPoints);
  ASSERT_EQ(result.gridErrors.size(), static_cast<size_t>(gridPoints));
  for (int g = 0; g < gridPoints; ++g)
    EXPECT_NEAR(result.gridErrors[g], exhaustive[g], 1e-8 * exhaustive[g])
        << "alpha " << g << "/" << gridPoints;
  EXPECT_EQ(result.alpha, static_cast<double>(best) / gridPoints);
  EXPECT_EQ(result.scales, scalesAt[best]);
  EXPECT_EQ(result.weight.codes, codesAt[best]);
  expectConsistent(result.weight, k, n, spec);
  // Scaling protects the salient channels: better than plain RTN (alpha 0).
  EXPECT_LT(exhaustive[best], 0.9 * exhaustive[0]);
}

TEST(Awq, ZeroStatisticsStayFinite) {
  const int64_t k = 4, n = 2;
  const std::vector<float> w = {1, 2, 3, 4, 5, 6, 7, 8};
  std::vector<double> gram(k * k, 0.0);
  gram[0] = 1.0; // only input 0 ever fires
  const std::vector<double> meanAbs = {2.0, 0.0, 0.0, 0.0};
  AwqResult result =
      searchAWQ(w, k, n, gram, meanAbs, WeightSpec{rt::Format::I8, 0, true}, 5);
  for (float s : result.scales)
    EXPECT_TRUE(std::isfinite(s) && s > 0);
  for (double e : result.gridErrors)
    EXPECT_TRUE(std::isfinite(e));
}

//===----------------------------------------------------------------------===//
// SmoothQuant
//===----------------------------------------------------------------------===//

TEST(SmoothQuant, ScalesFollowTheClosedFormAndKeepTheProduct) {
  std::mt19937 rng(3);
  const int64_t samples = 16, k = 12, n = 6;
  Matrix x = gaussian(samples, k, 1.0, rng);
  x.at(2, 4) = 60.0; // an activation outlier channel
  for (int64_t s = 0; s < samples; ++s)
    x.at(s, 7) = 0.0; // a channel that never fires
  std::vector<float> w = toFloat(gaussian(k, n, 0.5, rng));
  for (int64_t c = 0; c < n; ++c)
    w[9 * n + c] = 0.0f; // a channel with no weight

  std::vector<double> actMax(k, 0.0);
  for (int64_t s = 0; s < samples; ++s)
    for (int64_t i = 0; i < k; ++i)
      actMax[i] = std::max(actMax[i], std::fabs(x.at(s, i)));

  for (double alpha : {0.5, 0.8}) {
    std::vector<float> scales = smoothQuantScales(actMax, w, k, n, alpha);
    ASSERT_EQ(scales.size(), static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) {
      double weightMax = 0;
      for (int64_t c = 0; c < n; ++c)
        weightMax = std::max(weightMax, std::fabs(double(w[i * n + c])));
      const double expected =
          (i == 7 || i == 9)
              ? 1.0
              : std::pow(actMax[i], alpha) / std::pow(weightMax, 1 - alpha);
      EXPECT_NEAR(scales[i], expected, 1e-6 * expected) << i;
    }
    // After migration channel 4's activation range shrinks relative to the
    // others: max|x_4| / s_4 < max|x_4|.
    EXPECT_GT(scales[4], 1.0f);
    for (int64_t r = 0; r < samples; ++r) {
      for (int64_t c = 0; c < n; ++c) {
        double y = 0, smoothed = 0, magnitude = 0;
        for (int64_t i = 0; i < k; ++i) {
          y += x.at(r, i) * w[i * n + c];
          const float xs = static_cast<float>(x.at(r, i) / scales[i]);
          const float ws = w[i * n + c] * scales[i];
          smoothed += double(xs) * double(ws);
          magnitude += std::fabs(x.at(r, i) * w[i * n + c]);
        }
        EXPECT_NEAR(smoothed, y, 1e-6 * magnitude);
      }
    }
  }
}

TEST(SmoothQuant, ExtremeRatiosAreClampedFinite) {
  const std::vector<double> actMax = {1e30, 1e-30};
  const std::vector<float> w = {1e-30f, 1e30f};
  std::vector<float> scales = smoothQuantScales(actMax, w, 2, 1, 0.5);
  EXPECT_EQ(scales[0], 1048576.0f);
  EXPECT_EQ(scales[1], 1.0f / 1048576.0f);
}

} // namespace
