// Unit tests of mixed-precision assignment against brute-force enumeration of
// every assignment of small random instances. Errors are multiples of 1/64,
// so every sum is exact in double and optima compare with ==.
#include "passes/algorithms/PrecisionAssignment.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

using namespace qcc::qg;

namespace {

/// Random candidates; `tradeOff` sorts each layer's errors against its bytes
/// (more bytes, less error) as real formats behave, which makes Pareto sets
/// large. Without it, layers also have dominated candidates.
std::vector<LayerCandidates> randomLayers(int layerCount, int candidateCount,
                                          std::mt19937 &rng,
                                          bool tradeOff = false) {
  std::uniform_int_distribution<int64_t> bytes(10, 1000);
  std::uniform_int_distribution<int> sixtyFourths(0, 640);
  std::vector<LayerCandidates> layers(layerCount);
  for (int l = 0; l < layerCount; ++l) {
    layers[l].layer = "layer" + std::to_string(l);
    for (int c = 0; c < candidateCount; ++c)
      layers[l].candidates.push_back(PrecisionCandidate{
          "c" + std::to_string(c), bytes(rng), sixtyFourths(rng) / 64.0});
    if (tradeOff) {
      auto &cs = layers[l].candidates;
      std::vector<double> errors;
      for (auto &c : cs)
        errors.push_back(c.error);
      std::sort(errors.rbegin(), errors.rend());
      std::sort(cs.begin(), cs.end(),
                [](const auto &a, const auto &b) { return a.bytes < b.bytes; });
      for (size_t c = 0; c < cs.size(); ++c)
        cs[c].error = errors[c];
    }
  }
  return layers;
}

/// Every assignment with its exact totals.
std::vector<Assignment> enumerate(const std::vector<LayerCandidates> &layers) {
  std::vector<Assignment> all;
  std::vector<int> choice(layers.size(), 0);
  while (true) {
    Assignment a;
    a.choice = choice;
    for (size_t l = 0; l < layers.size(); ++l) {
      a.bytes += layers[l].candidates[choice[l]].bytes;
      a.error += layers[l].candidates[choice[l]].error;
    }
    all.push_back(a);
    size_t l = 0;
    while (l < layers.size() &&
           ++choice[l] == static_cast<int>(layers[l].candidates.size()))
      choice[l++] = 0;
    if (l == layers.size())
      break;
  }
  return all;
}

/// Checks that the reported totals are the sums of the reported choice.
void expectTotalsMatchChoice(const std::vector<LayerCandidates> &layers,
                             const Assignment &a) {
  ASSERT_EQ(a.choice.size(), layers.size());
  int64_t bytes = 0;
  double error = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    ASSERT_GE(a.choice[l], 0);
    ASSERT_LT(a.choice[l], static_cast<int>(layers[l].candidates.size()));
    bytes += layers[l].candidates[a.choice[l]].bytes;
    error += layers[l].candidates[a.choice[l]].error;
  }
  EXPECT_EQ(a.bytes, bytes);
  EXPECT_EQ(a.error, error);
}

TEST(PrecisionAssignment, UnderSizeMatchesBruteForce) {
  std::mt19937 rng(42);
  for (int instance = 0; instance < 20; ++instance) {
    auto layers = randomLayers(6, 3, rng);
    auto all = enumerate(layers);
    int64_t lo = INT64_MAX, hi = 0;
    for (const Assignment &a : all) {
      lo = std::min(lo, a.bytes);
      hi = std::max(hi, a.bytes);
    }
    EXPECT_FALSE(assignUnderSize(layers, lo - 1).has_value());
    for (int64_t budget = lo; budget <= hi + 10; budget += (hi - lo) / 23 + 1) {
      double optimum = INFINITY;
      for (const Assignment &a : all)
        if (a.bytes <= budget)
          optimum = std::min(optimum, a.error);
      auto found = assignUnderSize(layers, budget);
      ASSERT_TRUE(found.has_value()) << budget;
      expectTotalsMatchChoice(layers, *found);
      EXPECT_LE(found->bytes, budget);
      EXPECT_EQ(found->error, optimum)
          << "instance " << instance << " budget " << budget;
    }
  }
}

// A coarse grid rounds every candidate up: answers may lose optimality but
// never break the budget, and stay close to the optimum.
TEST(PrecisionAssignment, CoarseResolutionNeverExceedsTheBudget) {
  std::mt19937 rng(43);
  for (int instance = 0; instance < 20; ++instance) {
    auto layers = randomLayers(6, 3, rng);
    auto all = enumerate(layers);
    int64_t lo = INT64_MAX, hi = 0;
    for (const Assignment &a : all) {
      lo = std::min(lo, a.bytes);
      hi = std::max(hi, a.bytes);
    }
    for (int64_t budget = lo; budget <= hi; budget += (hi - lo) / 11 + 1) {
      auto found = assignUnderSize(layers, budget, /*resolution=*/40);
      ASSERT_TRUE(found.has_value()) << budget;
      expectTotalsMatchChoice(layers, *found);
      EXPECT_LE(found->bytes, budget);
      // Rounding costs at most one step per layer: the answer is at least
      // as good as the optimum for a budget 6 steps tighter.
      const int64_t step = (budget + 39) / 40;
      double tighter = INFINITY;
      for (const Assignment &a : all)
        if (a.bytes <= budget - 6 * step)
          tighter = std::min(tighter, a.error);
      EXPECT_LE(found->error, tighter);
    }
  }
}

TEST(PrecisionAssignment, UnderErrorMatchesBruteForce) {
  std::mt19937 rng(44);
  for (int instance = 0; instance < 20; ++instance) {
    auto layers = randomLayers(6, 3, rng);
    auto all = enumerate(layers);
    double lo = INFINITY, hi = 0;
    for (const Assignment &a : all) {
      lo = std::min(lo, a.error);
      hi = std::max(hi, a.error);
    }
    EXPECT_FALSE(assignUnderError(layers, lo - 1.0 / 64).has_value());
    for (int step = 0; step <= 25; ++step) {
      const double maxError = lo + (hi - lo) * step / 24.0;
      int64_t optimum = INT64_MAX;
      for (const Assignment &a : all)
        if (a.error <= maxError)
          optimum = std::min(optimum, a.bytes);
      auto found = assignUnderError(layers, maxError);
      ASSERT_TRUE(found.has_value()) << maxError;
      expectTotalsMatchChoice(layers, *found);
      EXPECT_LE(found->error, maxError);
      EXPECT_EQ(found->bytes, optimum)
          << "instance " << instance << " maxError " << maxError;
    }
    // A coarse grid may cost bytes but never the error bound.
    for (int step = 0; step <= 8; ++step) {
      const double maxError = lo + (hi - lo) * step / 8.0;
      auto found = assignUnderError(layers, maxError, /*resolution=*/30);
      ASSERT_TRUE(found.has_value());
      expectTotalsMatchChoice(layers, *found);
      EXPECT_LE(found->error, maxError);
    }
  }
}

/// The Pareto set as (bytes, error), deduplicated, sorted by bytes.
std::vector<std::pair<int64_t, double>>
bruteForcePareto(const std::vector<Assignment> &all) {
  std::vector<std::pair<int64_t, double>> pareto;
  for (const Assignment &a : all) {
    bool dominated = false;
    for (const Assignment &b : all) {
      if (b.bytes <= a.bytes && b.error <= a.error &&
          (b.bytes < a.bytes || b.error < a.error)) {
        dominated = true;
        break;
      }
    }
    if (!dominated)
      pareto.emplace_back(a.bytes, a.error);
  }
  std::sort(pareto.begin(), pareto.end());
  pareto.erase(std::unique(pareto.begin(), pareto.end()), pareto.end());
  return pareto;
}

TEST(PrecisionAssignment, FrontierIsTheParetoSet) {
  std::mt19937 rng(45);
  for (int instance = 0; instance < 20; ++instance) {
    auto layers = randomLayers(6, 3, rng, /*tradeOff=*/instance % 2 == 0);
    const auto pareto = bruteForcePareto(enumerate(layers));

    auto frontier = sizeErrorFrontier(layers, /*maxPoints=*/1000);
    std::vector<std::pair<int64_t, double>> points;
    for (const Assignment &a : frontier) {
      expectTotalsMatchChoice(layers, a);
      points.emplace_back(a.bytes, a.error);
    }
    EXPECT_EQ(points, pareto) << "instance " << instance;
    if (instance % 2 != 0)
      continue;

    // Thinned: fewer points, each still Pareto-optimal, sorted, both ends.
    ASSERT_GT(pareto.size(), 8u);
    auto thinned = sizeErrorFrontier(layers, 8);
    ASSERT_EQ(thinned.size(), 8u);
    for (size_t i = 0; i < thinned.size(); ++i) {
      expectTotalsMatchChoice(layers, thinned[i]);
      EXPECT_TRUE(std::binary_search(
          pareto.begin(), pareto.end(),
          std::make_pair(thinned[i].bytes, thinned[i].error)));
      if (i > 0) {
        EXPECT_LT(thinned[i - 1].bytes, thinned[i].bytes);
      }
    }
    EXPECT_EQ(thinned.front().bytes, pareto.front().first);
    EXPECT_EQ(thinned.back().error, pareto.back().second);
  }
}

TEST(PrecisionAssignment, FrontierPointsSpreadOverTheSizeRange) {
  // One layer with 101 candidates on a straight Pareto line: bytes 100 + i,
  // error 100 - i. Five points spread evenly are 0, 25, 50, 75, 100.
  std::vector<LayerCandidates> layers(1);
  for (int i = 0; i <= 100; ++i)
    layers[0].candidates.push_back(PrecisionCandidate{"c", 100 + i, 100.0 - i});
  auto frontier = sizeErrorFrontier(layers, 5);
  ASSERT_EQ(frontier.size(), 5u);
  for (int p = 0; p < 5; ++p)
    EXPECT_EQ(frontier[p].bytes, 100 + 25 * p);
}

TEST(PrecisionAssignment, EdgeCases) {
  std::vector<LayerCandidates> none;
  auto empty = assignUnderSize(none, 0);
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->bytes, 0);
  EXPECT_FALSE(assignUnderSize(none, -1).has_value());

  std::vector<LayerCandidates> missing(1); // a layer without candidates
  EXPECT_FALSE(assignUnderSize(missing, 100).has_value());
  EXPECT_FALSE(assignUnderError(missing, 100).has_value());
  EXPECT_TRUE(sizeErrorFrontier(missing).empty());

  // The exact fewest-bytes assignment fits although rounding each candidate
  // up to the grid (step 10) would price it at 11 steps > 10.
  std::vector<LayerCandidates> tight(2);
  tight[0].candidates = {{"a", 45, 1.0}, {"b", 90, 0.0}};
  tight[1].candidates = {{"a", 55, 1.0}, {"b", 90, 0.0}};
  auto fit = assignUnderSize(tight, 100, /*resolution=*/10);
  ASSERT_TRUE(fit.has_value());
  EXPECT_EQ(fit->bytes, 100);
  EXPECT_EQ(fit->error, 2.0);
}

} // namespace
