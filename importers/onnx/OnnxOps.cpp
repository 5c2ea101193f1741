// Per-op import handlers: each ONNX op becomes qg ops, or a constant when
// its value is known at import time (shape arithmetic).
#include "codegen/reference/Kernels.h"
#include "dialects/qg/QGElements.h"
#include "importers/onnx/ImporterImpl.h"

#include "mlir/Dialect/Traits.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace qcc::onnx {

namespace {

using I = Importer;

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + (ShapedType::isDynamic(shape[i])
                                   ? std::string("?")
                                   : std::to_string(shape[i]));
  return text + "]";
}

/// No tensor may have more elements than this (16 Gi).
constexpr int64_t kMaxElements = int64_t{1} << 34;

/// Binds output 0 to `value`, or passes its failure on.
LogicalResult defineResult(I &im, FailureOr<Value> value) {
  if (failed(value))
    return failure();
  im.define(0, *value);
  return success();
}

/// Product of dimensions, dynamic if any of them is.
int64_t productOf(ArrayRef<int64_t> dims) {
  int64_t product = 1;
  for (int64_t dim : dims) {
    if (ShapedType::isDynamic(dim))
      return ShapedType::kDynamic;
    product *= dim;
  }
  return product;
}

bool isFloatTensor(Value v) {
  return isa<FloatType>(I::tensorType(v).getElementType());
}

/// Requires a float operand for ops qg only defines on floats.
LogicalResult requireFloat(I &im, Value v) {
  if (isFloatTensor(v))
    return success();
  return im.error() << im.node->opType << " on "
                    << I::tensorType(v).getElementType()
                    << " tensors is not supported (qg computes it on floats)";
}

/// If `value` was computed from constants only and is integer-typed (shape
/// arithmetic), evaluates it now and binds the output as a known constant.
LogicalResult defineFolded(I &im, size_t index, Value value) {
  Operation *op = value.getDefiningOp();
  const bool integer = isa<IntegerType>(I::tensorType(value).getElementType());
  if (op && integer && !isa<ConstantOp>(op) &&
      llvm::all_of(op->getOperands(), [](Value operand) {
        return operand.getDefiningOp<ConstantOp>() != nullptr;
      })) {
    SmallVector<ref::Tensor> operands;
    for (Value operand : op->getOperands()) {
      auto constant = operand.getDefiningOp<ConstantOp>();
      FailureOr<ref::Tensor> tensor = ref::fromAttribute(
          constant.getValue(), cast<RankedTensorType>(constant.getType()));
      if (failed(tensor))
        return failure();
      operands.push_back(std::move(*tensor));
    }
    FailureOr<std::vector<ref::Tensor>> results = ref::evaluate(op, operands);
    if (failed(results))
      return failure();
    op->erase();
    im.defineKnown(index, std::move(results->front()));
    return success();
  }
  im.define(index, value);
  return success();
}

/// Integer elementwise arithmetic on constants (qg has no integer math ops).
template <typename Fn>
LogicalResult foldIntegerBinary(I &im, const ref::Tensor &a,
                                const ref::Tensor &b, Fn fn) {
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(a.shape, b.shape, shape))
    return im.error() << im.node->opType << ": shapes " << shapeText(a.shape)
                      << " and " << shapeText(b.shape) << " do not broadcast";
  ref::Tensor result;
  result.elementType = a.elementType;
  result.shape = shape;
  result.data.resize(ref::countOf(shape));
  ref::BroadcastMap ma(a.shape, shape), mb(b.shape, shape);
  for (int64_t i = 0; i < result.size(); ++i)
    result.data[i] =
        ref::roundToType(result.elementType, fn(a.data[ma(i)], b.data[mb(i)]));
  im.defineKnown(0, std::move(result));
  return success();
}

template <typename OpT, typename IntFn>
LogicalResult importBinary(I &im, IntFn intFn) {
  const ref::Tensor *a = im.knownInput(0), *b = im.knownInput(1);
  if (a && b && isa<IntegerType>(a->elementType))
    return foldIntegerBinary(im, *a, *b, intFn);
  FailureOr<Value> lhs = im.input(0), rhs = im.input(1);
  if (failed(lhs) || failed(rhs))
    return failure();
  Value right = *rhs;
  if (I::tensorType(right).getElementType() !=
      I::tensorType(*lhs).getElementType()) {
    // Pow takes an exponent of another type; compute it in the base's type.
    FailureOr<Value> cast = im.make<CastOp>(
        I::tensorType(right).clone(I::tensorType(*lhs).getElementType()), right,
        Builder(&im.context).getBoolAttr(true));
    if (failed(cast))
      return failure();
    right = *cast;
  }
  return defineResult(im, im.make<OpT>(lhs->getType(), *lhs, right));
}

/// Max and Min take any number of inputs.
template <typename OpT> LogicalResult importVariadic(I &im) {
  FailureOr<Value> acc = im.input(0);
  if (failed(acc))
    return failure();
  for (size_t i = 1; i < im.node->inputs.size(); ++i) {
    FailureOr<Value> next = im.input(i);
    if (failed(next))
      return failure();
    acc = im.make<OpT>(acc->getType(), *acc, *next);
    if (failed(acc))
      return failure();
  }
  im.define(0, *acc);
  return success();
}

template <typename OpT, typename... Attrs>
LogicalResult importUnary(I &im, Attrs... attrs) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  // Relu, Abs, Neg and Clip also take integers; the rest compute on floats.
  constexpr bool takesIntegers =
      std::is_same_v<OpT, ReluOp> || std::is_same_v<OpT, AbsOp> ||
      std::is_same_v<OpT, NegOp> || std::is_same_v<OpT, ClipOp>;
  if (!takesIntegers && failed(requireFloat(im, *x)))
    return failure();
  return defineResult(im, im.make<OpT>(x->getType(), *x, attrs...));
}

FailureOr<Value> reshapeTo(I &im, Value x, ArrayRef<int64_t> shape) {
  if (I::tensorType(x).getShape() == shape)
    return x;
  return im.make<ReshapeOp>(I::tensorType(x).clone(shape), x);
}

int64_t normalized(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

LogicalResult checkAxis(I &im, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return im.error() << im.node->opType << ": axis " << axis
                      << " is out of range for rank " << rank;
  return success();
}

//===----------------------------------------------------------------------===//
// Constants and shapes
//===----------------------------------------------------------------------===//

LogicalResult importConstant(I &im) {
  const Node &n = *im.node;
  ref::Tensor value;
  if (const Attribute *attr = n.attribute("value")) {
    FailureOr<Type> element = im.elementType(attr->t.type);
    if (failed(element))
      return failure();
    value.elementType = *element;
    value.shape.assign(attr->t.dims.begin(), attr->t.dims.end());
    if (isa<FloatType>(*element)) {
      std::vector<float> floats = attr->t.toFloats();
      value.data.assign(floats.begin(), floats.end());
    } else {
      std::vector<int64_t> ints = attr->t.toInts();
      value.data.assign(ints.begin(), ints.end());
    }
  } else if (const Attribute *attr = n.attribute("value_float")) {
    value.elementType = Float32Type::get(&im.context);
    value.data = {attr->f};
  } else if (const Attribute *attr = n.attribute("value_floats")) {
    value.elementType = Float32Type::get(&im.context);
    value.shape = {static_cast<int64_t>(attr->floats.size())};
    value.data.assign(attr->floats.begin(), attr->floats.end());
  } else if (const Attribute *attr = n.attribute("value_int")) {
    value.elementType = IntegerType::get(&im.context, 64);
    value.data = {static_cast<double>(attr->i)};
  } else if (const Attribute *attr = n.attribute("value_ints")) {
    value.elementType = IntegerType::get(&im.context, 64);
    value.shape = {static_cast<int64_t>(attr->ints.size())};
    value.data.assign(attr->ints.begin(), attr->ints.end());
  } else {
    return im.error() << "Constant: no supported value attribute";
  }
  im.defineKnown(0, std::move(value));
  return success();
}

LogicalResult importIdentity(I &im) {
  if (const ref::Tensor *known = im.knownInput(0)) {
    im.defineKnown(0, *known);
    return success();
  }
  return defineResult(im, im.input(0));
}

LogicalResult importShape(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> shape = I::tensorType(*x).getShape();
  const int64_t rank = static_cast<int64_t>(shape.size());
  int64_t start = im.node->intAttr("start", 0),
          end = im.node->intAttr("end", rank);
  start = std::clamp<int64_t>(normalized(start, rank), 0, rank);
  end = std::clamp<int64_t>(normalized(end, rank), 0, rank);
  ref::Tensor value;
  value.elementType = IntegerType::get(&im.context, 64);
  for (int64_t d = start; d < end; ++d) {
    if (ShapedType::isDynamic(shape[d]))
      return im.error() << "Shape: dimension " << d
                        << " is not known at import time; fix it with "
                           "--input-shape";
    value.data.push_back(static_cast<double>(shape[d]));
  }
  value.shape = {static_cast<int64_t>(value.data.size())};
  im.defineKnown(0, std::move(value));
  return success();
}

LogicalResult importConstantOfShape(I &im) {
  FailureOr<std::vector<int64_t>> shape = im.knownInts(0, "the shape");
  if (failed(shape))
    return failure();
  ref::Tensor value;
  value.elementType = Float32Type::get(&im.context);
  double fill = 0;
  if (const Attribute *attr = im.node->attribute("value")) {
    FailureOr<Type> element = im.elementType(attr->t.type);
    if (failed(element))
      return failure();
    value.elementType = *element;
    std::vector<float> floats = attr->t.toFloats();
    if (!floats.empty())
      fill = isa<FloatType>(*element)
                 ? floats[0]
                 : static_cast<double>(attr->t.toInts()[0]);
  }
  int64_t count = 1;
  for (int64_t dim : *shape) {
    if (dim < 0)
      return im.error() << "ConstantOfShape: negative dimension " << dim;
    if (dim > 0 && count > kMaxElements / dim)
      return im.error() << "ConstantOfShape: more than 2^34 elements";
    count *= dim;
  }
  value.shape.assign(shape->begin(), shape->end());
  value.data.assign(ref::countOf(value.shape), fill);
  im.defineKnown(0, std::move(value));
  return success();
}

LogicalResult importCast(I &im) {
  FailureOr<Type> target =
      im.elementType(static_cast<DataType>(im.node->intAttr("to", 0)));
  FailureOr<Value> x = im.input(0);
  if (failed(target) || failed(x))
    return failure();
  FailureOr<Value> result = im.make<CastOp>(
      I::tensorType(*x).clone(*target), *x,
      Builder(&im.context).getBoolAttr(im.node->intAttr("saturate", 1) != 0));
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult importReshape(I &im) {
  FailureOr<Value> x = im.input(0);
  FailureOr<std::vector<int64_t>> target = im.knownInts(1, "the target shape");
  if (failed(x) || failed(target))
    return failure();
  ArrayRef<int64_t> in = I::tensorType(*x).getShape();
  const bool allowZero = im.node->intAttr("allowzero", 0) != 0;
  SmallVector<int64_t> shape;
  int64_t inferred = -1, known = 1;
  for (size_t i = 0; i < target->size(); ++i) {
    int64_t dim = (*target)[i];
    if (dim == 0 && !allowZero) {
      if (i >= in.size())
        return im.error() << "Reshape: 0 at position " << i
                          << " copies a dimension the input does not have";
      dim = in[i];
    }
    if (dim == -1) {
      if (inferred >= 0)
        return im.error() << "Reshape: more than one -1 in the target shape";
      inferred = static_cast<int64_t>(i);
    } else if (dim < -1 || dim > kMaxElements) {
      return im.error() << "Reshape: invalid dimension " << dim;
    } else if (!ShapedType::isDynamic(dim)) {
      known *= dim;
    }
    shape.push_back(dim);
  }
  if (inferred >= 0) {
    const int64_t total = I::tensorType(*x).hasStaticShape()
                              ? I::tensorType(*x).getNumElements()
                              : -1;
    if (total < 0 || llvm::any_of(shape, ShapedType::isDynamic))
      shape[inferred] = ShapedType::kDynamic;
    else if (known == 0 || total % known != 0)
      return im.error() << "Reshape: cannot infer -1 for " << total
                        << " elements into " << shapeText(*target);
    else
      shape[inferred] = total / known;
  }
  FailureOr<Value> result = reshapeTo(im, *x, shape);
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

LogicalResult importFlatten(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = I::tensorType(*x).getShape();
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = im.node->intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return im.error() << "Flatten: axis " << axis << " is out of range";
  axis = axis < 0 ? axis + rank : axis;
  const int64_t outer = productOf(in.take_front(axis)),
                inner = productOf(in.drop_front(axis));
  FailureOr<Value> result = reshapeTo(im, *x, {outer, inner});
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

/// Axes from the `axes` attribute (older opsets) or input 1 (newer).
FailureOr<std::vector<int64_t>> axesOf(I &im, int64_t inputSinceOpset) {
  if (im.model.opset() >= inputSinceOpset) {
    if (!im.hasInput(1))
      return std::vector<int64_t>{};
    return im.knownInts(1, "axes");
  }
  return im.node->intsAttr("axes");
}

LogicalResult importSqueeze(I &im) {
  FailureOr<Value> x = im.input(0);
  FailureOr<std::vector<int64_t>> axes = axesOf(im, 13);
  if (failed(x) || failed(axes))
    return failure();
  ArrayRef<int64_t> in = I::tensorType(*x).getShape();
  const int64_t rank = static_cast<int64_t>(in.size());
  SmallVector<bool> drop(rank, false);
  for (int64_t axis : *axes) {
    if (failed(checkAxis(im, axis, rank)))
      return failure();
    drop[normalized(axis, rank)] = true;
  }
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    const bool squeeze = axes->empty() ? in[d] == 1 : drop[d];
    if (squeeze && in[d] != 1)
      return im.error() << "Squeeze: dimension " << d << " has size " << in[d];
    if (!squeeze)
      shape.push_back(in[d]);
  }
  FailureOr<Value> result = reshapeTo(im, *x, shape);
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

LogicalResult importUnsqueeze(I &im) {
  FailureOr<Value> x = im.input(0);
  FailureOr<std::vector<int64_t>> axes = axesOf(im, 13);
  if (failed(x) || failed(axes))
    return failure();
  ArrayRef<int64_t> in = I::tensorType(*x).getShape();
  const int64_t rank = static_cast<int64_t>(in.size() + axes->size());
  SmallVector<bool> inserted(rank, false);
  for (int64_t axis : *axes) {
    if (failed(checkAxis(im, axis, rank)))
      return failure();
    if (inserted[normalized(axis, rank)])
      return im.error() << "Unsqueeze: axis " << axis << " is repeated";
    inserted[normalized(axis, rank)] = true;
  }
  SmallVector<int64_t> shape;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(inserted[d] ? 1 : in[next++]);
  FailureOr<Value> result = reshapeTo(im, *x, shape);
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

LogicalResult importTranspose(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  const int64_t rank = I::tensorType(*x).getRank();
  std::vector<int64_t> perm = im.node->intsAttr("perm");
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  FailureOr<Value> result = im.make<TransposeOp>(x->getType(), *x, perm);
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

LogicalResult importConcat(I &im) {
  SmallVector<Value> inputs;
  for (size_t i = 0; i < im.node->inputs.size(); ++i) {
    FailureOr<Value> v = im.input(i);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  if (inputs.empty())
    return im.error() << "Concat: no inputs";
  FailureOr<Value> result = im.make<ConcatOp>(inputs.front().getType(), inputs,
                                              im.node->intAttr("axis", 0));
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

/// Normalized [start, end) with step for one dimension, ONNX Slice rules.
void clampSlice(int64_t dim, int64_t &start, int64_t &end, int64_t step) {
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
  } else {
    start = std::clamp<int64_t>(start, 0, dim - 1);
    end = std::clamp<int64_t>(end, -1, dim - 1);
  }
}

LogicalResult importSlice(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = I::tensorType(*x).getShape();
  const int64_t rank = static_cast<int64_t>(in.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (im.model.opset() >= 10) {
    FailureOr<std::vector<int64_t>> s = im.knownInts(1, "starts"),
                                    e = im.knownInts(2, "ends");
    if (failed(s) || failed(e))
      return failure();
    starts = *s, ends = *e;
    if (im.hasInput(3)) {
      FailureOr<std::vector<int64_t>> a = im.knownInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (im.hasInput(4)) {
      FailureOr<std::vector<int64_t>> st = im.knownInts(4, "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  } else {
    starts = im.node->intsAttr("starts");
    ends = im.node->intsAttr("ends");
    axes = im.node->intsAttr("axes");
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(static_cast<int64_t>(i));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (starts.size() != ends.size() || starts.size() != axes.size() ||
      starts.size() != steps.size())
    return im.error() << "Slice: starts, ends, axes and steps differ in length";
  SmallVector<int64_t> allStarts(rank, 0), allEnds(in), allSteps(rank, 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    if (failed(checkAxis(im, axes[i], rank)))
      return failure();
    const int64_t d = normalized(axes[i], rank);
    if (ShapedType::isDynamic(in[d]))
      return im.error() << "Slice: dimension " << d
                        << " is not known at import time";
    if (steps[i] == 0)
      return im.error() << "Slice: step 0 on axis " << axes[i];
    // A step longer than the dimension takes one element, like the
    // dimension's own length; bounding it keeps the extent arithmetic exact.
    const int64_t longest = std::max<int64_t>(in[d], 1);
    const int64_t step = std::clamp<int64_t>(steps[i], -longest, longest);
    int64_t start = starts[i], end = ends[i];
    clampSlice(in[d], start, end, step);
    allStarts[d] = start, allEnds[d] = end, allSteps[d] = step;
  }
  FailureOr<Value> result =
      im.make<SliceOp>(x->getType(), *x, allStarts, allEnds, allSteps);
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

LogicalResult importSplit(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = I::tensorType(*x).getShape();
  const int64_t rank = static_cast<int64_t>(in.size());
  int64_t axis = im.node->intAttr("axis", 0);
  if (failed(checkAxis(im, axis, rank)))
    return failure();
  axis = normalized(axis, rank);
  if (ShapedType::isDynamic(in[axis]))
    return im.error()
           << "Split: the split dimension is not known at import time";
  std::vector<int64_t> sizes;
  if (im.model.opset() >= 13 && im.hasInput(1)) {
    FailureOr<std::vector<int64_t>> s = im.knownInts(1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (im.model.opset() < 13) {
    sizes = im.node->intsAttr("split");
  }
  const int64_t outputs = static_cast<int64_t>(im.node->outputs.size());
  if (sizes.empty()) {
    const int64_t parts = im.node->intAttr("num_outputs", outputs);
    const int64_t chunk = (in[axis] + parts - 1) / parts;
    for (int64_t p = 0, left = in[axis]; p < parts; ++p, left -= chunk)
      sizes.push_back(std::min(chunk, left));
  }
  int64_t total = 0;
  for (int64_t size : sizes) {
    if (size < 0 || size > in[axis])
      return im.error() << "Split: invalid part size " << size;
    total += size;
  }
  if (total != in[axis] || static_cast<int64_t>(sizes.size()) != outputs)
    return im.error() << "Split: sizes do not add up to dimension " << axis
                      << " of size " << in[axis] << " over " << outputs
                      << " outputs";
  int64_t offset = 0;
  for (int64_t p = 0; p < outputs; ++p) {
    SmallVector<int64_t> starts(rank, 0), ends(in), steps(rank, 1);
    starts[axis] = offset;
    ends[axis] = offset + sizes[p];
    offset += sizes[p];
    FailureOr<Value> part =
        im.make<SliceOp>(x->getType(), *x, starts, ends, steps);
    if (failed(part) || failed(defineFolded(im, p, *part)))
      return failure();
  }
  return success();
}

LogicalResult importGather(I &im) {
  FailureOr<Value> data = im.input(0), indices = im.input(1);
  if (failed(data) || failed(indices))
    return failure();
  FailureOr<Value> result = im.make<GatherOp>(data->getType(), *data, *indices,
                                              im.node->intAttr("axis", 0));
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

LogicalResult importExpand(I &im) {
  FailureOr<Value> x = im.input(0);
  FailureOr<std::vector<int64_t>> target = im.knownInts(1, "the target shape");
  if (failed(x) || failed(target))
    return failure();
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(I::tensorType(*x).getShape(), *target,
                                          shape))
    return im.error() << "Expand: " << shapeText(I::tensorType(*x).getShape())
                      << " does not broadcast with " << shapeText(*target);
  FailureOr<Value> result =
      im.make<ExpandOp>(I::tensorType(*x).clone(shape), *x);
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

LogicalResult importWhere(I &im) {
  FailureOr<Value> c = im.input(0), x = im.input(1), y = im.input(2);
  if (failed(c) || failed(x) || failed(y))
    return failure();
  FailureOr<Value> result = im.make<WhereOp>(x->getType(), *c, *x, *y);
  if (failed(result))
    return failure();
  return defineFolded(im, 0, *result);
}

template <typename OpT> LogicalResult importReduce(I &im, int64_t inputSince) {
  FailureOr<Value> x = im.input(0);
  FailureOr<std::vector<int64_t>> axes = axesOf(im, inputSince);
  if (failed(x) || failed(axes) || failed(requireFloat(im, *x)))
    return failure();
  if (axes->empty() && im.node->intAttr("noop_with_empty_axes", 0)) {
    im.define(0, *x);
    return success();
  }
  return defineResult(im, im.make<OpT>(x->getType(), *x, *axes,
                                       im.node->intAttr("keepdims", 1) != 0));
}

//===----------------------------------------------------------------------===//
// Activations and normalization
//===----------------------------------------------------------------------===//

LogicalResult importClip(I &im) {
  std::optional<float> lo, hi;
  if (im.model.opset() < 11) {
    if (const Attribute *a = im.node->attribute("min"))
      lo = a->f;
    if (const Attribute *a = im.node->attribute("max"))
      hi = a->f;
  } else {
    for (size_t i : {1, 2}) {
      if (!im.hasInput(i))
        continue;
      const ref::Tensor *bound = im.knownInput(i);
      if (!bound || bound->size() != 1)
        return im.error() << "Clip: bounds must be scalar constants known at "
                             "import time";
      (i == 1 ? lo : hi) = static_cast<float>(bound->data[0]);
    }
  }
  FloatAttr loAttr, hiAttr;
  Builder b(&im.context);
  if (lo)
    loAttr = b.getF32FloatAttr(*lo);
  if (hi)
    hiAttr = b.getF32FloatAttr(*hi);
  return importUnary<ClipOp>(im, loAttr, hiAttr);
}

LogicalResult importSoftmax(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x) || failed(requireFloat(im, *x)))
    return failure();
  RankedTensorType type = I::tensorType(*x);
  const int64_t rank = type.getRank();
  if (im.model.opset() >= 13) {
    const int64_t axis = im.node->intAttr("axis", -1);
    if (failed(checkAxis(im, axis, rank)))
      return failure();
    FailureOr<Value> result = im.make<SoftmaxOp>(type, *x, axis);
    if (failed(result))
      return failure();
    im.define(0, *result);
    return success();
  }
  // Before opset 13 Softmax works on the input flattened to 2-D at `axis`.
  int64_t axis = im.node->intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return im.error() << "Softmax: axis " << axis << " is out of range";
  axis = normalized(axis, rank);
  const int64_t outer = productOf(type.getShape().take_front(axis)),
                inner = productOf(type.getShape().drop_front(axis));
  FailureOr<Value> flat = reshapeTo(im, *x, {outer, inner});
  if (failed(flat))
    return failure();
  FailureOr<Value> soft =
      im.make<SoftmaxOp>(flat->getType(), *flat, int64_t{1});
  if (failed(soft))
    return failure();
  return defineResult(im, reshapeTo(im, *soft, type.getShape()));
}

LogicalResult importLayerNorm(I &im) {
  FailureOr<Value> x = im.input(0), scale = im.input(1);
  if (failed(x) || failed(scale) || failed(requireFloat(im, *x)))
    return failure();
  FailureOr<Value> biasInput = im.optionalInput(2);
  if (failed(biasInput))
    return failure();
  Value bias = *biasInput;
  RankedTensorType type = I::tensorType(*x);
  const int64_t rank = type.getRank();
  const int64_t axis = im.node->intAttr("axis", -1);
  if (failed(checkAxis(im, axis, rank)))
    return failure();
  const float epsilon = im.node->floatAttr("epsilon", 1e-5f);
  // Scale and bias broadcast to the normalized dimensions.
  ArrayRef<int64_t> normalizedShape =
      type.getShape().drop_front(normalized(axis, rank));
  Value params[2] = {*scale, bias};
  for (Value &p : params) {
    if (!p || I::tensorType(p).getShape() == normalizedShape)
      continue;
    FailureOr<Value> expanded =
        im.make<ExpandOp>(I::tensorType(p).clone(normalizedShape), p);
    if (failed(expanded))
      return failure();
    p = *expanded;
  }
  Builder b(&im.context);
  auto op = LayerNormOp::create(im.builder, im.loc, type, *x, params[0],
                                params[1], b.getI64IntegerAttr(axis),
                                b.getF32FloatAttr(epsilon));
  FailureOr<Value> y = im.finish(op);
  if (failed(y))
    return failure();
  im.define(0, *y);
  if (!im.hasOutput(1) && !im.hasOutput(2))
    return success();

  // Mean and InvStdDev, with the normalized dimensions kept as size 1.
  SmallVector<int64_t> axes;
  for (int64_t d = normalized(axis, rank); d < rank; ++d)
    axes.push_back(d);
  FailureOr<Value> mean = im.make<ReduceMeanOp>(type, *x, axes, true);
  if (failed(mean))
    return failure();
  im.define(1, *mean);
  FailureOr<Value> centered = im.make<SubOp>(type, *x, *mean);
  if (failed(centered))
    return failure();
  FailureOr<Value> squared = im.make<MulOp>(type, *centered, *centered);
  if (failed(squared))
    return failure();
  FailureOr<Value> variance = im.make<ReduceMeanOp>(type, *squared, axes, true);
  if (failed(variance))
    return failure();
  Value eps = im.scalarConstant(type.getElementType(), epsilon);
  FailureOr<Value> shifted =
      im.make<AddOp>(variance->getType(), *variance, eps);
  if (failed(shifted))
    return failure();
  FailureOr<Value> stddev = im.make<SqrtOp>(shifted->getType(), *shifted);
  if (failed(stddev))
    return failure();
  Value one = im.scalarConstant(type.getElementType(), 1.0);
  FailureOr<Value> inverse = im.make<DivOp>(stddev->getType(), one, *stddev);
  if (failed(inverse))
    return failure();
  im.define(2, *inverse);
  return success();
}

LogicalResult importBatchNorm(I &im) {
  SmallVector<Value> operands;
  for (size_t i = 0; i < 5; ++i) {
    FailureOr<Value> v = im.input(i);
    if (failed(v))
      return failure();
    operands.push_back(*v);
  }
  if (failed(requireFloat(im, operands[0])))
    return failure();
  Builder b(&im.context);
  auto op = BatchNormOp::create(
      im.builder, im.loc, operands[0].getType(), operands[0], operands[1],
      operands[2], operands[3], operands[4],
      b.getF32FloatAttr(im.node->floatAttr("epsilon", 1e-5f)));
  return defineResult(im, im.finish(op));
}

//===----------------------------------------------------------------------===//
// Contractions and pooling
//===----------------------------------------------------------------------===//

LogicalResult importMatMul(I &im) {
  FailureOr<Value> a = im.input(0), b = im.input(1);
  if (failed(a) || failed(b) || failed(requireFloat(im, *a)))
    return failure();
  return defineResult(im, im.make<MatMulOp>(a->getType(), *a, *b));
}

LogicalResult importGemm(I &im) {
  FailureOr<Value> a = im.input(0), b = im.input(1);
  if (failed(a) || failed(b) || failed(requireFloat(im, *a)))
    return failure();
  FailureOr<Value> cInput = im.optionalInput(2);
  if (failed(cInput))
    return failure();
  Value c = *cInput;
  Builder builder(&im.context);
  auto op =
      GemmOp::create(im.builder, im.loc, a->getType(), *a, *b, c,
                     builder.getF32FloatAttr(im.node->floatAttr("alpha", 1.0f)),
                     builder.getF32FloatAttr(im.node->floatAttr("beta", 1.0f)),
                     builder.getBoolAttr(im.node->intAttr("transA", 0) != 0),
                     builder.getBoolAttr(im.node->intAttr("transB", 0) != 0));
  return defineResult(im, im.finish(op));
}

/// Explicit pads (every leading one, then every trailing one) from pads or
/// auto_pad, for as many spatial dimensions as `kernel` has.
FailureOr<SmallVector<int64_t>> windowPads(I &im, ArrayRef<int64_t> input,
                                           ArrayRef<int64_t> kernel,
                                           ArrayRef<int64_t> strides,
                                           ArrayRef<int64_t> dilations,
                                           ArrayRef<int64_t> given) {
  const size_t spatial = kernel.size();
  // Attributes come from the file: bound them before any arithmetic.
  constexpr int64_t kLimit = int64_t{1} << 31;
  for (size_t i = 0; i < spatial; ++i)
    if (ShapedType::isDynamic(kernel[i]) || kernel[i] <= 0 ||
        kernel[i] > kLimit || i >= strides.size() || strides[i] <= 0 ||
        strides[i] > kLimit || i >= dilations.size() || dilations[i] <= 0 ||
        dilations[i] > kLimit)
      return im.error() << im.node->opType
                        << ": kernel sizes, strides and dilations must be "
                           "known, positive and below 2^31, one per spatial "
                           "dimension";
  for (int64_t pad : given)
    if (pad < 0 || pad > kLimit)
      return im.error() << im.node->opType
                        << ": pads must be non-negative and below 2^31";
  const std::string autoPad = im.node->stringAttr("auto_pad", "NOTSET");
  SmallVector<int64_t> pads(2 * spatial, 0);
  if (autoPad == "NOTSET") {
    if (!given.empty() && given.size() != 2 * spatial)
      return im.error() << im.node->opType << ": expected " << 2 * spatial
                        << " pads, got " << given.size();
    if (!given.empty())
      pads.assign(given.begin(), given.end());
    return pads;
  }
  if (autoPad == "VALID")
    return pads;
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return im.error() << im.node->opType << ": unknown auto_pad '" << autoPad
                      << "'";
  for (size_t i = 0; i < spatial; ++i) {
    if (ShapedType::isDynamic(input[i]))
      return im.error() << im.node->opType
                        << ": auto_pad needs static spatial dimensions";
    const int64_t out = (input[i] + strides[i] - 1) / strides[i];
    const int64_t total =
        std::max<int64_t>(0, (out - 1) * strides[i] +
                                 (kernel[i] - 1) * dilations[i] + 1 - input[i]);
    const int64_t small = total / 2, large = total - small;
    pads[i] = autoPad == "SAME_UPPER" ? small : large;
    pads[i + spatial] = autoPad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

/// A window attribute (strides, dilations) for 2 spatial dimensions; 1-D
/// ops get a leading 1 since they run as 2-D ops of height 1.
std::vector<int64_t> spatialAttr(I &im, StringRef name, bool oneD) {
  std::vector<int64_t> values = im.node->intsAttr(name);
  if (values.empty())
    return {1, 1};
  if (oneD)
    values.insert(values.begin(), 1);
  return values;
}

/// Pads for 2 spatial dimensions; 1-D [begin, end] becomes [0, begin, 0, end].
std::vector<int64_t> spatialPads(I &im, bool oneD) {
  std::vector<int64_t> pads = im.node->intsAttr("pads");
  if (oneD && pads.size() == 2)
    return {0, pads[0], 0, pads[1]};
  return pads;
}

/// 1-D ops run as 2-D ops on a height-1 view: [N, C, L] <-> [N, C, 1, L].
FailureOr<Value> liftTo2D(I &im, Value x) {
  ArrayRef<int64_t> shape = I::tensorType(x).getShape();
  return reshapeTo(im, x, {shape[0], shape[1], 1, shape[2]});
}

FailureOr<Value> dropTo1D(I &im, Value y) {
  ArrayRef<int64_t> shape = I::tensorType(y).getShape();
  return reshapeTo(im, y, {shape[0], shape[1], shape[3]});
}

LogicalResult importConv(I &im) {
  FailureOr<Value> x = im.input(0), w = im.input(1);
  if (failed(x) || failed(w) || failed(requireFloat(im, *x)))
    return failure();
  const int64_t rank = I::tensorType(*x).getRank();
  if ((rank != 3 && rank != 4) || I::tensorType(*w).getRank() != rank)
    return im.error() << "Conv: only 1-D and 2-D convolution are supported, "
                         "got input "
                      << shapeText(I::tensorType(*x).getShape());
  const bool oneD = rank == 3;
  if (oneD) {
    x = liftTo2D(im, *x);
    w = liftTo2D(im, *w);
    if (failed(x) || failed(w))
      return failure();
  }
  RankedTensorType xt = I::tensorType(*x), wt = I::tensorType(*w);
  FailureOr<Value> biasInput = im.optionalInput(2);
  if (failed(biasInput))
    return failure();
  Value bias = *biasInput;
  std::vector<int64_t> strides = spatialAttr(im, "strides", oneD),
                       dilations = spatialAttr(im, "dilations", oneD);
  FailureOr<SmallVector<int64_t>> pads =
      windowPads(im, xt.getShape().drop_front(2), wt.getShape().drop_front(2),
                 strides, dilations, spatialPads(im, oneD));
  if (failed(pads))
    return failure();
  Builder b(&im.context);
  auto op = Conv2DOp::create(
      im.builder, im.loc, xt, *x, *w, bias, b.getDenseI64ArrayAttr(strides),
      b.getDenseI64ArrayAttr(*pads), b.getDenseI64ArrayAttr(dilations),
      b.getI64IntegerAttr(im.node->intAttr("group", 1)));
  FailureOr<Value> y = im.finish(op);
  if (succeeded(y) && oneD)
    y = dropTo1D(im, *y);
  if (failed(y))
    return failure();
  im.define(0, *y);
  return success();
}

template <typename OpT> LogicalResult importPool(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x) ||
      (std::is_same_v<OpT, AvgPoolOp> && failed(requireFloat(im, *x))))
    return failure();
  RankedTensorType xt = I::tensorType(*x);
  std::vector<int64_t> kernel = im.node->intsAttr("kernel_shape");
  const int64_t spatial = static_cast<int64_t>(kernel.size());
  if (spatial == 0 || xt.getRank() != spatial + 2)
    return im.error() << im.node->opType << ": kernel_shape has " << spatial
                      << " entries for an input of shape "
                      << shapeText(xt.getShape());
  std::vector<int64_t> strides = im.node->intsAttr("strides");
  if (strides.empty())
    strides.assign(spatial, 1);
  std::vector<int64_t> ones(spatial, 1);
  FailureOr<SmallVector<int64_t>> pads =
      windowPads(im, xt.getShape().drop_front(2), kernel, strides, ones,
                 im.node->intsAttr("pads"));
  if (failed(pads))
    return failure();
  Builder b(&im.context);
  const bool ceil = im.node->intAttr("ceil_mode", 0) != 0;
  Operation *op;
  if constexpr (std::is_same_v<OpT, AvgPoolOp>)
    op = AvgPoolOp::create(
        im.builder, im.loc, xt, *x, b.getDenseI64ArrayAttr(kernel),
        b.getDenseI64ArrayAttr(strides), b.getDenseI64ArrayAttr(*pads),
        b.getBoolAttr(ceil),
        b.getBoolAttr(im.node->intAttr("count_include_pad", 0) != 0));
  else
    op = MaxPoolOp::create(im.builder, im.loc, xt, *x,
                           b.getDenseI64ArrayAttr(kernel),
                           b.getDenseI64ArrayAttr(strides),
                           b.getDenseI64ArrayAttr(*pads), b.getBoolAttr(ceil));
  return defineResult(im, im.finish(op));
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

std::optional<rt::Format> formatOf(Type storage) {
  if (auto intType = dyn_cast<IntegerType>(storage)) {
    if (intType.getWidth() == 16)
      return intType.isUnsigned() ? rt::Format::U16 : rt::Format::I16;
    if (intType.getWidth() == 8)
      return intType.isUnsigned() ? rt::Format::U8 : rt::Format::I8;
    if (intType.getWidth() == 4)
      return intType.isUnsigned() ? rt::Format::U4 : rt::Format::I4;
    return std::nullopt;
  }
  if (isa<Float8E4M3FNType>(storage))
    return rt::Format::F8E4M3FN;
  if (isa<Float8E5M2Type>(storage))
    return rt::Format::F8E5M2;
  return std::nullopt;
}

/// The !qg.quant type described by a Q/DQ node's scale and zero point.
FailureOr<QuantType> quantTypeOf(I &im, ArrayRef<int64_t> shape, Type storage) {
  const ref::Tensor *scale = im.knownInput(1);
  if (!scale)
    return im.error() << im.node->opType
                      << ": the scale must be a constant known at import time";
  const ref::Tensor *zeroPoint = im.knownInput(2);
  std::optional<rt::Format> format = formatOf(storage);
  if (!format)
    return im.error() << im.node->opType << ": storage type " << storage
                      << " is not a quantized format qcc supports";
  rt::QuantParams params;
  params.format = *format;
  const int64_t rank = static_cast<int64_t>(shape.size());
  const int64_t blockSize = im.node->intAttr("block_size", 0);
  if (blockSize < 0 || blockSize > kMaxElements)
    return im.error() << im.node->opType << ": invalid block_size "
                      << blockSize;
  const bool perTensor =
      scale->shape.empty() || (scale->shape.size() == 1 && scale->size() == 1 &&
                               blockSize == 0 && rank == 0);
  if (!perTensor) {
    int64_t axis = im.node->intAttr("axis", 1);
    if (failed(checkAxis(im, axis, rank)))
      return failure();
    params.granularity = {normalized(axis, rank), blockSize};
  }
  for (double s : scale->data)
    params.scales.push_back(static_cast<float>(s));
  if (zeroPoint) {
    // A one-element zero point goes with a scalar scale whatever its rank.
    if (zeroPoint->shape != scale->shape &&
        !(zeroPoint->size() == 1 && scale->size() == 1))
      return im.error() << im.node->opType << ": zero point shape "
                        << shapeText(zeroPoint->shape)
                        << " differs from scale shape "
                        << shapeText(scale->shape);
    for (double z : zeroPoint->data)
      params.zeroPoints.push_back(
          rt::isIntegerFormat(*format) ? static_cast<int32_t>(z) : 0);
    if (llvm::all_of(params.zeroPoints, [](int32_t z) { return z == 0; }))
      params.zeroPoints.clear();
  }
  if (!perTensor && !params.granularity.isPerBlock() &&
      static_cast<int64_t>(params.scales.size()) !=
          shape[params.granularity.axis])
    return im.error() << im.node->opType << ": " << params.scales.size()
                      << " scales for axis " << params.granularity.axis
                      << " of size " << shape[params.granularity.axis];
  QuantType type = QuantType::get(&im.context, params, shape);
  auto emit = [&] { return im.error() << im.node->opType << ": "; };
  if (failed(QuantType::verify(emit, type.getFormat(), type.getAxis(),
                               type.getBlockSize(), type.getScales(),
                               type.getZeroPoints(), type.getDqBlock(),
                               type.getDqScales())) ||
      failed(type.verifyForShape(shape, emit)))
    return failure();
  return type;
}

FailureOr<Type> storageFromZeroPoint(I &im) {
  if (const ref::Tensor *zp = im.knownInput(2))
    return zp->elementType;
  if (im.hasInput(2))
    return im.error() << im.node->opType
                      << ": the zero point must be a constant known at import "
                         "time";
  if (const Attribute *dtype = im.node->attribute("output_dtype"))
    return im.elementType(static_cast<DataType>(dtype->i));
  return Type(IntegerType::get(&im.context, 8, IntegerType::Unsigned));
}

LogicalResult importQuantizeLinear(I &im) {
  FailureOr<Value> x = im.input(0);
  FailureOr<Type> storage = storageFromZeroPoint(im);
  if (failed(x) || failed(storage) || failed(requireFloat(im, *x)))
    return failure();
  RankedTensorType xt = I::tensorType(*x);
  FailureOr<QuantType> type = quantTypeOf(im, xt.getShape(), *storage);
  if (failed(type))
    return failure();
  return defineResult(im, im.make<QuantizeOp>(xt.clone(*type), *x));
}

LogicalResult importDequantizeLinear(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x))
    return failure();
  RankedTensorType xt = I::tensorType(*x);
  Type storage = xt.getElementType();
  if (QuantType quant = getQuantElementType(xt))
    storage = quant.getStorageType();
  FailureOr<QuantType> type = quantTypeOf(im, xt.getShape(), storage);
  if (failed(type))
    return failure();
  auto quantTensor = xt.clone(*type);
  Value q = *x;
  if (xt != quantTensor) {
    if (getQuantElementType(xt)) {
      FailureOr<Value> codes = im.make<StorageCastOp>(xt.clone(storage), q);
      if (failed(codes))
        return failure();
      q = *codes;
    }
    FailureOr<Value> reinterpreted = im.make<StorageCastOp>(quantTensor, q);
    if (failed(reinterpreted))
      return failure();
    q = *reinterpreted;
  }
  const ref::Tensor *scale = im.knownInput(1);
  return defineResult(im,
                      im.make<DequantizeOp>(xt.clone(scale->elementType), q));
}

//===----------------------------------------------------------------------===//
// Integer matmul and convolution (MatMulInteger, ConvInteger, QLinear*)
//===----------------------------------------------------------------------===//

/// cast(value) to i32 minus the zero point at input `zpIndex` (absent: 0).
/// A 1-D zero point indexes `axis` of the value (rows of A, output channels
/// of a weight), so it is reshaped to broadcast along that axis.
FailureOr<Value> centered(I &im, Value value, size_t zpIndex, int64_t axis) {
  RankedTensorType type = I::tensorType(value);
  Type i32 = IntegerType::get(&im.context, 32);
  FailureOr<Value> wide = im.make<CastOp>(
      type.clone(i32), value, Builder(&im.context).getBoolAttr(true));
  if (failed(wide) || !im.hasInput(zpIndex))
    return wide;
  const ref::Tensor *zp = im.knownInput(zpIndex);
  if (!zp)
    return im.error() << im.node->opType
                      << ": zero points must be constants known at import time";
  ref::Tensor zero = *zp;
  zero.elementType = i32;
  if (zero.shape.size() == 1 && zero.size() > 1) {
    // Per-row / per-channel: [n] -> [n, 1, ...] aligned with `axis`.
    SmallVector<int64_t> shape(type.getRank() - axis, 1);
    shape[0] = zero.size();
    zero.shape = shape;
  } else {
    zero.shape.clear(); // scalar, possibly given as [1]
  }
  Value zpValue = im.constant(zero);
  return im.make<SubOp>(wide->getType(), *wide, zpValue);
}

/// saturate(round(acc * multiplier) + y_zp) into y_zp's storage type, in
/// f32 as ONNX QLinearMatMul specifies; returns the storage codes.
FailureOr<Value> requantizeAccumulator(I &im, Value acc,
                                       const ref::Tensor &mult,
                                       size_t yZeroPointIndex,
                                       int64_t channelAxis) {
  RankedTensorType type = I::tensorType(acc);
  Type f32 = Float32Type::get(&im.context);
  FailureOr<Value> real = im.make<CastOp>(
      type.clone(f32), acc, Builder(&im.context).getBoolAttr(true));
  if (failed(real))
    return failure();
  ref::Tensor m = mult;
  if (m.size() > 1) {
    SmallVector<int64_t> shape(type.getRank() - channelAxis, 1);
    shape[0] = m.size();
    m.shape = shape;
  } else {
    m.shape.clear();
  }
  FailureOr<Value> scaled =
      im.make<MulOp>(real->getType(), *real, im.constant(m));
  if (failed(scaled))
    return failure();
  const ref::Tensor *yzp = im.knownInput(yZeroPointIndex);
  Type storage =
      yzp ? yzp->elementType
          : Type(IntegerType::get(&im.context, 8, IntegerType::Unsigned));
  std::optional<rt::Format> format = formatOf(storage);
  if (!format || !rt::isIntegerFormat(*format))
    return im.error() << im.node->opType << ": output type " << storage
                      << " is not supported";
  const int32_t zeroPoint = yzp ? static_cast<int32_t>(yzp->data[0]) : 0;
  auto quantType = QuantType::get(&im.context, *format, 1.0f, zeroPoint);
  FailureOr<Value> q = im.make<QuantizeOp>(type.clone(quantType), *scaled);
  if (failed(q))
    return failure();
  return im.make<StorageCastOp>(type.clone(storage), *q);
}

/// Input `index` as a known float tensor (a scale).
FailureOr<ref::Tensor> knownScale(I &im, size_t index) {
  const ref::Tensor *scale = im.knownInput(index);
  if (!scale)
    return im.error() << im.node->opType
                      << ": scales must be constants known at import time";
  return *scale;
}

/// a_scale * b_scale / y_scale in f32, per output channel if b is.
FailureOr<ref::Tensor> multiplier(I &im, size_t a, size_t b, size_t y) {
  FailureOr<ref::Tensor> sa = knownScale(im, a), sb = knownScale(im, b),
                         sy = knownScale(im, y);
  if (failed(sa) || failed(sb) || failed(sy))
    return failure();
  ref::Tensor m = *sb;
  m.elementType = Float32Type::get(&im.context);
  for (double &v : m.data)
    v = static_cast<float>(static_cast<float>(sa->data[0]) *
                           static_cast<float>(v) /
                           static_cast<float>(sy->data[0]));
  return m;
}

LogicalResult importMatMulInteger(I &im) {
  FailureOr<Value> a = im.input(0), b = im.input(1);
  if (failed(a) || failed(b))
    return failure();
  const int64_t aRank = I::tensorType(*a).getRank();
  FailureOr<Value> ca = centered(im, *a, 2, aRank - 2);
  FailureOr<Value> cb = centered(im, *b, 3, I::tensorType(*b).getRank() - 1);
  if (failed(ca) || failed(cb))
    return failure();
  return defineResult(im, im.make<MatMulOp>(ca->getType(), *ca, *cb));
}

LogicalResult importQLinearMatMul(I &im) {
  FailureOr<Value> a = im.input(0), b = im.input(3);
  if (failed(a) || failed(b))
    return failure();
  const int64_t aRank = I::tensorType(*a).getRank();
  FailureOr<Value> ca = centered(im, *a, 2, aRank - 2);
  FailureOr<Value> cb = centered(im, *b, 5, I::tensorType(*b).getRank() - 1);
  FailureOr<ref::Tensor> m = multiplier(im, 1, 4, 6);
  if (failed(ca) || failed(cb) || failed(m))
    return failure();
  FailureOr<Value> acc = im.make<MatMulOp>(ca->getType(), *ca, *cb);
  if (failed(acc))
    return failure();
  return defineResult(im,
                      requantizeAccumulator(im, *acc, *m, 7,
                                            I::tensorType(*acc).getRank() - 1));
}

/// Conv of centered integers; `xZp`/`wZp` are the zero point inputs.
FailureOr<Value> integerConv(I &im, size_t xIndex, size_t xZp, size_t wIndex,
                             size_t wZp, Value bias) {
  FailureOr<Value> x = im.input(xIndex), w = im.input(wIndex);
  if (failed(x) || failed(w))
    return failure();
  if (I::tensorType(*x).getRank() != 4 || I::tensorType(*w).getRank() != 4)
    return im.error() << im.node->opType
                      << ": only 2-D convolution (4-D input and weight) is "
                         "supported, got "
                      << shapeText(I::tensorType(*x).getShape()) << " and "
                      << shapeText(I::tensorType(*w).getShape());
  FailureOr<Value> cx = centered(im, *x, xZp, 1);
  FailureOr<Value> cw = centered(im, *w, wZp, 0);
  if (failed(cx) || failed(cw))
    return failure();
  RankedTensorType xt = I::tensorType(*cx), wt = I::tensorType(*cw);
  std::vector<int64_t> strides = spatialAttr(im, "strides", false),
                       dilations = spatialAttr(im, "dilations", false);
  FailureOr<SmallVector<int64_t>> pads =
      windowPads(im, xt.getShape().drop_front(2), wt.getShape().drop_front(2),
                 strides, dilations, spatialPads(im, false));
  if (failed(pads))
    return failure();
  Builder b(&im.context);
  auto op = Conv2DOp::create(
      im.builder, im.loc, xt, *cx, *cw, bias, b.getDenseI64ArrayAttr(strides),
      b.getDenseI64ArrayAttr(*pads), b.getDenseI64ArrayAttr(dilations),
      b.getI64IntegerAttr(im.node->intAttr("group", 1)));
  return im.finish(op);
}

LogicalResult importConvInteger(I &im) {
  return defineResult(im, integerConv(im, 0, 2, 1, 3, Value()));
}

LogicalResult importQLinearConv(I &im) {
  FailureOr<Value> biasInput = im.optionalInput(8);
  if (failed(biasInput))
    return failure();
  Value bias = *biasInput;
  FailureOr<Value> acc = integerConv(im, 0, 2, 3, 5, bias);
  FailureOr<ref::Tensor> m = multiplier(im, 1, 4, 6);
  if (failed(acc) || failed(m))
    return failure();
  return defineResult(im, requantizeAccumulator(im, *acc, *m, 7, 1));
}

LogicalResult importDynamicQuantizeLinear(I &im) {
  FailureOr<Value> x = im.input(0);
  if (failed(x) || failed(requireFloat(im, *x)))
    return failure();
  RankedTensorType xt = I::tensorType(*x);
  Type u8 = IntegerType::get(&im.context, 8, IntegerType::Unsigned);
  auto op = DynamicQuantizeOp::create(
      im.builder, im.loc, xt.clone(u8),
      RankedTensorType::get({}, Float32Type::get(&im.context)),
      RankedTensorType::get({}, u8), *x);
  if (failed(im.finish(op)))
    return failure();
  for (size_t i = 0; i < 3; ++i)
    im.define(i, op->getResult(i));
  return success();
}

//===----------------------------------------------------------------------===//
// Support checks
//===----------------------------------------------------------------------===//

std::string onlyOutputs(const Node &node, size_t count) {
  for (size_t i = count; i < node.outputs.size(); ++i)
    if (!node.outputs[i].empty())
      return "output #" + std::to_string(i) + " is not supported";
  return "";
}

std::string poolCheck(const Node &node, const Model &) {
  for (int64_t d : node.intsAttr("dilations"))
    if (d != 1)
      return "dilations other than 1 are not supported";
  if (node.intAttr("storage_order", 0) != 0)
    return "storage_order 1 is not supported";
  return onlyOutputs(node, 1);
}

std::string batchNormCheck(const Node &node, const Model &) {
  if (node.intAttr("training_mode", 0) != 0)
    return "training mode is not supported";
  return onlyOutputs(node, 1);
}

std::string quantCheck(const Node &node, const Model &) {
  if (node.intAttr("saturate", 1) == 0)
    return "saturate=0 is not supported";
  return "";
}

//===----------------------------------------------------------------------===//
// com.microsoft MatMulNBits (ONNX Runtime's 4-bit weight format)
//===----------------------------------------------------------------------===//

/// Y = A x dequantize(B)^T (+ bias). B holds N rows of K 4- or 8-bit codes
/// in blocks of `block_size` along K, lower index in the low nibble, with one
/// scale (and optionally one packed zero point, default 2^(bits-1)) per
/// block. B, scales and zero points must be initializers.
LogicalResult importMatMulNBits(I &im) {
  const int64_t k = im.node->intAttr("K", 0), n = im.node->intAttr("N", 0);
  const int64_t bits = im.node->intAttr("bits", 4);
  const int64_t blockSize = im.node->intAttr("block_size", 0);
  if (blockSize < 0 || blockSize > kMaxElements)
    return im.error() << im.node->opType << ": invalid block_size "
                      << blockSize;
  if (k <= 0 || n <= 0 || blockSize <= 0 || (bits != 4 && bits != 8) ||
      k > kMaxElements || n > kMaxElements || k * n > kMaxElements)
    return im.error() << "MatMulNBits: needs positive K, N and block_size and "
                         "bits 4 or 8, got K="
                      << k << " N=" << n << " block_size=" << blockSize
                      << " bits=" << bits;
  if (k % blockSize != 0)
    return im.error() << "MatMulNBits: K=" << k
                      << " is not a multiple of block_size=" << blockSize
                      << " (partial blocks are not supported)";
  const int64_t blocks = k / blockSize, blobSize = blockSize * bits / 8;
  const ref::Tensor *b = im.knownInput(1), *scales = im.knownInput(2);
  if (!b || !scales)
    return im.error() << "MatMulNBits: B and scales must be initializers";
  if (b->size() != n * blocks * blobSize || scales->size() != n * blocks)
    return im.error() << "MatMulNBits: B has " << b->size()
                      << " bytes and scales " << scales->size()
                      << " values; N=" << n << ", K=" << k << " needs "
                      << n * blocks * blobSize << " and " << n * blocks;
  const int32_t defaultZero = 1 << (bits - 1);
  std::vector<int32_t> zeroPoints(n * blocks, defaultZero);
  if (im.hasInput(3)) {
    const ref::Tensor *zp = im.knownInput(3);
    if (!zp)
      return im.error() << "MatMulNBits: zero points must be an initializer";
    const bool packed = isa<IntegerType>(zp->elementType);
    if (!packed)
      return im.error() << "MatMulNBits: float zero points are not supported";
    const int64_t perRow = (blocks * bits + 7) / 8;
    if (zp->size() != n * perRow)
      return im.error() << "MatMulNBits: zero points hold " << zp->size()
                        << " bytes, expected " << n * perRow;
    for (int64_t row = 0; row < n; ++row)
      for (int64_t blk = 0; blk < blocks; ++blk) {
        const int byte = static_cast<int>(
            zp->data[row * perRow + (bits == 4 ? blk / 2 : blk)]);
        zeroPoints[row * blocks + blk] =
            bits == 8 ? byte : ((blk % 2 == 0) ? (byte & 0xF) : (byte >> 4));
      }
  }
  // Unpack the codes to [N, K].
  std::vector<int32_t> codes(n * k);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      const int64_t blk = col / blockSize, within = col % blockSize;
      const int byte =
          static_cast<int>(b->data[(row * blocks + blk) * blobSize +
                                   (bits == 4 ? within / 2 : within)]);
      codes[row * k + col] =
          bits == 8 ? byte : ((within % 2 == 0) ? (byte & 0xF) : (byte >> 4));
    }
  rt::QuantParams params;
  params.format = bits == 4 ? rt::Format::U4 : rt::Format::U8;
  params.granularity = {1, blockSize};
  params.scales.assign(scales->data.begin(), scales->data.end());
  params.zeroPoints = zeroPoints;
  const SmallVector<int64_t> shape = {n, k};
  QuantType type = QuantType::get(&im.context, params, shape);
  auto emit = [&] { return im.error() << "MatMulNBits: "; };
  if (failed(QuantType::verify(emit, type.getFormat(), type.getAxis(),
                               type.getBlockSize(), type.getScales(),
                               type.getZeroPoints(), type.getDqBlock(),
                               type.getDqScales())))
    return failure();
  auto storage = RankedTensorType::get(shape, type.getStorageType());
  Value weight =
      ConstantOp::create(im.builder, im.loc, RankedTensorType::get(shape, type),
                         makeCodesAttr(storage, codes));
  FailureOr<Value> a = im.input(0);
  if (failed(a) || failed(requireFloat(im, *a)))
    return failure();
  Type floatType = I::tensorType(*a).getElementType();
  FailureOr<Value> dense =
      im.make<DequantizeOp>(RankedTensorType::get(shape, floatType), weight);
  if (failed(dense))
    return failure();
  FailureOr<Value> transposed =
      im.make<TransposeOp>(dense->getType(), *dense, ArrayRef<int64_t>{1, 0});
  if (failed(transposed))
    return failure();
  FailureOr<Value> y = im.make<MatMulOp>(a->getType(), *a, *transposed);
  if (failed(y))
    return failure();
  if (im.hasInput(5)) {
    FailureOr<Value> bias = im.input(5);
    if (failed(bias) || failed(y = im.make<AddOp>(y->getType(), *y, *bias)))
      return failure();
  }
  im.define(0, *y);
  return success();
}

std::string matMulNBitsCheck(const Node &node, const Model &) {
  if (node.inputs.size() > 4 && !node.inputs[4].empty())
    return "g_idx (act-order) is not supported";
  return onlyOutputs(node, 1);
}

} // namespace

const std::map<std::string, OpSupport> &opHandlers() {
  static const std::map<std::string, OpSupport> handlers = [] {
    std::map<std::string, OpSupport> h;
    auto add = [&](const std::string &name, OpHandler handler,
                   decltype(OpSupport::check) check = nullptr,
                   std::vector<size_t> constantInputs = {}) {
      h[name] = OpSupport{std::move(handler), std::move(check),
                          std::move(constantInputs)};
    };
    auto intDiv = [](double a, double b) {
      return b == 0 ? 0.0 : std::trunc(a / b);
    };
    add("Add",
        [](I &im) { return importBinary<AddOp>(im, std::plus<double>()); });
    add("Sub",
        [](I &im) { return importBinary<SubOp>(im, std::minus<double>()); });
    add("Mul", [](I &im) {
      return importBinary<MulOp>(im, std::multiplies<double>());
    });
    add("Div", [intDiv](I &im) { return importBinary<DivOp>(im, intDiv); });
    add("Pow", [](I &im) {
      return importBinary<PowOp>(
          im, [](double a, double b) { return std::pow(a, b); });
    });
    add("Max", importVariadic<MaxOp>);
    add("Min", importVariadic<MinOp>);
    add("Relu", importUnary<ReluOp>);
    add("Sigmoid", importUnary<SigmoidOp>);
    add("Tanh", importUnary<TanhOp>);
    add("Exp", importUnary<ExpOp>);
    add("Sqrt", importUnary<SqrtOp>);
    add("Erf", importUnary<ErfOp>);
    add("Neg", importUnary<NegOp>);
    add("Abs", importUnary<AbsOp>);
    add("LeakyRelu", [](I &im) {
      return importUnary<LeakyReluOp>(
          im, Builder(&im.context)
                  .getF32FloatAttr(im.node->floatAttr("alpha", 0.01f)));
    });
    add("Gelu", [](I &im) {
      return importUnary<GeluOp>(
          im, Builder(&im.context)
                  .getStringAttr(im.node->stringAttr("approximate", "none")));
    });
    add("Clip", importClip, nullptr, {1, 2});
    add("Identity", importIdentity);
    add("Softmax", importSoftmax);
    add("LayerNormalization", importLayerNorm);
    add("BatchNormalization", importBatchNorm, batchNormCheck);
    add("MatMul", importMatMul);
    add("Gemm", importGemm);
    add("Conv", importConv);
    add("MaxPool", importPool<MaxPoolOp>, poolCheck);
    add("AveragePool", importPool<AvgPoolOp>, poolCheck);
    add("GlobalAveragePool", [](I &im) {
      FailureOr<Value> x = im.input(0);
      if (failed(x) || failed(requireFloat(im, *x)))
        return failure();
      FailureOr<Value> y = im.make<GlobalAvgPoolOp>(x->getType(), *x);
      if (failed(y))
        return failure();
      im.define(0, *y);
      return success();
    });
    add("Reshape", importReshape, nullptr, {1});
    add("Flatten", importFlatten);
    add("Squeeze", importSqueeze, nullptr, {1});
    add("Unsqueeze", importUnsqueeze, nullptr, {1});
    add("Transpose", importTranspose);
    add("Concat", importConcat);
    add("Split", importSplit, nullptr, {1});
    add("Slice", importSlice, nullptr, {1, 2, 3, 4});
    add("Gather", importGather);
    add("Expand", importExpand, nullptr, {1});
    add("Where", importWhere);
    add("Cast", importCast);
    add("ReduceMean", [](I &im) { return importReduce<ReduceMeanOp>(im, 18); },
        nullptr, {1});
    add("ReduceSum", [](I &im) { return importReduce<ReduceSumOp>(im, 13); },
        nullptr, {1});
    add("Constant", importConstant);
    add("Shape", importShape);
    add("ConstantOfShape", importConstantOfShape, nullptr, {0});
    add("QuantizeLinear", importQuantizeLinear, quantCheck, {1, 2});
    add("DequantizeLinear", importDequantizeLinear, nullptr, {1, 2});
    add("MatMulInteger", importMatMulInteger, nullptr, {2, 3});
    add("QLinearMatMul", importQLinearMatMul, nullptr, {1, 2, 4, 5, 6, 7});
    add("ConvInteger", importConvInteger, nullptr, {2, 3});
    add("QLinearConv", importQLinearConv, nullptr, {1, 2, 4, 5, 6, 7});
    add("DynamicQuantizeLinear", importDynamicQuantizeLinear);
    add("com.microsoft:MatMulNBits", importMatMulNBits, matMulNBitsCheck,
        {1, 2, 3});
    return h;
  }();
  return handlers;
}

} // namespace qcc::onnx
