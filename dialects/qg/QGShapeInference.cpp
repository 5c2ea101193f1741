// Shape inference and verification of the float graph ops (ONNX semantics).
#include "dialects/qg/QGElements.h"
#include "dialects/qg/QGOps.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace qcc::qg;

namespace {

constexpr int64_t kDynamic = ShapedType::kDynamic;

LogicalResult fail(std::optional<Location> loc, const Twine &message) {
  if (loc)
    emitError(*loc) << message;
  return failure();
}

RankedTensorType tensorOf(Value value) {
  return cast<RankedTensorType>(value.getType());
}

/// Normalizes an ONNX axis in [-rank, rank) to [0, rank).
FailureOr<int64_t> normalizeAxis(std::optional<Location> loc, int64_t axis,
                                 int64_t rank, StringRef what) {
  if (axis < -rank || axis >= rank) {
    (void)fail(loc, what + " " + Twine(axis) + " is out of range for rank " +
                        Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

bool staticMismatch(int64_t a, int64_t b) {
  return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
}

std::string typeString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// `shape` permuted by `perm` (result dim i is input dim perm[i]), or an
/// error naming `what` when perm is not a permutation of the dims.
FailureOr<SmallVector<int64_t>> permutedShape(std::optional<Location> loc,
                                              ArrayRef<int64_t> shape,
                                              ArrayRef<int64_t> perm,
                                              StringRef what) {
  const int64_t rank = shape.size();
  if (static_cast<int64_t>(perm.size()) != rank) {
    (void)fail(loc, what + " has " + Twine(perm.size()) +
                        " entries for a rank-" + Twine(rank) + " operand");
    return failure();
  }
  SmallVector<bool> used(rank, false);
  SmallVector<int64_t> result;
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || used[p]) {
      (void)fail(loc, what + " is not a permutation of 0.." + Twine(rank - 1));
      return failure();
    }
    used[p] = true;
    result.push_back(shape[p]);
  }
  return result;
}

LogicalResult inferBroadcast(std::optional<Location> loc, Value lhs, Value rhs,
                             SmallVectorImpl<Type> &results) {
  RankedTensorType l = tensorOf(lhs), r = tensorOf(rhs);
  if (l.getElementType() != r.getElementType())
    return fail(
        loc, "operand element types differ: " + typeString(l.getElementType()) +
                 " and " + typeString(r.getElementType()));
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(l.getShape(), r.getShape(), shape))
    return fail(loc, "shapes " + formatShape(l.getShape()) + " and " +
                         formatShape(r.getShape()) + " do not broadcast");
  results.push_back(RankedTensorType::get(shape, l.getElementType()));
  return success();
}

/// Output extent of a sliding window (convolution or pooling).
int64_t windowOutput(int64_t in, int64_t kernel, int64_t stride,
                     int64_t dilation, int64_t padBegin, int64_t padEnd,
                     bool ceilMode) {
  if (ShapedType::isDynamic(in))
    return kDynamic;
  const int64_t span = in + padBegin + padEnd - dilation * (kernel - 1) - 1;
  if (span < 0)
    return -1; // window larger than the padded input
  int64_t out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1;
  // With ceil_mode the last window must still start inside the input or its
  // leading padding (ONNX).
  if (ceilMode && (out - 1) * stride >= in + padBegin)
    --out;
  return out;
}

LogicalResult checkWindowAttrs(std::optional<Location> loc, StringRef op,
                               ArrayRef<int64_t> kernel,
                               ArrayRef<int64_t> strides,
                               ArrayRef<int64_t> pads,
                               ArrayRef<int64_t> dilations) {
  if (kernel.size() != 2 || strides.size() != 2 || pads.size() != 4 ||
      dilations.size() != 2)
    return fail(loc, op + " needs 2 kernel dims, 2 strides, 4 pads and 2 "
                          "dilations");
  // Bounded so that the window arithmetic cannot overflow.
  constexpr int64_t kLimit = int64_t{1} << 31;
  for (int64_t v : llvm::concat<const int64_t>(kernel, strides, dilations))
    if (v <= 0 || v > kLimit)
      return fail(loc, op + ": kernel sizes, strides and dilations must be "
                            "positive");
  for (int64_t p : pads)
    if (p < 0 || p > kLimit)
      return fail(loc, op + ": pads must be non-negative");
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Elementwise binary ops
//===----------------------------------------------------------------------===//

#define QG_BROADCAST_INFERENCE(OP)                                             \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &results) {                                        \
    return inferBroadcast(loc, adaptor.getLhs(), adaptor.getRhs(), results);   \
  }
QG_BROADCAST_INFERENCE(AddOp)
QG_BROADCAST_INFERENCE(SubOp)
QG_BROADCAST_INFERENCE(MulOp)
QG_BROADCAST_INFERENCE(DivOp)
QG_BROADCAST_INFERENCE(PowOp)
QG_BROADCAST_INFERENCE(MaxOp)
QG_BROADCAST_INFERENCE(MinOp)
#undef QG_BROADCAST_INFERENCE

//===----------------------------------------------------------------------===//
// Unary ops, softmax and normalization
//===----------------------------------------------------------------------===//

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError("approximate must be \"none\" or \"tanh\", got \"")
           << getApproximate() << "\"";
  return success();
}

LogicalResult SoftmaxOp::verify() {
  const int64_t rank = tensorOf(getInput()).getRank();
  const int64_t axis = static_cast<int64_t>(getAxis()); // I64Attr is unsigned
  if (axis < -rank || axis >= rank)
    return emitOpError("axis ") << axis << " is out of range for rank " << rank;
  return success();
}

LogicalResult LayerNormOp::verify() {
  RankedTensorType input = tensorOf(getInput());
  const int64_t rank = input.getRank();
  const int64_t given = static_cast<int64_t>(getAxis()); // I64Attr is unsigned
  if (given < -rank || given >= rank)
    return emitOpError("axis ")
           << given << " is out of range for rank " << rank;
  const int64_t axis = given < 0 ? given + rank : given;
  ArrayRef<int64_t> normalized = input.getShape().drop_front(axis);
  for (Value param : {getScale(), getBias()}) {
    if (!param)
      continue;
    RankedTensorType type = tensorOf(param);
    if (type.getElementType() != input.getElementType())
      return emitOpError("scale and bias must have the input's element type");
    if (failed(verifyCompatibleShape(type.getShape(), normalized)))
      return emitOpError("scale and bias must have shape ")
             << formatShape(normalized) << " (the normalized dimensions), got "
             << formatShape(type.getShape());
  }
  return success();
}

LogicalResult BatchNormOp::verify() {
  RankedTensorType input = tensorOf(getInput());
  if (input.getRank() < 2)
    return emitOpError("input must have rank >= 2 (N, C, ...), got rank ")
           << input.getRank();
  const int64_t channels = input.getDimSize(1);
  for (Value param : {getScale(), getBias(), getMean(), getVariance()}) {
    RankedTensorType type = tensorOf(param);
    if (type.getRank() != 1 || staticMismatch(type.getDimSize(0), channels))
      return emitOpError("scale, bias, mean and variance must be 1-D of size ")
             << channels << " (the channel count), got "
             << formatShape(type.getShape());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions and pooling
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  RankedTensorType lhs = tensorOf(adaptor.getLhs()),
                   rhs = tensorOf(adaptor.getRhs());
  if (lhs.getElementType() != rhs.getElementType())
    return fail(loc, "operand element types differ");
  if (lhs.getRank() == 0 || rhs.getRank() == 0)
    return fail(loc, "matmul operands must have rank >= 1");
  // The operands as the product reads them (through folded transposes).
  auto read = [&](RankedTensorType type,
                  std::optional<ArrayRef<int64_t>> perm, StringRef what) {
    return perm ? permutedShape(loc, type.getShape(), *perm, what)
                : FailureOr<SmallVector<int64_t>>(
                      SmallVector<int64_t>(type.getShape()));
  };
  FailureOr<SmallVector<int64_t>> lhsRead =
      read(lhs, adaptor.getLhsPerm(), "lhs_perm");
  if (failed(lhsRead))
    return failure();
  FailureOr<SmallVector<int64_t>> rhsRead =
      read(rhs, adaptor.getRhsPerm(), "rhs_perm");
  if (failed(rhsRead))
    return failure();
  const SmallVector<int64_t> lhsShape = *lhsRead, rhsShape = *rhsRead;
  SmallVector<int64_t> a = lhsShape, b = rhsShape;
  if (a.size() == 1)
    a.insert(a.begin(), 1);
  if (b.size() == 1)
    b.push_back(1);
  const int64_t ka = a.back(), kb = b[b.size() - 2];
  if (staticMismatch(ka, kb))
    return fail(loc, "contraction dimensions differ: lhs " +
                         formatShape(lhsShape) + " has " + Twine(ka) +
                         ", rhs " + formatShape(rhsShape) + " has " +
                         Twine(kb));
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(ArrayRef(a).drop_back(2),
                                          ArrayRef(b).drop_back(2), shape))
    return fail(loc, "batch dimensions of " + formatShape(lhsShape) +
                         " and " + formatShape(rhsShape) +
                         " do not broadcast");
  if (lhs.getRank() != 1)
    shape.push_back(a[a.size() - 2]);
  if (rhs.getRank() != 1)
    shape.push_back(b.back());
  results.push_back(RankedTensorType::get(shape, lhs.getElementType()));
  return success();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &results) {
  RankedTensorType a = tensorOf(adaptor.getA()), b = tensorOf(adaptor.getB());
  if (a.getRank() != 2 || b.getRank() != 2)
    return fail(loc, "gemm operands A and B must be 2-D, got " +
                         formatShape(a.getShape()) + " and " +
                         formatShape(b.getShape()));
  if (a.getElementType() != b.getElementType())
    return fail(loc, "operand element types differ");
  const bool transA = adaptor.getTransA(), transB = adaptor.getTransB();
  const int64_t m = a.getDimSize(transA ? 1 : 0),
                ka = a.getDimSize(transA ? 0 : 1);
  const int64_t kb = b.getDimSize(transB ? 1 : 0),
                n = b.getDimSize(transB ? 0 : 1);
  if (staticMismatch(ka, kb))
    return fail(loc, "contraction dimensions differ: op(A) has K = " +
                         Twine(ka) + ", op(B) has K = " + Twine(kb));
  SmallVector<int64_t> shape = {m, n};
  if (Value c = adaptor.getC()) {
    RankedTensorType cType = tensorOf(c);
    SmallVector<int64_t> broadcast;
    if (cType.getRank() > 2 ||
        !OpTrait::util::getBroadcastedShape(cType.getShape(), shape,
                                            broadcast) ||
        failed(verifyCompatibleShape(broadcast, shape)))
      return fail(loc, "C of shape " + formatShape(cType.getShape()) +
                           " does not broadcast to " + formatShape(shape));
  }
  results.push_back(RankedTensorType::get(shape, a.getElementType()));
  return success();
}

LogicalResult Conv2DOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  RankedTensorType input = tensorOf(adaptor.getInput()),
                   weight = tensorOf(adaptor.getWeight());
  if (input.getRank() != 4 || weight.getRank() != 4)
    return fail(loc, "conv2d needs a 4-D NCHW input and 4-D OIHW weight, got " +
                         formatShape(input.getShape()) + " and " +
                         formatShape(weight.getShape()));
  if (input.getElementType() != weight.getElementType())
    return fail(loc, "operand element types differ");
  ArrayRef<int64_t> strides = adaptor.getStrides(), pads = adaptor.getPads(),
                    dilations = adaptor.getDilations();
  ArrayRef<int64_t> kernel = weight.getShape().drop_front(2);
  if (failed(
          checkWindowAttrs(loc, "conv2d",
                           {ShapedType::isDynamic(kernel[0]) ? 1 : kernel[0],
                            ShapedType::isDynamic(kernel[1]) ? 1 : kernel[1]},
                           strides, pads, dilations)))
    return failure();
  const int64_t group = static_cast<int64_t>(adaptor.getGroup());
  const int64_t channels = input.getDimSize(1),
                outChannels = weight.getDimSize(0);
  if (group <= 0 || group > (int64_t{1} << 31))
    return fail(loc, "group must be positive, got " + Twine(group));
  if (!ShapedType::isDynamic(channels) &&
      !ShapedType::isDynamic(weight.getDimSize(1)) &&
      channels != weight.getDimSize(1) * group)
    return fail(loc, "input has " + Twine(channels) +
                         " channels but the weight expects " +
                         Twine(weight.getDimSize(1)) + " x group " +
                         Twine(group));
  if (!ShapedType::isDynamic(outChannels) && outChannels % group != 0)
    return fail(loc, "output channels " + Twine(outChannels) +
                         " are not divisible by group " + Twine(group));
  if (Value bias = adaptor.getBias()) {
    RankedTensorType b = tensorOf(bias);
    if (b.getRank() != 1 || staticMismatch(b.getDimSize(0), outChannels))
      return fail(loc, "bias must be 1-D of size " + Twine(outChannels) +
                           ", got " + formatShape(b.getShape()));
  }
  SmallVector<int64_t> shape = {input.getDimSize(0), outChannels};
  for (int i = 0; i < 2; ++i) {
    int64_t k = kernel[i];
    int64_t out = ShapedType::isDynamic(k)
                      ? kDynamic
                      : windowOutput(input.getDimSize(2 + i), k, strides[i],
                                     dilations[i], pads[i], pads[i + 2], false);
    if (out != kDynamic && out <= 0)
      return fail(loc, "the kernel does not fit in the padded input " +
                           formatShape(input.getShape()));
    shape.push_back(out);
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

namespace {
template <typename Adaptor>
LogicalResult inferPool(std::optional<Location> loc, StringRef name,
                        Adaptor adaptor, SmallVectorImpl<Type> &results) {
  RankedTensorType input = tensorOf(adaptor.getInput());
  ArrayRef<int64_t> kernel = adaptor.getKernelShape();
  const int64_t spatial = static_cast<int64_t>(kernel.size());
  if (spatial == 0 || input.getRank() != spatial + 2)
    return fail(loc, name + ": a " + Twine(spatial) +
                         "-D kernel needs an input of rank " +
                         Twine(spatial + 2) + ", got " +
                         formatShape(input.getShape()));
  SmallVector<int64_t> strides(adaptor.getStrides()), pads(adaptor.getPads());
  if (strides.empty())
    strides.assign(spatial, 1);
  if (pads.empty())
    pads.assign(2 * spatial, 0);
  if (static_cast<int64_t>(strides.size()) != spatial ||
      static_cast<int64_t>(pads.size()) != 2 * spatial)
    return fail(loc, name + " needs " + Twine(spatial) + " strides and " +
                         Twine(2 * spatial) + " pads");
  constexpr int64_t kLimit = int64_t{1} << 31;
  for (int64_t v : llvm::concat<const int64_t>(kernel, strides))
    if (v <= 0 || v > kLimit)
      return fail(loc, name + ": kernel sizes and strides must be positive");
  for (int64_t p : pads)
    if (p < 0 || p > kLimit)
      return fail(loc, name + ": pads must be non-negative");
  SmallVector<int64_t> shape = {input.getDimSize(0), input.getDimSize(1)};
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t out =
        windowOutput(input.getDimSize(2 + i), kernel[i], strides[i], 1, pads[i],
                     pads[i + spatial], adaptor.getCeilMode());
    if (out != kDynamic && out <= 0)
      return fail(loc, "the pooling window does not fit in the padded input " +
                           formatShape(input.getShape()));
    shape.push_back(out);
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}
} // namespace

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  return inferPool(loc, "max_pool", adaptor, results);
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &results) {
  return inferPool(loc, "avg_pool", adaptor, results);
}

LogicalResult
GlobalAvgPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &results) {
  RankedTensorType input = tensorOf(adaptor.getInput());
  if (input.getRank() < 3)
    return fail(loc,
                "global_avg_pool needs rank >= 3 (N, C, spatial...), got " +
                    formatShape(input.getShape()));
  SmallVector<int64_t> shape(input.getShape());
  std::fill(shape.begin() + 2, shape.end(), 1);
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  RankedTensorType in = tensorOf(getInput()),
                   out = cast<RankedTensorType>(getType());
  if (in.getElementType() != out.getElementType())
    return emitOpError("reshape cannot change the element type");
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError("element counts differ: ")
           << formatShape(in.getShape()) << " has " << in.getNumElements()
           << ", " << formatShape(out.getShape()) << " has "
           << out.getNumElements();
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  RankedTensorType input = tensorOf(adaptor.getInput());
  FailureOr<SmallVector<int64_t>> shape =
      permutedShape(loc, input.getShape(), adaptor.getPerm(), "perm");
  if (failed(shape))
    return failure();
  results.push_back(RankedTensorType::get(*shape, input.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return fail(loc, "concat needs at least one input");
  RankedTensorType first = tensorOf(inputs.front());
  FailureOr<int64_t> axis = normalizeAxis(
      loc, static_cast<int64_t>(adaptor.getAxis()), first.getRank(), "axis");
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (Value input : inputs.drop_front()) {
    RankedTensorType type = tensorOf(input);
    if (type.getElementType() != first.getElementType() ||
        type.getRank() != first.getRank())
      return fail(loc, "concat inputs must share element type and rank");
    for (int64_t d = 0; d < first.getRank(); ++d) {
      if (d == *axis) {
        shape[d] = ShapedType::isDynamic(shape[d]) ||
                           ShapedType::isDynamic(type.getDimSize(d))
                       ? kDynamic
                       : shape[d] + type.getDimSize(d);
      } else if (staticMismatch(shape[d], type.getDimSize(d))) {
        return fail(loc, "concat inputs differ in dimension " + Twine(d) +
                             ": " + formatShape(first.getShape()) + " and " +
                             formatShape(type.getShape()));
      }
    }
  }
  results.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  RankedTensorType input = tensorOf(adaptor.getInput());
  ArrayRef<int64_t> starts = adaptor.getStarts(), ends = adaptor.getEnds(),
                    steps = adaptor.getSteps();
  const int64_t rank = input.getRank();
  if (static_cast<int64_t>(starts.size()) != rank ||
      static_cast<int64_t>(ends.size()) != rank ||
      static_cast<int64_t>(steps.size()) != rank)
    return fail(loc, "starts, ends and steps need one entry per dimension (" +
                         Twine(rank) + ")");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t dim = input.getDimSize(d), start = starts[d], end = ends[d],
                  step = steps[d];
    if (step == 0 || step > (int64_t{1} << 40) || step < -(int64_t{1} << 40))
      return fail(loc, "step of dimension " + Twine(d) + " is " + Twine(step) +
                           "; it must be non-zero and below 2^40");
    if (ShapedType::isDynamic(dim)) {
      shape.push_back(kDynamic);
      continue;
    }
    const bool inRange =
        step > 0 ? (start >= 0 && start <= dim && end >= 0 && end <= dim)
                 : (start >= -1 && start < dim && end >= -1 && end < dim);
    if (!inRange)
      return fail(loc, "slice bounds [" + Twine(start) + ", " + Twine(end) +
                           ") with step " + Twine(step) +
                           " are out of range for dimension " + Twine(d) +
                           " of size " + Twine(dim));
    const int64_t extent = step > 0 ? (end - start + step - 1) / step
                                    : (start - end + (-step) - 1) / (-step);
    shape.push_back(std::max<int64_t>(extent, 0));
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &results) {
  RankedTensorType data = tensorOf(adaptor.getData()),
                   indices = tensorOf(adaptor.getIndices());
  if (data.getRank() == 0)
    return fail(loc, "gather data must have rank >= 1");
  FailureOr<int64_t> axis = normalizeAxis(
      loc, static_cast<int64_t>(adaptor.getAxis()), data.getRank(), "axis");
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(data.getShape().take_front(*axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(*axis + 1));
  results.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

namespace {
template <typename Adaptor>
LogicalResult inferReduce(std::optional<Location> loc, Adaptor adaptor,
                          SmallVectorImpl<Type> &results) {
  RankedTensorType input = tensorOf(adaptor.getInput());
  const int64_t rank = input.getRank();
  SmallVector<bool> reduced(rank, adaptor.getAxes().empty());
  for (int64_t axis : adaptor.getAxes()) {
    FailureOr<int64_t> normalized = normalizeAxis(loc, axis, rank, "axis");
    if (failed(normalized))
      return failure();
    if (reduced[*normalized])
      return fail(loc, "axis " + Twine(axis) + " is listed twice");
    reduced[*normalized] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (!reduced[d])
      shape.push_back(input.getDimSize(d));
    else if (adaptor.getKeepdims())
      shape.push_back(1);
  }
  results.push_back(RankedTensorType::get(shape, input.getElementType()));
  return success();
}
} // namespace

LogicalResult ReduceMeanOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &results) {
  return inferReduce(loc, adaptor, results);
}

LogicalResult ReduceSumOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &results) {
  return inferReduce(loc, adaptor, results);
}

//===----------------------------------------------------------------------===//
// Cast, where, expand
//===----------------------------------------------------------------------===//

LogicalResult CastOp::verify() {
  RankedTensorType in = tensorOf(getInput()),
                   out = cast<RankedTensorType>(getType());
  if (failed(verifyCompatibleShape(in.getShape(), out.getShape())))
    return emitOpError("cast cannot change the shape: ")
           << formatShape(in.getShape()) << " to "
           << formatShape(out.getShape());
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &results) {
  RankedTensorType c = tensorOf(adaptor.getCondition()),
                   x = tensorOf(adaptor.getX()), y = tensorOf(adaptor.getY());
  if (x.getElementType() != y.getElementType())
    return fail(
        loc, "x and y element types differ: " + typeString(x.getElementType()) +
                 " and " + typeString(y.getElementType()));
  SmallVector<int64_t> xy, shape;
  if (!OpTrait::util::getBroadcastedShape(x.getShape(), y.getShape(), xy) ||
      !OpTrait::util::getBroadcastedShape(c.getShape(), xy, shape))
    return fail(loc, "shapes " + formatShape(c.getShape()) + ", " +
                         formatShape(x.getShape()) + " and " +
                         formatShape(y.getShape()) + " do not broadcast");
  results.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult ExpandOp::verify() {
  RankedTensorType in = tensorOf(getInput()),
                   out = cast<RankedTensorType>(getType());
  SmallVector<int64_t> shape;
  if (in.getElementType() != out.getElementType())
    return emitOpError("expand cannot change the element type");
  if (!OpTrait::util::getBroadcastedShape(in.getShape(), out.getShape(),
                                          shape) ||
      failed(verifyCompatibleShape(shape, out.getShape())))
    return emitOpError("input shape ")
           << formatShape(in.getShape()) << " does not broadcast to "
           << formatShape(out.getShape());
  return success();
}
