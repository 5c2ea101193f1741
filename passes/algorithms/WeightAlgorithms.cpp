// Weight quantization algorithms on a plain K x N matrix: RTN, GPTQ, the AWQ
// scale search, SmoothQuant's migration scales and the Gram-matrix output
// error. All rounding goes through the numeric core (rt::quantizeValue and
// friends), so every format behaves here exactly as it does at run time.
#include "passes/algorithms/WeightAlgorithms.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

namespace qcc::qg {

using rt::Format;

rt::Granularity WeightSpec::granularity() const {
  if (groupSize > 0)
    return rt::Granularity{/*axis=*/0, /*blockSize=*/groupSize};
  if (groupSize == 0)
    return rt::Granularity{/*axis=*/1, /*blockSize=*/0};
  return rt::Granularity{/*axis=*/-1, /*blockSize=*/0};
}

namespace {

/// Where row `row` of a K x N weight finds its scales: element (row, c)
/// uses table entry base + stride * c. The same mapping as rt::ScaleIndexer
/// for the three weight granularities, hoisted out of the inner loops
/// (ScaleIndexer divides for every element).
struct RowScales {
  int64_t base, stride;
};
RowScales rowScales(const rt::Granularity &granularity, int64_t row,
                    int64_t n) {
  if (granularity.isPerTensor())
    return {0, 0};
  if (granularity.axis == 1)
    return {0, 1};
  if (granularity.isPerBlock())
    return {row / granularity.blockSize * n, 1};
  return {row, 0}; // per-axis on axis 0: one scale per input row
}

/// Quantizes one row with `params` and stores its codes and their values.
void quantizeRow(const float *values, int64_t row, int64_t n,
                 const rt::QuantParams &params, int32_t *codes,
                 float *dequantized) {
  const RowScales scales = rowScales(params.granularity, row, n);
  for (int64_t c = 0; c < n; ++c) {
    const int64_t s = scales.base + scales.stride * c;
    const float scale = params.scales[s];
    const int32_t zeroPoint = params.zeroPoint(s);
    codes[c] = rt::quantizeValue(values[c], scale, zeroPoint, params.format);
    dequantized[c] =
        rt::dequantizeValue(codes[c], scale, zeroPoint, params.format);
  }
}

} // namespace

QuantizedWeight quantizeRTN(std::span<const float> w, int64_t k, int64_t n,
                            const WeightSpec &spec) {
  assert(static_cast<int64_t>(w.size()) == k * n);
  const int64_t shape[2] = {k, n};
  QuantizedWeight result;
  result.params = rt::computeRTNParams(w, shape, spec.format,
                                       spec.granularity(), spec.symmetric);
  result.codes.resize(w.size());
  result.dequantized.resize(w.size());
  // Element for element what rt::quantizeTensor and rt::dequantizeTensor
  // compute (the tests hold it to that), with the scale lookup per row.
  for (int64_t i = 0; i < k; ++i)
    quantizeRow(&w[i * n], i, n, result.params, &result.codes[i * n],
                &result.dequantized[i * n]);
  return result;
}

namespace {

/// Lower Cholesky factor of the symmetric matrix `a` (k x k, row-major; the
/// lower triangle is read and overwritten). Right-looking and blocked: each
/// panel of kPanel columns is factored, then its contribution to the
/// trailing matrix is subtracted in one pass of 4-column axpys, so the
/// trailing matrix streams through memory once per panel instead of once
/// per column. Returns the index of the first non-positive pivot, or -1.
int64_t choleskyLower(std::vector<double> &a, int64_t k) {
  constexpr int64_t kPanel = 64;
  std::vector<double> panelT(kPanel * k);
  for (int64_t p0 = 0; p0 < k; p0 += kPanel) {
    const int64_t p1 = std::min(k, p0 + kPanel);
    // The panel's columns for all rows at or below it (row by row: a row
    // needs the panel's earlier rows only).
    for (int64_t i = p0; i < k; ++i) {
      double *rowI = &a[i * k];
      const int64_t last = std::min(i, p1 - 1);
      for (int64_t j = p0; j <= last; ++j) {
        const double *rowJ = &a[j * k];
        double sum = rowI[j];
        for (int64_t t = p0; t < j; ++t)
          sum -= rowI[t] * rowJ[t];
        if (j < i) {
          rowI[j] = sum / rowJ[j];
        } else {
          if (!(sum > 0.0) || !std::isfinite(sum))
            return i;
          rowI[i] = std::sqrt(sum);
        }
      }
    }
    if (p1 == k)
      break;
    // Trailing update a[i][t] -= sum_p L[i][p] L[t][p], p in the panel,
    // with the panel transposed so every inner loop is contiguous.
    const int64_t width = p1 - p0;
    for (int64_t t = p1; t < k; ++t)
      for (int64_t p = 0; p < width; ++p)
        panelT[p * k + t] = a[t * k + p0 + p];
    for (int64_t i = p1; i < k; ++i) {
      double *rowI = &a[i * k];
      int64_t p = 0;
      for (; p + 4 <= width; p += 4) {
        const double c0 = rowI[p0 + p], c1 = rowI[p0 + p + 1],
                     c2 = rowI[p0 + p + 2], c3 = rowI[p0 + p + 3];
        const double *t0 = &panelT[p * k], *t1 = t0 + k, *t2 = t1 + k,
                     *t3 = t2 + k;
        for (int64_t t = p1; t <= i; ++t)
          rowI[t] -= c0 * t0[t] + c1 * t1[t] + c2 * t2[t] + c3 * t3[t];
      }
      for (; p < width; ++p) {
        const double c0 = rowI[p0 + p];
        const double *t0 = &panelT[p * k];
        for (int64_t t = p1; t <= i; ++t)
          rowI[t] -= c0 * t0[t];
      }
    }
  }
  return -1;
}

/// Clears the zero points when all are zero, the layout computeRTNParams
/// produces, so GPTQ's params compare equal to RTN's.
void dropZeroZeroPoints(rt::QuantParams &params) {
  if (std::all_of(params.zeroPoints.begin(), params.zeroPoints.end(),
                  [](int32_t zp) { return zp == 0; }))
    params.zeroPoints.clear();
}

} // namespace

// How the paper's update is computed here. GPTQ quantizes row i of the
// current weights, then subtracts U_ij / U_ii times that row's rounding
// error from every later row j, where U is the upper Cholesky factor of
// H^-1 (H^-1 = U^T U). Writing H = V V^T with V upper triangular (a
// Cholesky factorization eliminating from the last index down), U = V^-1,
// and unrolling the recursion gives the same rows in closed form:
//
//   current_j = w_j + sum_{i<j} (V_ij / V_jj) (w_i - q_i),
//
// with w the weights before any update and q the quantized rows. So one
// factorization of H replaces "Cholesky, inverse, Cholesky": a third of the
// work, and no explicit inverse to lose precision in. The unit tests compare
// against the textbook form. V is the lower Cholesky factor M of H with its
// index order reversed: V_ij = M_{K-1-i, K-1-j}.
bool quantizeGPTQ(std::span<const float> w, int64_t k, int64_t n,
                  std::span<const double> gram, const WeightSpec &spec,
                  const GptqOptions &options, QuantizedWeight &result,
                  std::string &error) {
  if (k < 0 || n < 0 || static_cast<int64_t>(w.size()) != k * n ||
      static_cast<int64_t>(gram.size()) != k * k) {
    error = "GPTQ: weight must be K x N and the Gram matrix K x K";
    return false;
  }
  for (float v : w) {
    if (!std::isfinite(v)) {
      error = "GPTQ: the weight has a non-finite element";
      return false;
    }
  }
  for (double v : gram) {
    if (!std::isfinite(v)) {
      error = "GPTQ: the Gram matrix has a non-finite element";
      return false;
    }
  }

  const int64_t shape[2] = {k, n};
  const rt::Granularity granularity = spec.granularity();
  const Format format = spec.format;
  const bool symmetric = spec.symmetric || !rt::isIntegerFormat(format);

  // Dead inputs (zero diagonal: the feature was 0 on every calibration row)
  // cannot affect the output. Their Hessian diagonal becomes 1 so the matrix
  // stays invertible, and their weights become 0 before any scale is chosen,
  // so they neither widen a range nor feed error into live rows. They then
  // quantize to the zero point.
  std::vector<double> diagonal(k);
  std::vector<float> weight(w.begin(), w.end());
  std::vector<bool> dead(k, false);
  for (int64_t i = 0; i < k; ++i) {
    diagonal[i] = gram[i * k + i];
    if (diagonal[i] != 0.0)
      continue;
    dead[i] = true;
    diagonal[i] = 1.0;
    std::fill_n(&weight[i * n], n, 0.0f);
  }
  double meanDiagonal = 0;
  for (double d : diagonal)
    meanDiagonal += d;
  meanDiagonal /= static_cast<double>(std::max<int64_t>(k, 1));
  const double damping = options.dampening * meanDiagonal;

  // perm[i] is the natural input index processed i-th.
  std::vector<int64_t> perm(k);
  std::iota(perm.begin(), perm.end(), 0);
  if (options.activationOrder)
    std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) {
      return diagonal[a] > diagonal[b];
    });

  // The damped Hessian in processing order, indices reversed (see above).
  std::vector<double> factor(k * k);
  for (int64_t r = 0; r < k; ++r) {
    const int64_t row = perm[k - 1 - r];
    for (int64_t s = 0; s <= r; ++s) {
      const int64_t column = perm[k - 1 - s];
      factor[r * k + s] = row == column               ? diagonal[row] + damping
                          : dead[row] || dead[column] ? 0.0
                                                      : gram[row * k + column];
    }
  }
  const int64_t failedAt = choleskyLower(factor, k);
  if (failedAt >= 0) {
    error = "GPTQ: the damped Hessian is not positive definite (input "
            "feature " +
            std::to_string(perm[k - 1 - failedAt]) + "); raise the dampening";
    return false;
  }
  // feedback[i][j] = V_ij / V_jj for j > i, row-major upper triangle.
  std::vector<double> feedback(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i) {
    const double *rowM = &factor[(k - 1 - i) * k];
    double *row = &feedback[i * k];
    for (int64_t j = i + 1; j < k; ++j)
      row[j] = rowM[k - 1 - j] / factor[(k - 1 - j) * k + (k - 1 - j)];
  }
  factor.clear();
  factor.shrink_to_fit();

  // Scales. Without activation order, groups are fixed lazily from the
  // weights as updated so far, the moment the loop reaches a group's first
  // row: that is what lets the error feedback of earlier groups shape later
  // ranges. With activation order a group's rows are visited out of order,
  // so its scales come from the (dead-zeroed) original weights up front, as
  // do per-channel and per-tensor scales.
  const bool lazyGroups = granularity.isPerBlock() && !options.activationOrder;
  const int64_t groupSize =
      granularity.isPerBlock() ? granularity.blockSize : 0;
  rt::QuantParams params;
  if (lazyGroups) {
    params.format = format;
    params.granularity = granularity;
    const int64_t groups = (k + groupSize - 1) / groupSize;
    params.scales.assign(groups * n, rt::kMinScale);
    if (rt::isIntegerFormat(format))
      params.zeroPoints.assign(groups * n, 0);
  } else {
    params = rt::computeRTNParams(weight, shape, format, granularity,
                                  spec.symmetric);
  }

  // original: w in processing order; current: w with the feedback received
  // so far; rounding: w - q of the rows of the current block.
  std::vector<double> original(k * n), current(k * n);
  for (int64_t i = 0; i < k; ++i)
    std::copy_n(&weight[perm[i] * n], n, &original[i * n]);
  current = original;

  // The paper fixes a group's scales from the group's rows as the
  // sequential algorithm has left them after the rows before the group:
  // there, row j >= r has received w_j - sum_{i<r} U_ij e_i, which is not the
  // truncated closed form held in `current`. The two differ by a triangular
  // solve within the group (with V_RF, V_FF the blocks of V for rows before
  // r and rows of the group, the sequential state is w_F + V_FF^-T V_RF^T
  // (w - q)_R, the best update of the free rows given the fixed ones):
  //   state_j = current_j - sum_{r<=l<j} (V_lj / V_jj) (state_l - w_l).
  std::vector<double> groupState(lazyGroups ? groupSize * n : 0);
  auto fixGroupScales = [&](int64_t firstRow) {
    const int64_t lastRow = std::min(k, firstRow + groupSize);
    for (int64_t j = firstRow; j < lastRow; ++j) {
      double *state = &groupState[(j - firstRow) * n];
      std::copy_n(&current[j * n], n, state);
      for (int64_t l = firstRow; l < j; ++l) {
        const double f = feedback[l * k + j];
        const double *earlier = &groupState[(l - firstRow) * n];
        const double *base = &original[l * n];
        for (int64_t c = 0; c < n; ++c)
          state[c] -= f * (earlier[c] - base[c]);
      }
    }
    const int64_t group = firstRow / groupSize;
    for (int64_t c = 0; c < n; ++c) {
      float lo = static_cast<float>(groupState[c]), hi = lo;
      for (int64_t r = 1; r < lastRow - firstRow; ++r) {
        const float v = static_cast<float>(groupState[r * n + c]);
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      const rt::ScaleAndZeroPoint sz =
          rt::chooseScaleAndZeroPoint(lo, hi, format, symmetric);
      params.scales[group * n + c] = sz.scale;
      if (!params.zeroPoints.empty())
        params.zeroPoints[group * n + c] = sz.zeroPoint;
    }
  };

  // With lazy groups, blocks end on group boundaries so that every row of a
  // group has received all earlier rows' feedback when its scale is fixed.
  // The block length only changes how updates are batched, not the result.
  int64_t blockSize = std::max<int64_t>(options.blockSize, 1);
  if (lazyGroups)
    blockSize = std::max(groupSize, blockSize / groupSize * groupSize);

  result.codes.assign(k * n, 0);
  result.dequantized.assign(k * n, 0.0f);
  std::vector<float> rowValues(n);
  std::vector<double> rounding(blockSize * n);
  for (int64_t begin = 0; begin < k; begin += blockSize) {
    const int64_t end = std::min(k, begin + blockSize);
    for (int64_t i = begin; i < end; ++i) {
      const int64_t row = perm[i];
      if (lazyGroups && row % groupSize == 0)
        fixGroupScales(row);
      const double *rowCurrent = &current[i * n];
      for (int64_t c = 0; c < n; ++c)
        rowValues[c] = static_cast<float>(rowCurrent[c]);
      int32_t *codes = &result.codes[row * n];
      float *values = &result.dequantized[row * n];
      quantizeRow(rowValues.data(), row, n, params, codes, values);
      double *rowRounding = &rounding[(i - begin) * n];
      for (int64_t c = 0; c < n; ++c)
        rowRounding[c] = original[i * n + c] - static_cast<double>(values[c]);
      // Feed this row into the rest of the block now...
      for (int64_t j = i + 1; j < end; ++j) {
        const double f = feedback[i * k + j];
        double *target = &current[j * n];
        for (int64_t c = 0; c < n; ++c)
          target[c] += f * rowRounding[c];
      }
    }
    // ...and into the rows after it once per block (the lazy batch update):
    // each later row is loaded once and receives four block rows per pass.
    for (int64_t j = end; j < k; ++j) {
      double *target = &current[j * n];
      int64_t i = begin;
      for (; i + 4 <= end; i += 4) {
        const double f0 = feedback[i * k + j], f1 = feedback[(i + 1) * k + j],
                     f2 = feedback[(i + 2) * k + j],
                     f3 = feedback[(i + 3) * k + j];
        const double *r0 = &rounding[(i - begin) * n], *r1 = r0 + n,
                     *r2 = r1 + n, *r3 = r2 + n;
        for (int64_t c = 0; c < n; ++c)
          target[c] += f0 * r0[c] + f1 * r1[c] + f2 * r2[c] + f3 * r3[c];
      }
      for (; i < end; ++i) {
        const double f = feedback[i * k + j];
        const double *r = &rounding[(i - begin) * n];
        for (int64_t c = 0; c < n; ++c)
          target[c] += f * r[c];
      }
    }
  }

  dropZeroZeroPoints(params);
  result.params = std::move(params);
  return true;
}

namespace {

/// Two doubles in one SSE2/NEON register (GCC and Clang vector extension).
/// The quadratic form below is the inner loop of the AWQ search; written
/// with plain arrays, GCC 12 does not keep its accumulators in vector
/// registers and runs 3-4x slower.
using Double2 = double __attribute__((vector_size(16)));

Double2 load2(const double *p) {
  Double2 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

/// trace(D^T G D) for a K x N difference D held in double:
///   sum_i G_ii |D_i|^2 + 2 sum_i D_i . (sum_{j>i} G_ij D_j),
/// reading only G's upper triangle (half the work of forming G D). The
/// columns of D go in panels of 8, packed contiguously; two rows of G at a
/// time accumulate into 2 x 8 sums held in registers, so each packed D row
/// loaded serves 16 multiply-adds.
double gramQuadraticForm(const std::vector<double> &diff, int64_t k, int64_t n,
                         std::span<const double> gram) {
  double total = 0;
  for (int64_t i = 0; i < k; ++i) {
    double square = 0;
    for (int64_t c = 0; c < n; ++c)
      square += diff[i * n + c] * diff[i * n + c];
    total += gram[i * k + i] * square;
  }
  constexpr int64_t kWidth = 8;
  std::vector<double> panel(k * kWidth);
  double cross = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kWidth) {
    const int64_t width = std::min(kWidth, n - c0);
    for (int64_t j = 0; j < k; ++j)
      for (int64_t t = 0; t < kWidth; ++t)
        panel[j * kWidth + t] = t < width ? diff[j * n + c0 + t] : 0.0;
    // With K odd the last row has no later rows: nothing to add for it.
    for (int64_t i = 0; i + 1 < k; i += 2) {
      const double *g0 = &gram[i * k], *g1 = &gram[(i + 1) * k];
      const double *next = &panel[(i + 1) * kWidth];
      const Double2 first = {g0[i + 1], g0[i + 1]};
      Double2 a0 = first * load2(next), a1 = first * load2(next + 2),
              a2 = first * load2(next + 4), a3 = first * load2(next + 6);
      Double2 b0 = {0, 0}, b1 = b0, b2 = b0, b3 = b0;
      for (int64_t j = i + 2; j < k; ++j) {
        const double *d = &panel[j * kWidth];
        const Double2 d0 = load2(d), d1 = load2(d + 2), d2 = load2(d + 4),
                      d3 = load2(d + 6);
        const Double2 ga = {g0[j], g0[j]}, gb = {g1[j], g1[j]};
        a0 += ga * d0;
        a1 += ga * d1;
        a2 += ga * d2;
        a3 += ga * d3;
        b0 += gb * d0;
        b1 += gb * d1;
        b2 += gb * d2;
        b3 += gb * d3;
      }
      const double *di = &panel[i * kWidth];
      const Double2 sum = load2(di) * a0 + load2(di + 2) * a1 +
                          load2(di + 4) * a2 + load2(di + 6) * a3 +
                          load2(next) * b0 + load2(next + 2) * b1 +
                          load2(next + 4) * b2 + load2(next + 6) * b3;
      cross += sum[0] + sum[1];
    }
  }
  return total + 2.0 * cross;
}

} // namespace

double outputError(std::span<const float> w, std::span<const float> wHat,
                   int64_t k, int64_t n, std::span<const double> gram) {
  assert(static_cast<int64_t>(w.size()) == k * n && w.size() == wHat.size());
  assert(static_cast<int64_t>(gram.size()) == k * k);
  std::vector<double> diff(k * n);
  for (int64_t i = 0; i < k * n; ++i)
    diff[i] = static_cast<double>(w[i]) - static_cast<double>(wHat[i]);
  return gramQuadraticForm(diff, k, n, gram);
}

AwqResult searchAWQ(std::span<const float> w, int64_t k, int64_t n,
                    std::span<const double> gram,
                    std::span<const double> meanAbs, const WeightSpec &spec,
                    int gridPoints) {
  assert(static_cast<int64_t>(w.size()) == k * n);
  assert(static_cast<int64_t>(meanAbs.size()) == k);
  gridPoints = std::max(gridPoints, 1);

  // A channel that never fires would get scale 0 (or, normalized, an
  // infinite one for the others). Clamping the statistic to 1e-6 of the
  // largest keeps every scale finite and the spread of s within
  // 1e6^alpha, while such channels stay the least protected. A non-finite
  // or all-zero statistic carries no information: all scales are 1.
  double largest = 0;
  bool finite = true;
  for (double m : meanAbs) {
    finite &= std::isfinite(m);
    largest = std::max(largest, std::fabs(m));
  }
  std::vector<double> statistic(k, 1.0);
  if (finite && largest > 0) {
    const double floor =
        std::max(largest * 1e-6, std::numeric_limits<double>::min());
    for (int64_t i = 0; i < k; ++i)
      statistic[i] = std::max(std::fabs(meanAbs[i]), floor);
  }

  AwqResult result;
  result.gridErrors.resize(gridPoints);
  double bestError = std::numeric_limits<double>::infinity();
  std::vector<float> scales(k), scaled(k * n);
  std::vector<double> diff(k * n);
  for (int point = 0; point < gridPoints; ++point) {
    const double alpha = static_cast<double>(point) / gridPoints;
    std::vector<double> raw(k);
    for (int64_t i = 0; i < k; ++i)
      raw[i] = std::pow(statistic[i], alpha);
    const auto [lo, hi] = std::minmax_element(raw.begin(), raw.end());
    const double norm = k > 0 ? std::sqrt(*lo * *hi) : 1.0;
    for (int64_t i = 0; i < k; ++i)
      scales[i] = static_cast<float>(raw[i] / norm);

    for (int64_t i = 0; i < k; ++i)
      for (int64_t c = 0; c < n; ++c)
        scaled[i * n + c] = static_cast<float>(
            static_cast<double>(w[i * n + c]) * static_cast<double>(scales[i]));
    QuantizedWeight quantized = quantizeRTN(scaled, k, n, spec);
    // The layer computes (x / s) Q(s W) = x (Q(s W) / s): the effective
    // weight, kept in double so the measure does not add its own rounding.
    for (int64_t i = 0; i < k; ++i)
      for (int64_t c = 0; c < n; ++c)
        diff[i * n + c] =
            static_cast<double>(w[i * n + c]) -
            static_cast<double>(quantized.dequantized[i * n + c]) /
                static_cast<double>(scales[i]);
    const double error = gramQuadraticForm(diff, k, n, gram);
    result.gridErrors[point] = error;
    // Strictly less: ties keep the smaller alpha. A NaN error (from
    // non-finite inputs) never displaces a number.
    if (point == 0 || error < bestError ||
        (std::isnan(bestError) && !std::isnan(error))) {
      bestError = error;
      result.alpha = alpha;
      result.scales = scales;
      result.weight = std::move(quantized);
    }
  }
  return result;
}

std::vector<float> smoothQuantScales(std::span<const double> activationAbsMax,
                                     std::span<const float> w, int64_t k,
                                     int64_t n, double alpha) {
  assert(static_cast<int64_t>(activationAbsMax.size()) == k);
  assert(static_cast<int64_t>(w.size()) == k * n);
  // Scales are clamped to [2^-20, 2^20]: a channel whose activation or
  // weight range is nearly zero would otherwise get a factor that pushes x / s
  // or s W toward overflow or into subnormals; 2^20 either way is far beyond
  // what real outlier channels need (SmoothQuant's are within 10^2 or so).
  constexpr double kLowest = 1.0 / 1048576.0, kHighest = 1048576.0;
  std::vector<float> scales(k, 1.0f);
  for (int64_t i = 0; i < k; ++i) {
    const double activation = std::fabs(activationAbsMax[i]);
    double weightMax = 0;
    for (int64_t c = 0; c < n; ++c)
      weightMax =
          std::max(weightMax, std::fabs(static_cast<double>(w[i * n + c])));
    if (!(activation > 0) || !(weightMax > 0) || !std::isfinite(activation) ||
        !std::isfinite(weightMax))
      continue;
    const double s =
        std::pow(activation, alpha) / std::pow(weightMax, 1.0 - alpha);
    if (!std::isfinite(s) || !(s > 0)) {
      // Overflow or underflow of the powers themselves: the clamp's bound on
      // the side the ratio went.
      scales[i] = static_cast<float>(std::log(activation) * alpha >
                                             std::log(weightMax) * (1 - alpha)
                                         ? kHighest
                                         : kLowest);
      continue;
    }
    scales[i] = static_cast<float>(std::clamp(s, kLowest, kHighest));
  }
  return scales;
}

} // namespace qcc::qg
