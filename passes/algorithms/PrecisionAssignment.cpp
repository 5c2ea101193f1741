// Mixed-precision assignment as a multiple-choice knapsack: dynamic
// programming over byte counts rounded up to a fixed number of steps (so a
// size budget can never be exceeded), and an exact Pareto-set merge for the
// size-error frontier.
#include "passes/algorithms/PrecisionAssignment.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace qcc::qg {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

bool wellFormed(const std::vector<LayerCandidates> &layers) {
  return std::all_of(layers.begin(), layers.end(),
                     [](const LayerCandidates &layer) {
                       return !layer.candidates.empty() &&
                              layer.candidates.size() <= INT16_MAX;
                     });
}

int64_t candidateBytes(const PrecisionCandidate &candidate) {
  return std::max<int64_t>(candidate.bytes, 0);
}

/// Exact totals of a choice, summed in layer order (the order the dynamic
/// programs add in, so the error compares equal to theirs).
Assignment makeAssignment(const std::vector<LayerCandidates> &layers,
                          std::vector<int> choice) {
  Assignment assignment;
  for (size_t l = 0; l < layers.size(); ++l) {
    const PrecisionCandidate &candidate = layers[l].candidates[choice[l]];
    assignment.bytes += candidateBytes(candidate);
    assignment.error += candidate.error;
  }
  assignment.choice = std::move(choice);
  return assignment;
}

/// Per layer, the candidate with the fewest bytes (ties: least error), or the
/// least error (ties: fewest bytes).
std::vector<int> extremeChoice(const std::vector<LayerCandidates> &layers,
                               bool fewestBytes) {
  std::vector<int> choice(layers.size(), 0);
  for (size_t l = 0; l < layers.size(); ++l) {
    const auto &candidates = layers[l].candidates;
    for (size_t c = 1; c < candidates.size(); ++c) {
      const PrecisionCandidate &a = candidates[c], &b = candidates[choice[l]];
      const int64_t aBytes = candidateBytes(a), bBytes = candidateBytes(b);
      const bool better =
          fewestBytes
              ? (aBytes < bBytes || (aBytes == bBytes && a.error < b.error))
              : (a.error < b.error || (a.error == b.error && aBytes < bBytes));
      if (better)
        choice[l] = static_cast<int>(c);
    }
  }
  return choice;
}

/// Multiple-choice knapsack table: least error for each total cost, where a
/// candidate costs ceil(bytes / step) units. Rounding up makes the units an
/// overestimate, so a total within `capacity` units is within capacity x
/// step bytes.
class KnapsackTable {
public:
  KnapsackTable(const std::vector<LayerCandidates> &layerList,
                int64_t unitBytes, int64_t capacity)
      : layers(layerList), step(unitBytes), choices(layerList.size()) {
    best.assign(capacity + 1, kInfinity);
    best[0] = 0;
    std::vector<double> next(capacity + 1);
    int64_t reachable = 0; // highest cost with a finite entry so far
    for (size_t l = 0; l < layers.size(); ++l) {
      const auto &candidates = layers[l].candidates;
      std::fill(next.begin(), next.end(), kInfinity);
      std::vector<int16_t> &choice = choices[l];
      choice.assign(capacity + 1, -1);
      int64_t widest = 0;
      for (size_t c = 0; c < candidates.size(); ++c) {
        const int64_t units = cost(candidates[c]);
        if (units > capacity)
          continue;
        widest = std::max(widest, units);
        const double error = candidates[c].error;
        const int64_t top = std::min(reachable, capacity - units);
        for (int64_t total = 0; total <= top; ++total) {
          if (best[total] == kInfinity)
            continue;
          const double sum = best[total] + error;
          if (sum < next[total + units]) {
            next[total + units] = sum;
            choice[total + units] = static_cast<int16_t>(c);
          }
        }
      }
      reachable = std::min(capacity, reachable + widest);
      best.swap(next);
    }
  }

  int64_t cost(const PrecisionCandidate &candidate) const {
    const int64_t bytes = candidateBytes(candidate);
    return bytes / step + (bytes % step != 0 ? 1 : 0);
  }

  /// Least error at exactly `total` units (infinity if unreachable).
  double errorAt(int64_t total) const { return best[total]; }

  std::vector<int> choiceAt(int64_t total) const {
    std::vector<int> choice(layers.size());
    for (size_t l = layers.size(); l-- > 0;) {
      const int c = choices[l][total];
      choice[l] = c;
      total -= cost(layers[l].candidates[c]);
    }
    return choice;
  }

private:
  const std::vector<LayerCandidates> &layers;
  int64_t step;
  std::vector<double> best;
  std::vector<std::vector<int16_t>> choices;
};

int64_t stepFor(int64_t range, int64_t resolution) {
  resolution = std::max<int64_t>(resolution, 1);
  return std::max<int64_t>(1, range / resolution + (range % resolution != 0));
}

/// True when `a` is a better size-budget answer than `b`.
bool lessErrorThenBytes(const Assignment &a, const Assignment &b) {
  return a.error < b.error || (a.error == b.error && a.bytes < b.bytes);
}

} // namespace

std::optional<Assignment>
assignUnderSize(const std::vector<LayerCandidates> &layers, int64_t budgetBytes,
                int64_t resolution) {
  if (budgetBytes < 0 || !wellFormed(layers))
    return std::nullopt;
  Assignment smallest = makeAssignment(layers, extremeChoice(layers, true));
  if (smallest.bytes > budgetBytes)
    return std::nullopt;
  // The unconstrained optimum needs no search when it fits.
  Assignment accurate = makeAssignment(layers, extremeChoice(layers, false));
  if (accurate.bytes <= budgetBytes)
    return accurate;

  const int64_t step = stepFor(budgetBytes, resolution);
  const KnapsackTable table(layers, step, budgetBytes / step);
  Assignment answer = smallest;
  int64_t bestTotal = -1;
  for (int64_t total = 0; total <= budgetBytes / step; ++total)
    if (table.errorAt(total) < kInfinity &&
        (bestTotal < 0 || table.errorAt(total) < table.errorAt(bestTotal)))
      bestTotal = total;
  // Rounding up can price the fewest-bytes choice out of the table although
  // it fits; it remains the fallback and a candidate answer.
  if (bestTotal >= 0) {
    Assignment found = makeAssignment(layers, table.choiceAt(bestTotal));
    if (lessErrorThenBytes(found, answer))
      answer = std::move(found);
  }
  return answer;
}

std::optional<Assignment>
assignUnderError(const std::vector<LayerCandidates> &layers, double maxError,
                 int64_t resolution) {
  if (!wellFormed(layers) || std::isnan(maxError))
    return std::nullopt;
  Assignment accurate = makeAssignment(layers, extremeChoice(layers, false));
  if (accurate.error > maxError)
    return std::nullopt;
  Assignment smallest = makeAssignment(layers, extremeChoice(layers, true));
  if (smallest.error <= maxError)
    return smallest;

  int64_t largestTotal = 0;
  for (const LayerCandidates &layer : layers) {
    int64_t largest = 0;
    for (const PrecisionCandidate &candidate : layer.candidates)
      largest = std::max(largest, candidateBytes(candidate));
    largestTotal += largest;
  }
  const int64_t step = stepFor(largestTotal, resolution);
  int64_t capacity = 0;
  for (const LayerCandidates &layer : layers) {
    int64_t largest = 0;
    for (const PrecisionCandidate &candidate : layer.candidates) {
      const int64_t bytes = candidateBytes(candidate);
      largest = std::max(largest, bytes / step + (bytes % step != 0));
    }
    capacity += largest;
  }
  // The cheapest cost whose least error meets the bound: with step 1 that is
  // the exact optimum; otherwise it is off by at most one step per layer.
  // Errors are exact sums, so the bound itself is never violated.
  const KnapsackTable table(layers, step, capacity);
  for (int64_t total = 0; total <= capacity; ++total) {
    if (table.errorAt(total) <= maxError) {
      Assignment found = makeAssignment(layers, table.choiceAt(total));
      return found.bytes < accurate.bytes ? found : accurate;
    }
  }
  return accurate;
}

std::vector<Assignment>
sizeErrorFrontier(const std::vector<LayerCandidates> &layers, int maxPoints) {
  if (maxPoints <= 0 || !wellFormed(layers))
    return {};

  // Pareto sets of partial assignments, one per layer prefix. An assignment
  // dominated on a prefix stays dominated whatever the remaining layers add,
  // so merging frontiers layer by layer is exact. Each node remembers its
  // parent on the previous level so assignments are rebuilt at the end.
  struct Node {
    int64_t bytes;
    double error;
    int32_t parent;
    int32_t candidate;
  };
  // Beyond this many points per prefix (possible only with many layers and
  // candidates), each prefix keeps the least-error point per byte bucket:
  // every returned point is still a real assignment with exact totals and
  // non-dominated among those returned, but may miss a point the thinned
  // prefixes dropped.
  constexpr size_t kMaxPrefixPoints = 1 << 15;
  std::vector<std::vector<Node>> levels;
  std::vector<Node> front = {Node{0, 0.0, -1, -1}};
  for (const LayerCandidates &layer : layers) {
    std::vector<Node> merged;
    merged.reserve(front.size() * layer.candidates.size());
    for (size_t p = 0; p < front.size(); ++p)
      for (size_t c = 0; c < layer.candidates.size(); ++c)
        merged.push_back(
            Node{front[p].bytes + candidateBytes(layer.candidates[c]),
                 front[p].error + layer.candidates[c].error,
                 static_cast<int32_t>(p), static_cast<int32_t>(c)});
    std::sort(merged.begin(), merged.end(), [](const Node &a, const Node &b) {
      return a.bytes < b.bytes || (a.bytes == b.bytes && a.error < b.error);
    });
    std::vector<Node> next;
    double bestError = kInfinity;
    for (const Node &node : merged) {
      if (node.error < bestError) {
        next.push_back(node);
        bestError = node.error;
      }
    }
    if (next.size() > kMaxPrefixPoints) {
      const int64_t lo = next.front().bytes, hi = next.back().bytes;
      const double width =
          static_cast<double>(hi - lo + 1) / (kMaxPrefixPoints / 2);
      std::vector<Node> thinned;
      for (size_t i = 0; i < next.size(); ++i) {
        const bool lastInBucket =
            i + 1 == next.size() ||
            static_cast<int64_t>((next[i].bytes - lo) / width) !=
                static_cast<int64_t>((next[i + 1].bytes - lo) / width);
        if (lastInBucket)
          thinned.push_back(next[i]);
      }
      next.swap(thinned);
    }
    levels.push_back(front);
    front.swap(next);
  }

  // Pick at most maxPoints: both ends, then repeatedly the point nearest the
  // middle of the widest byte gap between picked neighbours. Bytes are
  // strictly increasing along a Pareto set, so every gap is positive.
  const size_t count = front.size();
  std::vector<size_t> picked;
  if (count <= static_cast<size_t>(maxPoints)) {
    for (size_t i = 0; i < count; ++i)
      picked.push_back(i);
  } else if (maxPoints == 1) {
    picked.push_back(0); // the smallest model
  } else {
    picked = {0, count - 1};
    while (picked.size() < static_cast<size_t>(maxPoints)) {
      size_t widest = 0;
      int64_t widestGap = -1;
      for (size_t s = 0; s + 1 < picked.size(); ++s) {
        const int64_t gap = front[picked[s + 1]].bytes - front[picked[s]].bytes;
        if (picked[s + 1] - picked[s] > 1 && gap > widestGap) {
          widestGap = gap;
          widest = s;
        }
      }
      const size_t a = picked[widest], b = picked[widest + 1];
      const int64_t middle = front[a].bytes + widestGap / 2;
      auto it = std::lower_bound(
          front.begin() + a + 1, front.begin() + b, middle,
          [](const Node &node, int64_t bytes) { return node.bytes < bytes; });
      size_t m = static_cast<size_t>(it - front.begin());
      if (m == b ||
          (m > a + 1 && middle - front[m - 1].bytes < front[m].bytes - middle))
        m -= 1;
      picked.insert(picked.begin() + widest + 1, m);
    }
  }

  std::vector<Assignment> frontier;
  for (size_t index : picked) {
    std::vector<int> choice(layers.size());
    int32_t node = static_cast<int32_t>(index);
    for (size_t l = layers.size(); l-- > 0;) {
      const Node &current =
          l + 1 == layers.size() ? front[node] : levels[l + 1][node];
      choice[l] = current.candidate;
      node = current.parent;
    }
    frontier.push_back(makeAssignment(layers, std::move(choice)));
  }
  return frontier;
}

} // namespace qcc::qg
