// Mixed precision: choose one candidate format per layer so that the total
// error is least under a size budget, or the size is least under an error
// budget (DESIGN.md section 4), and the size-error frontier. Plain C++.
#ifndef QCC_PASSES_ALGORITHMS_PRECISIONASSIGNMENT_H
#define QCC_PASSES_ALGORITHMS_PRECISIONASSIGNMENT_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qcc::qg {

struct PrecisionCandidate {
  std::string label; ///< e.g. "i8/channel", "i4/g32", "f32"
  int64_t bytes = 0;
  double error = 0; ///< sensitivity: model-output error with only this layer
                    ///< in this format (errors are summed across layers)
};

struct LayerCandidates {
  std::string layer;
  std::vector<PrecisionCandidate> candidates; ///< at least one
};

struct Assignment {
  std::vector<int> choice; ///< candidate index per layer
  int64_t bytes = 0;
  double error = 0;
};

/// Least total error with total bytes <= budget; nullopt if even the
/// smallest choice exceeds it. Exact (dynamic programming over bytes,
/// quantized to at most `resolution` steps of the budget; the returned bytes
/// and error are exact sums, and the budget is never exceeded).
std::optional<Assignment>
assignUnderSize(const std::vector<LayerCandidates> &layers, int64_t budgetBytes,
                int64_t resolution = 20000);

/// Fewest total bytes with total error <= maxError; nullopt if impossible.
std::optional<Assignment>
assignUnderError(const std::vector<LayerCandidates> &layers, double maxError,
                 int64_t resolution = 20000);

/// The Pareto frontier of (bytes, error) over all assignments, sorted by
/// bytes ascending, each point with its assignment; at most `maxPoints`
/// points, spread over the size range.
std::vector<Assignment>
sizeErrorFrontier(const std::vector<LayerCandidates> &layers,
                  int maxPoints = 64);

} // namespace qcc::qg

#endif // QCC_PASSES_ALGORITHMS_PRECISIONASSIGNMENT_H
