// Storage, memory plan, weights layout and runtime-kernel parameters shared
// by the backends. See ModelLayout.h.
#include "codegen/common/ModelLayout.h"

#include "codegen/reference/Interpreter.h"
#include "runtime/api/KernelParams.h"
#include "runtime/numerics/Numerics.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include <algorithm>
#include <bit>
#include <limits>

using namespace mlir;

namespace qcc::codegen {

FailureOr<Storage> storageOf(Operation *where, Type tensorType,
                             StringRef backend) {
  auto type = dyn_cast<RankedTensorType>(tensorType);
  if (!type || !type.hasStaticShape())
    return where->emitError(backend)
           << ": needs a static ranked tensor, got " << tensorType;
  Type e = type.getElementType();
  MLIRContext *ctx = where->getContext();
  if (e.isF32())
    return Storage{e, false, pkg::ElementType::F32, 4};
  if (auto quant = dyn_cast<qg::QuantType>(e)) {
    const rt::Format f = quant.getFormat();
    if ((f == rt::Format::I8 || f == rt::Format::U8) && !quant.isPerBlock() &&
        !quant.isDoubleQuantized())
      return Storage{
          IntegerType::get(ctx, 8), f == rt::Format::U8,
          f == rt::Format::U8 ? pkg::ElementType::U8 : pkg::ElementType::I8, 1};
    // FP8 E4M3FN codes are bytes too; the CPU backend rejects them before
    // planning (it has no FP8 lowering), the CUDA backend encodes them.
    if (f == rt::Format::F8E4M3FN && !quant.isPerBlock())
      return Storage{IntegerType::get(ctx, 8), true, pkg::ElementType::U8, 1,
                     true};
    return where->emitError(backend)
           << ": the quantized type " << e
           << " is not supported yet (8-bit integer or FP8 E4M3 per tensor "
              "or per axis only)";
  }
  if (auto i = dyn_cast<IntegerType>(e)) {
    if (i.getWidth() == 8)
      return Storage{
          IntegerType::get(ctx, 8), i.isUnsigned(),
          i.isUnsigned() ? pkg::ElementType::U8 : pkg::ElementType::I8, 1};
    if (i.getWidth() == 32 && !i.isUnsigned())
      return Storage{IntegerType::get(ctx, 32), false, pkg::ElementType::I32,
                     4};
    if (i.getWidth() == 64 && !i.isUnsigned())
      return Storage{IntegerType::get(ctx, 64), false, pkg::ElementType::I64,
                     8};
  }
  return where->emitError(backend)
         << ": element type " << e << " is not supported yet";
}

/// An I64Attr axis (generated accessors return it unsigned), counted from
/// the end when negative.
LogicalResult requireF32(Operation *op, StringRef backend, StringRef why) {
  if (cast<RankedTensorType>(op->getResult(0).getType())
          .getElementType()
          .isF32())
    return success();
  return op->emitError(backend)
         << ": " << op->getName() << " on non-f32 data is not supported yet"
         << why;
}

int64_t normalizedAxis(uint64_t axis, size_t rank) {
  const int64_t a = static_cast<int64_t>(axis);
  return a < 0 ? a + static_cast<int64_t>(rank) : a;
}

int64_t elementsOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getNumElements();
}

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

qg::QuantType quantOf(Value v) {
  return dyn_cast<qg::QuantType>(
      cast<RankedTensorType>(v.getType()).getElementType());
}

PoolWindow poolWindowOf(Operation *op) {
  PoolWindow w;
  if (auto p = dyn_cast<qg::MaxPoolOp>(op)) {
    w.kernel.assign(p.getKernelShape().begin(), p.getKernelShape().end());
    w.strides = p.getEffectiveStrides();
    w.pads = p.getEffectivePads();
    w.isMax = true;
  } else {
    auto a = cast<qg::AvgPoolOp>(op);
    w.kernel.assign(a.getKernelShape().begin(), a.getKernelShape().end());
    w.strides = a.getEffectiveStrides();
    w.pads = a.getEffectivePads();
    w.countIncludePad = a.getCountIncludePad();
  }
  return w;
}

Reduction reductionOf(Operation *op) {
  Reduction r;
  ArrayRef<int64_t> axes;
  if (auto sum = dyn_cast<qg::ReduceSumOp>(op)) {
    axes = sum.getAxes();
    r.keepdims = sum.getKeepdims();
  } else {
    auto mean = cast<qg::ReduceMeanOp>(op);
    axes = mean.getAxes();
    r.keepdims = mean.getKeepdims();
    r.mean = true;
  }
  const size_t rank = shapeOf(op->getOperand(0)).size();
  r.reduced.assign(rank, axes.empty());
  for (int64_t a : axes)
    r.reduced[a < 0 ? a + rank : a] = true;
  return r;
}

MatMulForm matMulFormOf(Operation *op) {
  MatMulForm f;
  if (auto gemm = dyn_cast<qg::GemmOp>(op)) {
    f.transA = gemm.getTransA();
    f.transB = gemm.getTransB();
    f.alpha = gemm.getAlpha().convertToFloat();
    f.beta = gemm.getBeta().convertToFloat();
    f.c = gemm.getC();
  } else if (auto mm = dyn_cast<qg::MatMulOp>(op)) {
    if (auto p = mm.getLhsPerm())
      f.aPerm.assign(p->begin(), p->end());
    if (auto p = mm.getRhsPerm())
      f.bPerm.assign(p->begin(), p->end());
  }
  return f;
}

Value storageRoot(Value v) {
  while (auto reshape = v.getDefiningOp<qg::ReshapeOp>())
    v = reshape.getInput();
  return v;
}

/// Whether `v` lives in the weights section (a constant, or a reshape of
/// one).
bool isConstant(Value v) {
  Value root = storageRoot(v);
  return root.getDefiningOp() && isa<qg::ConstantOp>(root.getDefiningOp());
}

FailureOr<MemoryPlan> planMemory(func::FuncOp f, StringRef backend) {
  Block &body = f.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  // Alias groups: a reshape result joins its input's group.
  llvm::DenseMap<Value, Value> root;
  auto find = [&](Value v) {
    while (root.count(v) && root[v] != v)
      v = root[v];
    return v;
  };
  std::vector<Value> values; // in definition order
  llvm::DenseMap<Value, int64_t> def, lastUse;
  for (BlockArgument a : body.getArguments()) {
    values.push_back(a);
    def[a] = -1;
    root[a] = a;
  }
  int64_t index = 0;
  for (Operation &op : body.without_terminator()) {
    for (Value operand : op.getOperands())
      lastUse[find(operand)] = index;
    for (Value r : op.getResults()) {
      if (isConstant(r))
        continue;
      values.push_back(r);
      def[r] = index;
      root[r] = r;
      if (isa<qg::ReshapeOp>(op) && !isConstant(op.getOperand(0)))
        root[r] = find(op.getOperand(0));
    }
    ++index;
  }
  const int64_t end = index + 1;
  for (Value v : ret.getOperands())
    if (!isConstant(v))
      lastUse[find(v)] = end;
  // Group extents and sizes.
  struct Group {
    int64_t first = 0, last = -2, bytes = 0, offset = -1;
  };
  llvm::DenseMap<Value, Group> groups;
  for (Value v : values) {
    FailureOr<Storage> s = storageOf(v.getDefiningOp() ? v.getDefiningOp() : f,
                                     v.getType(), backend);
    if (failed(s))
      return failure();
    Group &g = groups[find(v)];
    if (g.last == -2) {
      g.first = def[v];
      g.last = def[v];
    }
    g.bytes = std::max(g.bytes, alignUp(elementsOf(v) * s->bytes));
  }
  for (auto &[r, g] : groups) {
    auto it = lastUse.find(r);
    if (it != lastUse.end())
      g.last = std::max(g.last, it->second);
  }
  // First fit in definition order; a group is free once the op at its last
  // use has run, so an op never writes over its own operands.
  std::vector<std::pair<Value, Group *>> order;
  for (Value v : values)
    if (find(v) == v)
      order.push_back({v, &groups[v]});
  std::vector<Group *> live;
  MemoryPlan plan;
  for (auto &[v, g] : order) {
    llvm::erase_if(live, [&](Group *o) { return o->last < g->first; });
    std::vector<std::pair<int64_t, int64_t>> used;
    for (Group *o : live)
      used.push_back({o->offset, o->offset + o->bytes});
    llvm::sort(used);
    int64_t at = 0;
    for (auto [b, e] : used) {
      if (at + g->bytes <= b)
        break;
      at = std::max(at, e);
    }
    g->offset = at;
    live.push_back(g);
    plan.arenaBytes = std::max(plan.arenaBytes, at + g->bytes);
  }
  for (Value v : values)
    plan.offset[v] = groups[find(v)].offset;
  plan.arenaBytes = std::max<int64_t>(alignUp(plan.arenaBytes), kAlign);
  return plan;
}

int64_t WeightsWriter::add(const void *data, size_t bytes) {
  const int64_t offset = alignUp(static_cast<int64_t>(blob.size()));
  blob.resize(offset + bytes);
  if (bytes)
    std::memcpy(blob.data() + offset, data, bytes);
  return offset;
}

std::vector<uint8_t> WeightsWriter::take() {
  blob.resize(std::max(alignUp(static_cast<int64_t>(blob.size())), kAlign));
  return std::move(blob);
}

FailureOr<int64_t> WeightsWriter::constant(Value v) {
  v = storageRoot(v);
  auto it = constantOffsets.find(v);
  if (it != constantOffsets.end())
    return it->second;
  auto constant = cast<qg::ConstantOp>(v.getDefiningOp());
  auto type = cast<RankedTensorType>(v.getType());
  FailureOr<Storage> s = storageOf(constant, type, backend);
  if (failed(s))
    return failure();
  FailureOr<ref::Tensor> value =
      ref::fromAttribute(cast<ElementsAttr>(constant.getValue()), type);
  if (failed(value))
    return constant.emitError(backend) << ": cannot read the constant's data";
  std::vector<uint8_t> bytes(value->data.size() * s->bytes);
  for (size_t i = 0; i < value->data.size(); ++i) {
    const double d = value->data[i];
    uint8_t *p = bytes.data() + i * s->bytes;
    if (s->element.isF32()) {
      float x = static_cast<float>(d);
      std::memcpy(p, &x, 4);
    } else if (s->bytes == 1) {
      *p = static_cast<uint8_t>(static_cast<int64_t>(d));
    } else if (s->bytes == 4) {
      int32_t x = static_cast<int32_t>(d);
      std::memcpy(p, &x, 4);
    } else {
      int64_t x = static_cast<int64_t>(d);
      std::memcpy(p, &x, 8);
    }
  }
  const int64_t offset = add(bytes.data(), bytes.size());
  constantOffsets[v] = offset;
  return offset;
}

std::string nameOf(func::FuncOp f, unsigned i, bool result) {
  auto name = result ? f.getResultAttrOfType<StringAttr>(i, "qg.name")
                     : f.getArgAttrOfType<StringAttr>(i, "qg.name");
  return name ? name.str() : (result ? "output" : "input") + std::to_string(i);
}

std::string sourceOf(Operation *op) {
  std::string out;
  op->getLoc()->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      if (!out.empty())
        out += "+";
      out += n.getName().str();
    }
    return WalkResult::advance();
  });
  return out.empty() ? op->getName().getStringRef().str() : out;
}

namespace {

/// Parameter indices of the GEMM part shared by qlinear and qconv.
struct GemmFields {
  int xZeroPoint, xSigned, w, wZeroPoints, scale, scaleCount, bias, output,
      yZeroPoint, lo, hi, activation, yScale;
};

/// Fills the parameters of the integer product and its epilogue for
/// qg.qlinear or qg.qconv2d, with `n` output features; returns the kind of
/// product ("u8xi8->u8", ...).
template <typename Op>
FailureOr<std::string> gemmParams(Op op, int64_t n, std::vector<int64_t> &p,
                                  const GemmFields &f, WeightsWriter &weights,
                                  StringRef backend) {
  Value in = op.getInput(), w = op.getWeight(), res = op.getResult();
  if (quantOf(in).getFormat() == rt::Format::F8E4M3FN)
    return op.emitError(backend)
           << ": FP8 (f8e4m3fn) layers are not supported yet here; compile "
              "them with --target=cuda";
  if (!isConstant(w) || isConstant(in))
    return op.emitError(backend)
           << ": " << op->getName()
           << " with a constant input or non-constant weights is not "
              "supported yet";
  FailureOr<rt::QuantParams> xp = quantOf(in).getParams(),
                             wp = quantOf(w).getParams();
  if (failed(xp) || failed(wp))
    return op.emitError(backend) << ": the scale table is not available";
  p[f.xZeroPoint] = xp->zeroPoint(0);
  p[f.xSigned] = quantOf(in).getFormat() == rt::Format::I8;
  FailureOr<int64_t> wOffset = weights.constant(w);
  if (failed(wOffset))
    return failure();
  p[f.w] = *wOffset;
  const bool perRow = wp->scales.size() > 1;
  std::vector<int32_t> wzp(n);
  bool anyZp = false;
  for (int64_t j = 0; j < n; ++j) {
    wzp[j] = wp->zeroPoint(perRow ? j : 0);
    anyZp |= wzp[j] != 0;
  }
  p[f.wZeroPoints] = anyZp ? weights.add(wzp) : -1;
  // The multipliers exactly as the op's definition computes them in f32.
  std::vector<float> scales(perRow ? n : 1);
  for (size_t j = 0; j < scales.size(); ++j)
    scales[j] = xp->scales[0] * wp->scales[j];
  const float inf = std::numeric_limits<float>::infinity();
  const float clipMin =
      op.getClipMin() ? op.getClipMin()->convertToFloat() : -inf;
  const float clipMax =
      op.getClipMax() ? op.getClipMax()->convertToFloat() : inf;
  float lo = clipMin, hi = clipMax;
  std::string kind = "f32";
  p[f.output] = static_cast<int64_t>(rt::kernel::Output::F32);
  p[f.yZeroPoint] = 0;
  p[f.activation] = static_cast<int64_t>(rt::Activation::None);
  p[f.yScale] = 0;
  if (std::optional<StringRef> name = op.getActivation()) {
    std::optional<rt::Activation> activation = rt::parseActivation(*name);
    if (!activation)
      return op.emitError(backend) << ": unknown activation " << *name;
    p[f.activation] = static_cast<int64_t>(*activation);
  }
  if (qg::QuantType yq = quantOf(res)) {
    FailureOr<rt::QuantParams> yp = yq.getParams();
    FailureOr<Storage> ys = storageOf(op, res.getType(), backend);
    if (failed(yp) || failed(ys))
      return failure();
    // Without an activation the output scale folds into the multipliers;
    // with one the kernel divides act(y) by it, as qg.quantize does.
    if (op.getActivation())
      p[f.yScale] = std::bit_cast<uint32_t>(yp->scales[0]);
    else
      for (float &s : scales)
        s = s / yp->scales[0];
    p[f.output] = static_cast<int64_t>(ys->isUnsigned ? rt::kernel::Output::U8
                                                      : rt::kernel::Output::I8);
    p[f.yZeroPoint] = yp->zeroPoint(0);
    lo = static_cast<float>(rt::codeMin(yp->format));
    hi = static_cast<float>(rt::codeMax(yp->format));
    if (op.getClipMin())
      lo = std::max(lo,
                    static_cast<float>(rt::quantizeValue(
                        clipMin, yp->scales[0], yp->zeroPoint(0), yp->format)));
    if (op.getClipMax())
      hi = std::min(hi,
                    static_cast<float>(rt::quantizeValue(
                        clipMax, yp->scales[0], yp->zeroPoint(0), yp->format)));
    kind = ys->isUnsigned ? "u8" : "i8";
  }
  p[f.scale] = weights.add(scales);
  p[f.scaleCount] = static_cast<int64_t>(scales.size());
  p[f.bias] = -1;
  if (Value bias = op.getBias()) {
    if (!isConstant(bias))
      return op.emitError(backend)
             << ": " << op->getName() << " needs a constant bias";
    FailureOr<int64_t> offset = weights.constant(bias);
    if (failed(offset))
      return failure();
    p[f.bias] = *offset;
  }
  p[f.lo] = std::bit_cast<uint32_t>(lo);
  p[f.hi] = std::bit_cast<uint32_t>(hi);
  return std::string(p[f.xSigned] ? "i8" : "u8") + "xi8->" + kind;
}

/// " gelu", " silu"... for a kernel name, or "".
template <typename Op> std::string activationSuffix(Op op) {
  std::optional<StringRef> name = op.getActivation();
  return name ? " " + name->str() : std::string();
}

} // namespace

FailureOr<pkg::KernelInfo> weightOnlyKernel(qg::DequantMatMulOp op,
                                            const MemoryPlan &plan,
                                            WeightsWriter &weights,
                                            StringRef backend) {
  namespace w = rt::kernel::wonly;
  const bool transposed = op.getTransB();
  Value codesValue = op.getWeight();
  auto constant =
      dyn_cast_or_null<qg::ConstantOp>(storageRoot(codesValue).getDefiningOp());
  auto type = cast<RankedTensorType>(codesValue.getType());
  qg::QuantType q = quantOf(codesValue);
  const rt::Format f = q.getFormat();
  const bool fourBit =
      f == rt::Format::U4 || f == rt::Format::I4 || f == rt::Format::NF4;
  const bool eightBit = f == rt::Format::U8 || f == rt::Format::I8;
  // Codes and scale tables are [K, N] and [K/g, N], or [N, K] and [N, K/g]
  // when transposed; a weight per channel (along N) or per tensor is one
  // group of K.
  const int kAxis = transposed ? 1 : 0;
  const int64_t kDim = type.getShape()[kAxis], n = type.getShape()[1 - kAxis];
  const int64_t group = q.isPerBlock() ? q.getBlockSize() : kDim;
  if (!constant || !qg::isWeightOnlyWeight(type, transposed) ||
      (fourBit && group % 16 != 0))
    return op.emitError(backend)
           << ": qg.dequant_matmul needs a constant weight without double "
              "quantization: uint4, int4 or NF4 in blocks along K of a "
              "multiple of 16, or uint8/int8 per tensor, per channel (along "
              "N) or in blocks along K; got "
           << type;
  if (shapeOf(op.getInput()).size() < 2 || isConstant(op.getInput()))
    return op.emitError(backend)
           << ": qg.dequant_matmul needs rows of "
              "activations ([..., M, K]) computed at run time";
  FailureOr<rt::QuantParams> params = q.getParams();
  FailureOr<ref::Tensor> codes =
      ref::fromAttribute(cast<ElementsAttr>(constant.getValue()), type);
  if (failed(params) || failed(codes))
    return op.emitError(backend) << ": cannot read the weight-only layer's "
                                    "codes and scales";
  const w::WeightFormat format = f == rt::Format::U4    ? w::WeightFormat::Uint4
                                 : f == rt::Format::I4  ? w::WeightFormat::Int4
                                 : f == rt::Format::NF4 ? w::WeightFormat::NF4
                                 : f == rt::Format::U8  ? w::WeightFormat::Uint8
                                                        : w::WeightFormat::Int8;
  const int64_t groups = (kDim + group - 1) / group;
  const int64_t rowBytes = w::bytesPerRow(format, kDim);
  std::vector<uint8_t> packed(static_cast<size_t>(n * rowBytes), 0);
  for (int64_t k = 0; k < kDim; ++k)
    for (int64_t j = 0; j < n; ++j) {
      const auto c = static_cast<int64_t>(
          codes->data[transposed ? j * kDim + k : k * n + j]);
      if (eightBit)
        packed[j * rowBytes + k] = static_cast<uint8_t>(c & 255);
      else
        packed[j * rowBytes + k / 2] |=
            static_cast<uint8_t>((c & 15) << (4 * (k % 2)));
    }
  // The parameter index of group g of row j.
  auto paramAt = [&](int64_t j, int64_t g) -> int64_t {
    if (q.isPerTensor())
      return 0;
    if (q.isPerAxis())
      return j;
    return transposed ? j * groups + g : g * n + j;
  };
  std::vector<float> scales(static_cast<size_t>(n * groups));
  std::vector<int32_t> zeroPoints(scales.size());
  bool anyZeroPoint = false;
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t at = paramAt(j, g);
      scales[j * groups + g] = params->scales[at];
      zeroPoints[j * groups + g] = params->zeroPoint(at);
      anyZeroPoint |= params->zeroPoint(at) != 0;
    }
  std::vector<int64_t> p(w::Count, -1);
  p[w::K] = kDim;
  p[w::N] = n;
  p[w::M] = elementsOf(op.getOperand(0)) / kDim;
  p[w::XOffset] = plan.offset.lookup(storageRoot(op.getOperand(0)));
  p[w::YOffset] = plan.offset.lookup(op.getResult());
  p[w::CodesOffset] = weights.add(packed);
  p[w::GroupSize] = group;
  p[w::ScalesOffset] = weights.add(scales);
  if (anyZeroPoint && format != w::WeightFormat::NF4)
    p[w::ZeroPointsOffset] =
        eightBit ? weights.add(std::vector<int16_t>(zeroPoints.begin(),
                                                    zeroPoints.end()))
                 : weights.add(std::vector<int8_t>(zeroPoints.begin(),
                                                   zeroPoints.end()));
  if (Value bias = op.getBias()) {
    if (!isConstant(bias))
      return op.emitError(backend) << ": qg.dequant_matmul's bias must be a "
                                      "constant";
    FailureOr<int64_t> at = weights.constant(bias);
    if (failed(at))
      return failure();
    p[w::BiasOffset] = *at;
  }
  p[w::Format] = static_cast<int64_t>(format);
  static constexpr const char *kFormatNames[] = {"uint4", "int4", "nf4",
                                                 "uint8", "int8"};
  std::string grouping = q.isPerBlock()  ? " g" + std::to_string(group)
                         : q.isPerAxis() ? std::string(" per-channel")
                                         : std::string(" per-tensor");
  return pkg::KernelInfo{
      "matmul " + std::to_string(p[w::M]) + "x" + std::to_string(n) + "x" +
          std::to_string(kDim) + " " + kFormatNames[p[w::Format]] + grouping,
      sourceOf(op), pkg::KernelKind::WeightOnly, std::move(p)};
}

FailureOr<pkg::KernelInfo> qlinearKernel(qg::QLinearOp op,
                                         const MemoryPlan &plan,
                                         WeightsWriter &weights,
                                         StringRef backend) {
  namespace q = rt::kernel::qlinear;
  const int64_t n = shapeOf(op.getWeight())[0], k = shapeOf(op.getWeight())[1];
  const int64_t m = k ? elementsOf(op.getInput()) / k : 0;
  std::vector<int64_t> p(q::Count, -1);
  p[q::M] = m;
  p[q::K] = k;
  p[q::N] = n;
  p[q::XOffset] = plan.offset.lookup(storageRoot(op.getInput()));
  p[q::YOffset] = plan.offset.lookup(op.getResult());
  FailureOr<std::string> kind = gemmParams(
      op, n, p,
      {q::XZeroPoint, q::XSigned, q::WOffset, q::WZeroPoints, q::ScaleOffset,
       q::ScaleCount, q::BiasOffset, q::OutputKind, q::YZeroPoint, q::LoBits,
       q::HiBits, q::Activation, q::YScaleBits},
      weights, backend);
  if (failed(kind))
    return failure();
  return pkg::KernelInfo{"qlinear " + std::to_string(m) + "x" +
                             std::to_string(n) + "x" + std::to_string(k) + " " +
                             *kind + activationSuffix(op),
                         sourceOf(op), pkg::KernelKind::QLinear, std::move(p)};
}

FailureOr<pkg::KernelInfo> qconvKernel(qg::QConv2DOp op, const MemoryPlan &plan,
                                       WeightsWriter &weights,
                                       StringRef backend) {
  namespace c = rt::kernel::qconv;
  ArrayRef<int64_t> xs = shapeOf(op.getInput()), ws = shapeOf(op.getWeight()),
                    ys = shapeOf(op.getResult());
  std::vector<int64_t> p(c::Count, -1);
  p[c::Batch] = xs[0];
  p[c::Channels] = xs[1];
  p[c::Height] = xs[2];
  p[c::Width] = xs[3];
  p[c::Filters] = ws[0];
  p[c::KernelH] = ws[2];
  p[c::KernelW] = ws[3];
  p[c::StrideH] = op.getStrides()[0];
  p[c::StrideW] = op.getStrides()[1];
  p[c::PadTop] = op.getPads()[0];
  p[c::PadLeft] = op.getPads()[1];
  p[c::DilationH] = op.getDilations()[0];
  p[c::DilationW] = op.getDilations()[1];
  p[c::OutH] = ys[2];
  p[c::OutW] = ys[3];
  p[c::XOffset] = plan.offset.lookup(storageRoot(op.getInput()));
  p[c::YOffset] = plan.offset.lookup(op.getResult());
  FailureOr<std::string> kind = gemmParams(
      op, ws[0], p,
      {c::XZeroPoint, c::XSigned, c::WOffset, c::WZeroPoints, c::ScaleOffset,
       c::ScaleCount, c::BiasOffset, c::OutputKind, c::YZeroPoint, c::LoBits,
       c::HiBits, c::Activation, c::YScaleBits},
      weights, backend);
  if (failed(kind))
    return failure();
  return pkg::KernelInfo{
      "qconv2d " + std::to_string(ws[0]) + "x" + std::to_string(ws[1]) + "x" +
          std::to_string(ws[2]) + "x" + std::to_string(ws[3]) + " on " +
          std::to_string(xs[2]) + "x" + std::to_string(xs[3]) + " " + *kind +
          activationSuffix(op),
      sourceOf(op), pkg::KernelKind::QConv2D, std::move(p)};
}

LogicalResult describeInterface(func::FuncOp f, const MemoryPlan &plan,
                                StringRef backend, pkg::Manifest &manifest,
                                int64_t &arenaBytes,
                                std::vector<unsigned> &constantOutputs) {
  Block &body = f.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  arenaBytes = plan.arenaBytes;
  // Whether `s` may be a model input or output.
  auto interfaceType = [&](Operation *where, const Storage &s) {
    if (s.float8)
      where->emitError(backend)
          << ": an FP8 tensor as a model input or output is not supported "
             "yet (packages describe f32, u8 and i8 ones); dequantize it";
    return !s.float8;
  };
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    FailureOr<Storage> s = storageOf(ret, v.getType(), backend);
    if (failed(s) || !interfaceType(ret, *s))
      return failure();
    pkg::TensorInfo t{
        nameOf(f, i, true), s->manifestType,
        std::vector<int64_t>(shapeOf(v).begin(), shapeOf(v).end()), 0};
    if (isConstant(v)) {
      t.offset = static_cast<uint64_t>(arenaBytes);
      arenaBytes += alignUp(elementsOf(v) * s->bytes);
      constantOutputs.push_back(i);
    } else {
      t.offset = static_cast<uint64_t>(plan.offset.lookup(v));
    }
    manifest.outputs.push_back(std::move(t));
  }
  for (auto [i, a] : llvm::enumerate(body.getArguments())) {
    FailureOr<Storage> s = storageOf(f, a.getType(), backend);
    if (failed(s) || !interfaceType(f, *s))
      return failure();
    manifest.inputs.push_back(
        {nameOf(f, i, false), s->manifestType,
         std::vector<int64_t>(shapeOf(a).begin(), shapeOf(a).end()),
         static_cast<uint64_t>(plan.offset.lookup(a))});
  }
  return success();
}

} // namespace qcc::codegen
