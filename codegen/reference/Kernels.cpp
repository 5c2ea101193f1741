// Reference kernels for normalization, contractions, pooling, reductions and
// data movement. Sums accumulate in double and round once to the result type.
#include "codegen/reference/Kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace mlir;
using namespace qcc::qg;

namespace qcc::ref {

namespace {
int64_t normalizeAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

/// Splits a shape around `axis` into (outer, extent, inner) counts.
struct AxisSplit {
  int64_t outer = 1, extent = 1, inner = 1;
};
AxisSplit splitAt(ArrayRef<int64_t> shape, int64_t axis) {
  AxisSplit split;
  for (int64_t d = 0; d < axis; ++d)
    split.outer *= shape[d];
  split.extent = shape[axis];
  for (size_t d = axis + 1; d < shape.size(); ++d)
    split.inner *= shape[d];
  return split;
}
} // namespace

//===----------------------------------------------------------------------===//
// Softmax and normalization
//===----------------------------------------------------------------------===//

FailureOr<Tensor> evalNormalization(Operation *op, ArrayRef<Tensor> operands) {
  Tensor result = zeros(op->getResult(0).getType());
  const Type type = result.elementType;
  const Tensor &x = operands[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());

  if (auto softmax = dyn_cast<SoftmaxOp>(op)) {
    AxisSplit s = splitAt(
        x.shape, normalizeAxis(static_cast<int64_t>(softmax.getAxis()), rank));
    for (int64_t o = 0; o < s.outer; ++o)
      for (int64_t in = 0; in < s.inner; ++in) {
        auto at = [&](int64_t a) { return (o * s.extent + a) * s.inner + in; };
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t a = 0; a < s.extent; ++a)
          max = std::max(max, x.data[at(a)]);
        double sum = 0;
        for (int64_t a = 0; a < s.extent; ++a)
          sum += std::exp(x.data[at(a)] - max);
        for (int64_t a = 0; a < s.extent; ++a)
          result.data[at(a)] =
              roundToType(type, std::exp(x.data[at(a)] - max) / sum);
      }
    return result;
  }

  if (auto norm = dyn_cast<LayerNormOp>(op)) {
    const int64_t axis =
        normalizeAxis(static_cast<int64_t>(norm.getAxis()), rank);
    const int64_t groups = countOf(ArrayRef<int64_t>(x.shape).take_front(axis));
    const int64_t width = countOf(ArrayRef<int64_t>(x.shape).drop_front(axis));
    const double epsilon = norm.getEpsilon().convertToFloat();
    const bool hasBias = operands.size() > 2;
    for (int64_t g = 0; g < groups; ++g) {
      const double *row = x.data.data() + g * width;
      double mean = 0, variance = 0;
      for (int64_t j = 0; j < width; ++j)
        mean += row[j];
      mean /= width;
      for (int64_t j = 0; j < width; ++j)
        variance += (row[j] - mean) * (row[j] - mean);
      variance /= width;
      const double invStd = 1.0 / std::sqrt(variance + epsilon);
      for (int64_t j = 0; j < width; ++j) {
        double y = (row[j] - mean) * invStd * operands[1].data[j];
        if (hasBias)
          y += operands[2].data[j];
        result.data[g * width + j] = roundToType(type, y);
      }
    }
    return result;
  }

  auto batchNorm = cast<BatchNormOp>(op);
  const double epsilon = batchNorm.getEpsilon().convertToFloat();
  AxisSplit s = splitAt(x.shape, 1);
  for (int64_t n = 0; n < s.outer; ++n)
    for (int64_t c = 0; c < s.extent; ++c) {
      const double scale = operands[1].data[c], bias = operands[2].data[c],
                   mean = operands[3].data[c], var = operands[4].data[c];
      const double invStd = 1.0 / std::sqrt(var + epsilon);
      for (int64_t i = 0; i < s.inner; ++i) {
        const int64_t at = (n * s.extent + c) * s.inner + i;
        result.data[at] =
            roundToType(type, (x.data[at] - mean) * invStd * scale + bias);
      }
    }
  return result;
}

//===----------------------------------------------------------------------===//
// Contractions, pooling and reductions
//===----------------------------------------------------------------------===//

Tensor permuted(const Tensor &x, ArrayRef<int64_t> perm) {
  Tensor result;
  result.elementType = x.elementType;
  for (int64_t p : perm)
    result.shape.push_back(x.shape[p]);
  result.data.resize(x.data.size());
  SmallVector<int64_t> inStrides = stridesOf(x.shape),
                       outStrides = stridesOf(result.shape);
  const int64_t rank = perm.size();
  for (int64_t i = 0; i < result.size(); ++i) {
    int64_t source = 0;
    for (int64_t d = 0; d < rank; ++d)
      source += ((i / outStrides[d]) % result.shape[d]) * inStrides[perm[d]];
    result.data[i] = x.data[source];
  }
  return result;
}

Tensor matmul(const Tensor &lhs, const Tensor &rhs, Tensor result) {
  // Promote 1-D operands, then broadcast the batch dimensions.
  SmallVector<int64_t> a(lhs.shape), b(rhs.shape);
  if (a.size() == 1)
    a.insert(a.begin(), 1);
  if (b.size() == 1)
    b.push_back(1);
  const int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
  SmallVector<int64_t> batch(result.shape);
  batch.resize(result.shape.size() - (lhs.shape.size() != 1) -
               (rhs.shape.size() != 1));
  SmallVector<int64_t> aBatch(ArrayRef<int64_t>(a).drop_back(2)),
      bBatch(ArrayRef<int64_t>(b).drop_back(2));
  BroadcastMap aMap(aBatch, batch), bMap(bBatch, batch);
  const int64_t batches = countOf(batch);
  for (int64_t t = 0; t < batches; ++t) {
    const double *pa = lhs.data.data() + aMap(t) * m * k;
    const double *pb = rhs.data.data() + bMap(t) * k * n;
    double *pc = result.data.data() + t * m * n;
    // Row by row with one accumulator per output column: each sum still
    // adds its k products in order p = 0..k-1, but B is read along rows.
    std::vector<double> sums(n);
    for (int64_t i = 0; i < m; ++i) {
      std::fill(sums.begin(), sums.end(), 0.0);
      for (int64_t p = 0; p < k; ++p) {
        const double ap = pa[i * k + p];
        const double *row = pb + p * n;
        for (int64_t j = 0; j < n; ++j)
          sums[j] += ap * row[j];
      }
      for (int64_t j = 0; j < n; ++j)
        pc[i * n + j] = roundToType(result.elementType, sums[j]);
    }
  }
  return result;
}

namespace {
/// The epilogue of qg.qlinear and qg.qconv2d by their definition (QGOps.td),
/// in f32 as written there, for output feature j of an exact sum.
struct IntegerEpilogue {
  rt::QuantParams x, w;
  std::optional<rt::QuantParams> y;
  const Tensor *bias = nullptr;
  float clipMin = -std::numeric_limits<float>::infinity();
  float clipMax = std::numeric_limits<float>::infinity();
  bool hasClipMin = false, hasClipMax = false;
  rt::Activation activation = rt::Activation::None;

  int64_t weightZeroPoint(int64_t j) const {
    return w.zeroPoint(w.scales.size() > 1 ? j : 0);
  }

  /// The float value of the f32 sum `acc` of column j: scaled, plus the
  /// bias, through the activation.
  float floatValue(float acc, int64_t j) const {
    const float scale = x.scales[0] * w.scales[w.scales.size() > 1 ? j : 0];
    const float v =
        bias ? std::fma(acc, scale, static_cast<float>(bias->data[j]))
             : acc * scale;
    return static_cast<float>(rt::applyActivation(activation, v));
  }

  double apply(int64_t acc, int64_t j) const {
    const float scale = x.scales[0] * w.scales[w.scales.size() > 1 ? j : 0];
    float q;
    if (!y || activation != rt::Activation::None) {
      const float v = floatValue(static_cast<float>(acc), j);
      if (!y)
        return std::min(std::max(v, clipMin), clipMax);
      q = static_cast<float>(
          rt::quantizeInteger(v, y->scales[0], y->zeroPoint(0), y->format));
    } else {
      if (bias)
        acc += static_cast<int64_t>(bias->data[j]);
      const float multiplier = scale / y->scales[0];
      q = std::nearbyint(static_cast<float>(acc) * multiplier) +
          static_cast<float>(y->zeroPoint(0));
    }
    float lo = static_cast<float>(rt::codeMin(y->format)),
          hi = static_cast<float>(rt::codeMax(y->format));
    if (hasClipMin)
      lo =
          std::max(lo, static_cast<float>(rt::quantizeValue(
                           clipMin, y->scales[0], y->zeroPoint(0), y->format)));
    if (hasClipMax)
      hi =
          std::min(hi, static_cast<float>(rt::quantizeValue(
                           clipMax, y->scales[0], y->zeroPoint(0), y->format)));
    return std::min(std::max(q, lo), hi);
  }
};

template <typename Op>
FailureOr<IntegerEpilogue> epilogueOf(Op op, ArrayRef<Tensor> operands) {
  auto quantOf = [](Value v) {
    return cast<QuantType>(cast<RankedTensorType>(v.getType()).getElementType())
        .getParams();
  };
  FailureOr<rt::QuantParams> x = quantOf(op.getInput()),
                             w = quantOf(op.getWeight());
  if (failed(x) || failed(w))
    return op.emitOpError("reference interpreter: scale table not available");
  IntegerEpilogue e{*x, *w, std::nullopt};
  auto resultType = cast<RankedTensorType>(op.getType()).getElementType();
  if (auto quant = dyn_cast<QuantType>(resultType)) {
    FailureOr<rt::QuantParams> params = quant.getParams();
    if (failed(params))
      return op.emitOpError("reference interpreter: scale table not available");
    e.y = *params;
  }
  if (operands.size() > 2)
    e.bias = &operands[2];
  if (op.getClipMin()) {
    e.clipMin = op.getClipMin()->convertToFloat();
    e.hasClipMin = true;
  }
  if (op.getClipMax()) {
    e.clipMax = op.getClipMax()->convertToFloat();
    e.hasClipMax = true;
  }
  if (std::optional<StringRef> name = op.getActivation()) {
    std::optional<rt::Activation> activation = rt::parseActivation(*name);
    if (!activation)
      return op.emitOpError("reference interpreter: unknown activation ")
             << *name;
    e.activation = *activation;
  }
  return e;
}

/// qg.qlinear: the integer sum in int64, then the epilogue. FP8: the sum of
/// the exact products in double, rounded once to f32, then the float
/// epilogue.
FailureOr<Tensor> evalQLinear(QLinearOp op, ArrayRef<Tensor> operands) {
  Tensor result = zeros(op.getType());
  FailureOr<IntegerEpilogue> e = epilogueOf(op, operands);
  if (failed(e))
    return failure();
  const Tensor &input = operands[0], &weight = operands[1];
  const int64_t n = weight.shape[0], k = weight.shape[1];
  const int64_t rows = k ? input.size() / k : 0;
  if (rt::isFloat8Format(e->x.format)) {
    auto decode = [](double code, rt::Format format) {
      return static_cast<double>(
          rt::decodeFloat8(static_cast<uint8_t>(code), format));
    };
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += decode(input.data[i * k + p], e->x.format) *
                 decode(weight.data[j * k + p], e->w.format);
        const float v = e->floatValue(static_cast<float>(acc), j);
        result.data[i * n + j] = std::min(std::max(v, e->clipMin), e->clipMax);
      }
    return result;
  }
  const int64_t zx = e->x.zeroPoint(0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t zw = e->weightZeroPoint(j);
      int64_t acc = 0;
      for (int64_t p = 0; p < k; ++p)
        acc += (static_cast<int64_t>(input.data[i * k + p]) - zx) *
               (static_cast<int64_t>(weight.data[j * k + p]) - zw);
      result.data[i * n + j] = e->apply(acc, j);
    }
  return result;
}

/// qg.qconv2d: padded positions hold the input zero point, so they add
/// nothing; the sum over (c, kh, kw) in int64, then the epilogue.
FailureOr<Tensor> evalQConv2D(QConv2DOp op, ArrayRef<Tensor> operands) {
  Tensor result = zeros(op.getType());
  FailureOr<IntegerEpilogue> e = epilogueOf(op, operands);
  if (failed(e))
    return failure();
  const Tensor &x = operands[0], &w = operands[1];
  ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(),
                    dil = op.getDilations();
  const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3],
                F = w.shape[0], KH = w.shape[2], KW = w.shape[3],
                OH = result.shape[2], OW = result.shape[3];
  const int64_t zx = e->x.zeroPoint(0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t f = 0; f < F; ++f) {
      const int64_t zw = e->weightZeroPoint(f);
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          int64_t acc = 0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kh = 0; kh < KH; ++kh) {
              const int64_t ih = oh * strides[0] + kh * dil[0] - pads[0];
              if (ih < 0 || ih >= H)
                continue;
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t iw = ow * strides[1] + kw * dil[1] - pads[1];
                if (iw < 0 || iw >= W)
                  continue;
                acc += (static_cast<int64_t>(
                            x.data[((n * C + c) * H + ih) * W + iw]) -
                        zx) *
                       (static_cast<int64_t>(
                            w.data[((f * C + c) * KH + kh) * KW + kw]) -
                        zw);
              }
            }
          result.data[((n * F + f) * OH + oh) * OW + ow] = e->apply(acc, f);
        }
    }
  return result;
}
} // namespace

FailureOr<Tensor> evalContraction(Operation *op, ArrayRef<Tensor> operands) {
  Tensor result = zeros(op->getResult(0).getType());
  const Type type = result.elementType;
  const Tensor &x = operands[0];

  if (auto qconv = dyn_cast<QConv2DOp>(op))
    return evalQConv2D(qconv, operands);
  if (auto qlinear = dyn_cast<QLinearOp>(op))
    return evalQLinear(qlinear, operands);
  if (auto mm = dyn_cast<MatMulOp>(op)) {
    // Folded transposes: the product reads the permuted operands.
    if (mm.hasOperandPerms())
      return matmul(mm.getLhsPerm() ? permuted(operands[0], *mm.getLhsPerm())
                                    : operands[0],
                    mm.getRhsPerm() ? permuted(operands[1], *mm.getRhsPerm())
                                    : operands[1],
                    std::move(result));
    return matmul(operands[0], operands[1], std::move(result));
  }

  if (auto gemm = dyn_cast<GemmOp>(op)) {
    const Tensor &a = operands[0], &b = operands[1];
    const bool ta = gemm.getTransA(), tb = gemm.getTransB();
    const int64_t m = result.shape[0], n = result.shape[1];
    const int64_t k = ta ? a.shape[0] : a.shape[1];
    const double alpha = gemm.getAlpha().convertToFloat(),
                 beta = gemm.getBeta().convertToFloat();
    std::optional<BroadcastMap> cMap;
    if (operands.size() > 2)
      cMap.emplace(operands[2].shape, result.shape);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p)
          sum += a.data[ta ? p * m + i : i * k + p] *
                 b.data[tb ? j * k + p : p * n + j];
        double y = alpha * sum;
        if (cMap)
          y += beta * operands[2].data[(*cMap)(i * n + j)];
        result.data[i * n + j] = roundToType(type, y);
      }
    return result;
  }

  if (auto conv = dyn_cast<Conv2DOp>(op)) {
    const Tensor &w = operands[1];
    ArrayRef<int64_t> strides = conv.getStrides(), pads = conv.getPads(),
                      dilations = conv.getDilations();
    const int64_t group = static_cast<int64_t>(conv.getGroup());
    const int64_t batch = x.shape[0], cin = x.shape[1], h = x.shape[2],
                  wd = x.shape[3];
    const int64_t cout = result.shape[1], oh = result.shape[2],
                  ow = result.shape[3];
    const int64_t kh = w.shape[2], kw = w.shape[3], cinPerGroup = cin / group,
                  coutPerGroup = cout / group;
    for (int64_t nb = 0; nb < batch; ++nb)
      for (int64_t oc = 0; oc < cout; ++oc) {
        const int64_t g = oc / coutPerGroup;
        for (int64_t oy = 0; oy < oh; ++oy)
          for (int64_t ox = 0; ox < ow; ++ox) {
            double sum = operands.size() > 2 ? operands[2].data[oc] : 0.0;
            for (int64_t ic = 0; ic < cinPerGroup; ++ic)
              for (int64_t ky = 0; ky < kh; ++ky) {
                const int64_t iy =
                    oy * strides[0] - pads[0] + ky * dilations[0];
                if (iy < 0 || iy >= h)
                  continue;
                for (int64_t kx = 0; kx < kw; ++kx) {
                  const int64_t ix =
                      ox * strides[1] - pads[1] + kx * dilations[1];
                  if (ix < 0 || ix >= wd)
                    continue;
                  sum +=
                      x.data[((nb * cin + g * cinPerGroup + ic) * h + iy) * wd +
                             ix] *
                      w.data[((oc * cinPerGroup + ic) * kh + ky) * kw + kx];
                }
              }
            result.data[((nb * cout + oc) * oh + oy) * ow + ox] =
                roundToType(type, sum);
          }
      }
    return result;
  }

  if (isa<MaxPoolOp, AvgPoolOp>(op)) {
    ArrayRef<int64_t> kernel;
    SmallVector<int64_t> strides, pads;
    const bool isMax = isa<MaxPoolOp>(op);
    bool countPad = false;
    if (auto pool = dyn_cast<MaxPoolOp>(op)) {
      kernel = pool.getKernelShape();
      strides = pool.getEffectiveStrides();
      pads = pool.getEffectivePads();
    } else {
      auto avg = cast<AvgPoolOp>(op);
      kernel = avg.getKernelShape();
      strides = avg.getEffectiveStrides();
      pads = avg.getEffectivePads();
      countPad = avg.getCountIncludePad();
    }
    const int64_t spatial = static_cast<int64_t>(kernel.size());
    ArrayRef<int64_t> inSpatial = ArrayRef<int64_t>(x.shape).drop_front(2),
                      outSpatial =
                          ArrayRef<int64_t>(result.shape).drop_front(2);
    const int64_t planes = x.shape[0] * x.shape[1];
    const int64_t inArea = countOf(inSpatial), outArea = countOf(outSpatial),
                  window = countOf(kernel);
    SmallVector<int64_t> inStrides = stridesOf(inSpatial),
                         outStrides = stridesOf(outSpatial),
                         kStrides = stridesOf(kernel);
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t o = 0; o < outArea; ++o) {
        double acc = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
        int64_t counted = 0;
        for (int64_t k = 0; k < window; ++k) {
          bool inside = true, inPadded = true;
          int64_t source = 0;
          for (int64_t d = 0; d < spatial; ++d) {
            const int64_t od = (o / outStrides[d]) % outSpatial[d];
            const int64_t kd = (k / kStrides[d]) % kernel[d];
            const int64_t id = od * strides[d] - pads[d] + kd;
            inside &= id >= 0 && id < inSpatial[d];
            // count_include_pad counts explicit padding, never the part of
            // a ceil-mode window past the padded input.
            inPadded &= id < inSpatial[d] + pads[d + spatial];
            source += id * inStrides[d];
          }
          if (!inside) {
            if (!isMax && countPad && inPadded)
              ++counted;
            continue;
          }
          const double v = x.data[p * inArea + source];
          acc = isMax ? std::max(acc, v) : acc + v;
          ++counted;
        }
        result.data[p * outArea + o] = roundToType(
            type, isMax ? acc : acc / std::max<int64_t>(counted, 1));
      }
    return result;
  }

  if (isa<GlobalAvgPoolOp>(op)) {
    const int64_t planes = x.shape[0] * x.shape[1];
    const int64_t area = countOf(ArrayRef<int64_t>(x.shape).drop_front(2));
    for (int64_t p = 0; p < planes; ++p) {
      double sum = 0;
      for (int64_t i = 0; i < area; ++i)
        sum += x.data[p * area + i];
      result.data[p] = roundToType(type, sum / area);
    }
    return result;
  }

  // ReduceMean / ReduceSum.
  ArrayRef<int64_t> axes;
  const bool mean = isa<ReduceMeanOp>(op);
  if (auto r = dyn_cast<ReduceMeanOp>(op))
    axes = r.getAxes();
  else
    axes = cast<ReduceSumOp>(op).getAxes();
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  SmallVector<bool> reduced(rank, axes.empty());
  for (int64_t axis : axes)
    reduced[normalizeAxis(axis, rank)] = true;
  // The kept-dims shape indexes the accumulators whatever keepdims says.
  SmallVector<int64_t> kept(x.shape);
  for (int64_t d = 0; d < rank; ++d)
    if (reduced[d])
      kept[d] = 1;
  std::vector<double> sums(countOf(kept), 0.0);
  SmallVector<int64_t> inStrides = stridesOf(x.shape),
                       keptStrides = stridesOf(kept);
  for (int64_t i = 0; i < x.size(); ++i) {
    int64_t target = 0;
    for (int64_t d = 0; d < rank; ++d)
      if (!reduced[d])
        target += ((i / inStrides[d]) % x.shape[d]) * keptStrides[d];
    sums[target] += x.data[i];
  }
  const int64_t perGroup = x.size() / std::max<int64_t>(countOf(kept), 1);
  for (size_t i = 0; i < sums.size(); ++i)
    result.data[i] = roundToType(type, mean ? sums[i] / perGroup : sums[i]);
  return result;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

FailureOr<Tensor> evalDataMovement(Operation *op, ArrayRef<Tensor> operands) {
  Tensor result = zeros(op->getResult(0).getType());
  const Tensor &x = operands[0];
  const int64_t rank = static_cast<int64_t>(x.shape.size());

  if (isa<ReshapeOp>(op)) {
    result.data = x.data;
    return result;
  }
  if (isa<StorageCastOp>(op)) {
    // Integer storage holds codes as values already; FP8 storage tensors hold
    // the FP8 values, which become their raw bytes as codes and back.
    result.data = x.data;
    Type in =
        cast<RankedTensorType>(op->getOperand(0).getType()).getElementType();
    Type out = result.elementType;
    for (Type storage : {in, out}) {
      if (!isa<Float8E4M3FNType, Float8E5M2Type>(storage))
        continue;
      const rt::Format format = isa<Float8E4M3FNType>(storage)
                                    ? rt::Format::F8E4M3FN
                                    : rt::Format::F8E5M2;
      const bool toCodes = storage == in;
      for (double &v : result.data)
        v = toCodes ? rt::encodeFloat8(static_cast<float>(v), format)
                    : rt::decodeFloat8(static_cast<uint8_t>(v), format);
    }
    return result;
  }
  if (isa<ExpandOp>(op)) {
    BroadcastMap map(x.shape, result.shape);
    for (int64_t i = 0; i < result.size(); ++i)
      result.data[i] = x.data[map(i)];
    return result;
  }
  if (auto transpose = dyn_cast<TransposeOp>(op))
    return permuted(x, transpose.getPerm());
  if (auto concat = dyn_cast<ConcatOp>(op)) {
    const int64_t axis =
        normalizeAxis(static_cast<int64_t>(concat.getAxis()), rank);
    AxisSplit out = splitAt(result.shape, axis);
    int64_t offset = 0;
    for (const Tensor &part : operands) {
      AxisSplit in = splitAt(part.shape, axis);
      for (int64_t o = 0; o < in.outer; ++o)
        for (int64_t a = 0; a < in.extent; ++a)
          for (int64_t i = 0; i < in.inner; ++i)
            result.data[(o * out.extent + offset + a) * out.inner + i] =
                part.data[(o * in.extent + a) * in.inner + i];
      offset += in.extent;
    }
    return result;
  }
  if (auto slice = dyn_cast<SliceOp>(op)) {
    ArrayRef<int64_t> starts = slice.getStarts(), steps = slice.getSteps();
    SmallVector<int64_t> inStrides = stridesOf(x.shape),
                         outStrides = stridesOf(result.shape);
    for (int64_t i = 0; i < result.size(); ++i) {
      int64_t source = 0;
      for (int64_t d = 0; d < rank; ++d)
        source +=
            (starts[d] + ((i / outStrides[d]) % result.shape[d]) * steps[d]) *
            inStrides[d];
      result.data[i] = x.data[source];
    }
    return result;
  }
  if (auto gather = dyn_cast<GatherOp>(op)) {
    const Tensor &indices = operands[1];
    const int64_t axis =
        normalizeAxis(static_cast<int64_t>(gather.getAxis()), rank);
    AxisSplit in = splitAt(x.shape, axis);
    const int64_t count = indices.size();
    for (int64_t o = 0; o < in.outer; ++o)
      for (int64_t j = 0; j < count; ++j) {
        int64_t index = static_cast<int64_t>(indices.data[j]);
        if (index < 0)
          index += in.extent;
        if (index < 0 || index >= in.extent)
          return op->emitOpError("index ")
                 << static_cast<int64_t>(indices.data[j])
                 << " is out of range for axis " << axis << " of size "
                 << in.extent;
        for (int64_t i = 0; i < in.inner; ++i)
          result.data[(o * count + j) * in.inner + i] =
              x.data[(o * in.extent + index) * in.inner + i];
      }
    return result;
  }
  return op->emitOpError("reference interpreter: no data movement kernel");
}

} // namespace qcc::ref
