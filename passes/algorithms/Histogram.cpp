// The streaming histogram behind calibration (DESIGN.md section 4): a fixed
// number of bins whose range grows by merging whole bins, so memory stays
// bounded whatever the number or spread of the values.
//
// Every layout is "aligned": the width is c * 2^e with c < 16 (at most 4
// significant bits) and lower = m * width for an integer m with |m| <= 2^48.
// Then each bin edge (m + k) * width is an exact double, bin membership can be
// decided by exact comparisons, and growing the width by 2^k maps every old
// bin into exactly one new bin (new index = floor((m + j) / 2^k) - m'), so a
// grown histogram equals a recount of the same values at the final layout.
#include "passes/algorithms/Calibration.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

namespace qcc::qg {
namespace {

// Largest |lower / width| a layout may have: edges (m + k) * width then need
// at most 48 + 1 + 4 significant bits and stay exact in a double.
constexpr double kMaxEdgeIndex = 281474976710656.0; // 2^48

// Width of a range made of a single value: fine enough to resolve values near
// it, tiny (but normal) for 0.
double degenerateWidth(double value) {
  if (value == 0)
    return std::ldexp(1.0, -40);
  return std::ldexp(1.0, std::max(std::ilogb(value) - 12, -140));
}

// `x` rounded up to at most 4 significant bits.
double roundUpWidth(double x) {
  int exponent = 0;
  std::frexp(x, &exponent); // x = f * 2^exponent, f in [0.5, 1)
  const double quantum = std::ldexp(1.0, exponent - 4);
  return std::ceil(x / quantum) * quantum;
}

// The next larger width with at most 4 significant bits.
double nextWidth(double width) {
  int exponent = 0;
  std::frexp(width, &exponent);
  return width + std::ldexp(1.0, exponent - 4);
}

// floor(x / width) as an exact integer-valued double. The division rounds,
// so the estimate is corrected with exact products (|result| <= 2^48 + 1).
double floorIndex(double x, double width) {
  double q = std::floor(x / width);
  if (q * width > x)
    q -= 1;
  else if ((q + 1) * width <= x)
    q += 1;
  return q;
}

enum class Placement { Low, Centered, High };

// Index m of an aligned window of `binCount` bins of `width` that contains
// [lo, hi], or nullopt if none does. Low puts the slack below (room to grow
// down), High above, Centered splits it.
std::optional<int64_t> placeWindow(double lo, double hi, double width,
                                   int64_t binCount, Placement placement) {
  if (!(std::fabs(lo) / width < kMaxEdgeIndex) ||
      !(std::fabs(hi) / width < kMaxEdgeIndex))
    return std::nullopt;
  // Smallest m with (m + binCount) * width > hi, largest with m * width <= lo.
  const double first =
      floorIndex(hi, width) - static_cast<double>(binCount) + 1;
  const double last = floorIndex(lo, width);
  if (first > last)
    return std::nullopt;
  const auto a = static_cast<int64_t>(first), b = static_cast<int64_t>(last);
  switch (placement) {
  case Placement::Low:
    return a;
  case Placement::High:
    return b;
  case Placement::Centered:
    break;
  }
  // Floor of the midpoint, without overflow.
  return a + (b - a) / 2;
}

// floor(a / 2^shift) for |a| < 2^62; C++20 defines >> on negatives as floor.
int64_t floorShift(int64_t a, int shift) {
  if (shift >= 63)
    return a < 0 ? -1 : 0;
  return a >> shift;
}

} // namespace

Histogram::Histogram(int64_t binCount)
    : bins_(static_cast<size_t>(std::max<int64_t>(binCount, 1)), 0) {}

void Histogram::add(std::span<const float> values) {
  float batchMin = std::numeric_limits<float>::infinity();
  float batchMax = -batchMin;
  int64_t finite = 0;
  for (float v : values) {
    if (!std::isfinite(v)) {
      ++nonFinite_;
      continue;
    }
    batchMin = std::min(batchMin, v);
    batchMax = std::max(batchMax, v);
    ++finite;
  }
  if (finite == 0)
    return;

  const int64_t n = binCount();
  if (count_ == 0) {
    // The first batch sets the layout: the narrowest aligned window that
    // holds it, or a small one around a single repeated value.
    if (batchMin == batchMax) {
      width_ = degenerateWidth(batchMin);
      const double m =
          floorIndex(batchMin, width_) - static_cast<double>(n / 2);
      lower_ = m * width_;
    } else {
      const double lo = batchMin, hi = batchMax;
      width_ = roundUpWidth((hi - lo) / static_cast<double>(n));
      std::optional<int64_t> m;
      while (!(m = placeWindow(lo, hi, width_, n, Placement::Centered)))
        width_ = nextWidth(width_);
      lower_ = static_cast<double>(*m) * width_;
    }
    min_ = batchMin;
    max_ = batchMax;
  } else {
    const double upper = lower_ + static_cast<double>(n) * width_;
    const bool growDown = batchMin < lower_;
    const bool growUp = batchMax >= upper;
    min_ = std::min(min_, batchMin);
    max_ = std::max(max_, batchMax);
    if (growDown || growUp) {
      // Double the width until an aligned window holds every value seen.
      // Old bins outside [min_, max_] are empty, and each occupied old bin
      // lies inside one new bin, so only the data extremes must fit.
      const Placement placement = growDown && growUp ? Placement::Centered
                                  : growDown         ? Placement::Low
                                                     : Placement::High;
      int shift = 0;
      std::optional<int64_t> newIndex;
      double newWidth = width_;
      do {
        ++shift;
        newWidth = std::ldexp(width_, shift);
        newIndex = placeWindow(min_, max_, newWidth, n, placement);
      } while (!newIndex);
      const auto oldIndex = static_cast<int64_t>(lower_ / width_);
      std::vector<int64_t> merged(bins_.size(), 0);
      for (int64_t j = 0; j < n; ++j) {
        if (bins_[j] == 0)
          continue;
        const int64_t target = floorShift(oldIndex + j, shift) - *newIndex;
        assert(target >= 0 && target < n && "growth lost a bin");
        merged[std::clamp<int64_t>(target, 0, n - 1)] += bins_[j];
      }
      bins_ = std::move(merged);
      width_ = newWidth;
      lower_ = static_cast<double>(*newIndex) * width_;
    }
  }

  const double m = lower_ / width_; // exact: lower_ is m * width_
  const double last = static_cast<double>(n - 1);
  for (float value : values) {
    if (!std::isfinite(value))
      continue;
    const double v = value;
    // The quotient is only an estimate (it rounds); the exact edge
    // comparisons below make the bin agree with [edge(k), edge(k + 1)).
    double k = std::clamp(std::floor((v - lower_) / width_), 0.0, last);
    while (k > 0 && v < (m + k) * width_)
      k -= 1;
    while (k < last && v >= (m + k + 1) * width_)
      k += 1;
    ++bins_[static_cast<size_t>(k)];
  }
  count_ += finite;
}

std::string Histogram::checkFields(int64_t binCount, double lower, double width,
                                   float minValue, float maxValue,
                                   int64_t count, int64_t nonFinite,
                                   std::span<const int64_t> bins) {
  if (binCount < 1)
    return "bin count " + std::to_string(binCount) + " is not positive";
  if (static_cast<int64_t>(bins.size()) != binCount)
    return "bins: " + std::to_string(bins.size()) + " entries for " +
           std::to_string(binCount) + " bins";
  if (count < 0)
    return "count is negative";
  if (nonFinite < 0)
    return "non-finite count is negative";
  int64_t remaining = count;
  for (int64_t c : bins) {
    if (c < 0)
      return "bins: negative count";
    if (c > remaining)
      return "bins: counts add up to more than count " + std::to_string(count);
    remaining -= c;
  }
  if (remaining != 0)
    return "bins: counts add up to less than count " + std::to_string(count);

  if (count == 0) {
    if (lower != 0 || width != 0 || minValue != 0 || maxValue != 0)
      return "an empty histogram must have zero lower, width, min and max";
    return "";
  }
  if (!std::isfinite(width) || !(width > 0))
    return "width is not a positive finite number";
  int exponent = 0;
  const double mantissa = std::frexp(width, &exponent);
  if (mantissa * 16 != std::floor(mantissa * 16))
    return "width has more than 4 significant bits";
  if (!std::isfinite(lower))
    return "lower is not finite";
  if (std::fmod(lower, width) != 0 ||
      !(std::fabs(lower / width) <= kMaxEdgeIndex))
    return "lower is not a (small) multiple of width";
  const double upper = lower + static_cast<double>(binCount) * width;
  if (!std::isfinite(upper))
    return "range is not finite";
  if (!std::isfinite(minValue) || !std::isfinite(maxValue) ||
      minValue > maxValue)
    return "min/max are not finite and ordered";
  if (minValue < lower || maxValue >= upper)
    return "min/max lie outside the bins";
  // Bins outside [bin(min), bin(max)] must be empty, those two non-empty.
  const double m = lower / width;
  auto binOf = [&](double v) {
    int64_t k = 0;
    while (k + 1 < binCount && v >= (m + static_cast<double>(k + 1)) * width)
      ++k;
    return k;
  };
  const int64_t first = binOf(minValue), last = binOf(maxValue);
  if (bins[first] == 0 || bins[last] == 0)
    return "the bins of min/max are empty";
  for (int64_t k = 0; k < binCount; ++k)
    if ((k < first || k > last) && bins[k] != 0)
      return "bins outside [min, max] are not empty";
  return "";
}

bool Histogram::restore(int64_t binCount, double lower, double width,
                        float minValue, float maxValue, int64_t count,
                        int64_t nonFinite, std::vector<int64_t> bins,
                        Histogram &out) {
  if (!checkFields(binCount, lower, width, minValue, maxValue, count, nonFinite,
                   bins)
           .empty())
    return false;
  out.bins_ = std::move(bins);
  out.lower_ = lower;
  out.width_ = width;
  out.min_ = minValue;
  out.max_ = maxValue;
  out.count_ = count;
  out.nonFinite_ = nonFinite;
  return true;
}

} // namespace qcc::qg
