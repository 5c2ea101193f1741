// qg-fold-batch-norm: fold inference batch norm into the conv or gemm before
// it, so quantization sees the weights the model really multiplies by.
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"
#include "passes/QuantSites.h"

#include "mlir/IR/Builders.h"

#include <cmath>

namespace qcc::qg {
#define GEN_PASS_DEF_QGFOLDBATCHNORM
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

class FoldBatchNormPass
    : public qcc::qg::impl::QGFoldBatchNormBase<FoldBatchNormPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<BatchNormOp> norms;
    getOperation().walk([&](BatchNormOp op) { norms.push_back(op); });
    for (BatchNormOp norm : norms)
      if (succeeded(fold(norm)))
        ++numFolded;
  }

private:
  LogicalResult fold(BatchNormOp norm) {
    Operation *producer = norm.getInput().getDefiningOp();
    if (!producer || !producer->hasOneUse() || !isa<Conv2DOp, GemmOp>(producer))
      return failure();
    auto scale = floatConstant(norm.getScale());
    auto bias = floatConstant(norm.getBias());
    auto mean = floatConstant(norm.getMean());
    auto variance = floatConstant(norm.getVariance());
    auto weight = floatConstant(producer->getOperand(1));
    if (!scale || !bias || !mean || !variance || !weight)
      return failure();
    auto weightType = cast<RankedTensorType>(producer->getOperand(1).getType());
    if (!weightType.getElementType().isF32() ||
        !norm.getType().getElementType().isF32())
      return failure();
    const int64_t channels = static_cast<int64_t>(scale->size());

    // Per-channel factor f and shift: y = x * f + shift.
    std::vector<double> factor(channels), shift(channels);
    for (int64_t c = 0; c < channels; ++c) {
      factor[c] = (*scale)[c] / std::sqrt(static_cast<double>((*variance)[c]) +
                                          norm.getEpsilon().convertToFloat());
      shift[c] = (*bias)[c] - (*mean)[c] * factor[c];
    }

    SmallVector<float> newWeight(*weight);
    std::vector<float> newBias(channels);
    OpBuilder builder(norm);
    Location loc =
        FusedLoc::get(&getContext(), {producer->getLoc(), norm.getLoc()});

    if (auto conv = dyn_cast<Conv2DOp>(producer)) {
      if (weightType.getDimSize(0) != channels)
        return failure();
      std::optional<SmallVector<float>> oldBias;
      if (conv.getBias()) {
        oldBias = floatConstant(conv.getBias());
        if (!oldBias)
          return failure();
      }
      const int64_t perChannel = weightType.getNumElements() / channels;
      for (int64_t c = 0; c < channels; ++c) {
        for (int64_t i = 0; i < perChannel; ++i)
          newWeight[c * perChannel + i] =
              static_cast<float>(newWeight[c * perChannel + i] * factor[c]);
        newBias[c] = static_cast<float>(
            (oldBias ? (*oldBias)[c] : 0.0) * factor[c] + shift[c]);
      }
      Value w = createFloatConstant(builder, conv.getWeight().getLoc(),
                                    weightType.getShape(), newWeight);
      Value b = createFloatConstant(builder, loc, {channels}, newBias);
      auto folded =
          Conv2DOp::create(builder, loc, conv.getType(), conv.getInput(), w, b,
                           conv.getStridesAttr(), conv.getPadsAttr(),
                           conv.getDilationsAttr(), conv.getGroupAttr());
      norm.replaceAllUsesWith(folded.getResult());
    } else {
      auto gemm = cast<GemmOp>(producer);
      // Output channel n of a gemm is column n of op(B); the batch norm's
      // channel dimension is 1 of the [M, N] result.
      const bool transB = gemm.getTransB();
      const int64_t n = weightType.getDimSize(transB ? 0 : 1);
      const int64_t k = weightType.getDimSize(transB ? 1 : 0);
      if (n != channels || weightType.getRank() != 2)
        return failure();
      const double alpha = gemm.getAlpha().convertToFloat();
      const double beta = gemm.getBeta().convertToFloat();
      std::optional<SmallVector<float>> c;
      if (gemm.getC()) {
        c = floatConstant(gemm.getC());
        auto cType = cast<RankedTensorType>(gemm.getC().getType());
        // Only a per-channel C ([N] or [1, N]) folds into a per-channel bias.
        if (!c || cType.getNumElements() != channels)
          return failure();
      }
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t nn = 0; nn < n; ++nn) {
          float &w = transB ? newWeight[nn * k + kk] : newWeight[kk * n + nn];
          w = static_cast<float>(w * factor[nn] * alpha);
        }
      for (int64_t nn = 0; nn < n; ++nn)
        newBias[nn] = static_cast<float>(
            (c ? beta * (*c)[nn] : 0.0) * factor[nn] + shift[nn]);
      Value w = createFloatConstant(builder, gemm.getB().getLoc(),
                                    weightType.getShape(), newWeight);
      Value b = createFloatConstant(builder, loc, {channels}, newBias);
      auto folded = GemmOp::create(builder, loc, gemm.getType(), gemm.getA(), w,
                                   b, builder.getF32FloatAttr(1.0f),
                                   builder.getF32FloatAttr(1.0f),
                                   gemm.getTransAAttr(), gemm.getTransBAttr());
      norm.replaceAllUsesWith(folded.getResult());
    }
    norm.erase();
    producer->erase();
    return success();
  }
};

} // namespace
