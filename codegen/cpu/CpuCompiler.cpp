// The CPU backend: memory plan, lowering of qg to loops over an arena, and
// the conversion to the LLVM dialect. See CpuCompiler.h for the overview.
#include "codegen/cpu/CpuCompiler.h"
#include "codegen/cpu/ParallelKernels.h"

#include "codegen/common/ModelLayout.h"

#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGOps.h"
#include "runtime/api/KernelParams.h"
#include "runtime/numerics/Numerics.h"
#include "runtime/package/Package.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>

using namespace mlir;

namespace qcc::cpu {
namespace {

using namespace qcc::codegen;
constexpr llvm::StringLiteral kBackend = "CPU backend";

/// Indices (or index expressions) of an operand read through a folded
/// transpose: logical index i addresses the operand's dim perm[i]. An empty
/// perm is the identity.
template <typename T>
SmallVector<T> permuteIndices(ArrayRef<T> logical, ArrayRef<int64_t> perm) {
  if (perm.empty())
    return SmallVector<T>(logical);
  SmallVector<T> physical(logical.size());
  for (size_t i = 0; i < perm.size(); ++i)
    physical[perm[i]] = logical[i];
  return physical;
}
template <typename T>
SmallVector<T> permuteIndices(const SmallVector<T> &logical,
                              ArrayRef<int64_t> perm) {
  return permuteIndices(ArrayRef<T>(logical), perm);
}

/// Step 2.
class Lowering {
public:
  Lowering(func::FuncOp source, const MemoryPlan &plan, LoweredModel &out)
      : source(source), plan(plan), out(out), ctx(source.getContext()), b(ctx) {
  }

  LogicalResult run();

private:
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerQuantize(Operation *op, bool quantize);
  LogicalResult lowerElementwise(Operation *op);
  LogicalResult lowerMatMul(Operation *op);
  LogicalResult lowerConv(qg::Conv2DOp op);
  LogicalResult lowerPool(Operation *op);
  LogicalResult lowerTranspose(qg::TransposeOp op);
  LogicalResult lowerExpand(qg::ExpandOp op);
  LogicalResult lowerSlice(qg::SliceOp op);
  LogicalResult lowerConcat(qg::ConcatOp op);
  /// y[i...] = x[inputMap(i...)] over y's shape: a copy of stored values,
  /// so quantized tensors keep their codes.
  void copyInto(Value x, Value y, AffineMap inputMap);
  LogicalResult lowerGather(qg::GatherOp op);
  LogicalResult lowerCast(qg::CastOp op);
  LogicalResult lowerReduce(Operation *op);
  LogicalResult lowerSoftmax(qg::SoftmaxOp op);
  LogicalResult lowerLayerNorm(qg::LayerNormOp op);
  LogicalResult lowerQLinear(qg::QLinearOp op);
  LogicalResult lowerDequantMatMul(qg::DequantMatMulOp op);
  LogicalResult lowerFused(qg::FusedElementwiseOp op);
  /// One linalg.generic over `res` reading `operands` with numpy
  /// broadcasting; `body` makes the result element from the operands'.
  LogicalResult broadcastLoop(
      ValueRange operands, Value res,
      function_ref<FailureOr<Value>(OpBuilder &, Location, ValueRange)> body);
  LogicalResult lowerQConv(qg::QConv2DOp op);

  /// The memref over which `v` lives: a view of the arena or of the weights.
  FailureOr<Value> view(Value v);
  /// Offset of a constant in the weights section (added on first use).
  FailureOr<int64_t> weightOffset(Value v) { return weights.constant(v); }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f32(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  /// Maps of `in` broadcast (numpy rules) to a loop nest of `rank` dims.
  AffineMap broadcastMap(ArrayRef<int64_t> in, ArrayRef<int64_t> outShape,
                         unsigned loops);
  /// A table of per-axis scales (f32) or zero points (i32) as a 1-D view
  /// of the weights, for linalg.generic to read with an axis map.
  template <typename T> Value tableView(ArrayRef<T> values, Type element);
  /// view(v), or a null Value when `v` is absent (an optional operand).
  FailureOr<Value> optionalView(Value v) {
    return v ? view(v) : FailureOr<Value>(Value());
  }
  void callKernel(pkg::KernelInfo info);
  /// The float matmul with B's rows contiguous, in vector registers.
  void vectorMatMul(Value av, Value bv, Value yv, ArrayRef<int64_t> as,
                    ArrayRef<int64_t> bs, ArrayRef<int64_t> rs, bool transA,
                    ArrayRef<int64_t> aPerm, ArrayRef<int64_t> bPerm);
  void dotMatMul(Value av, Value bv, Value yv, ArrayRef<int64_t> as,
                 ArrayRef<int64_t> bs, ArrayRef<int64_t> rs, bool transB,
                 ArrayRef<int64_t> aPerm, ArrayRef<int64_t> bPerm);

  func::FuncOp source;
  const MemoryPlan &plan;
  LoweredModel &out;
  MLIRContext *ctx;
  OpBuilder b;
  Location loc = UnknownLoc::get(ctx);
  WeightsWriter weights{kBackend};
  Value arena, weightsArg, context, callFn;
};

FailureOr<Value> Lowering::view(Value v) {
  Operation *where = v.getDefiningOp() ? v.getDefiningOp() : source;
  FailureOr<Storage> s = storageOf(where, v.getType(), kBackend);
  if (failed(s))
    return failure();
  auto type = MemRefType::get(shapeOf(v), s->element);
  if (isConstant(v)) {
    FailureOr<int64_t> offset = weightOffset(v);
    if (failed(offset))
      return failure();
    return memref::ViewOp::create(b, loc, type, weightsArg, index(*offset),
                                  ValueRange{})
        .getResult();
  }
  return memref::ViewOp::create(b, loc, type, arena,
                                index(plan.offset.lookup(v)), ValueRange{})
      .getResult();
}

template <typename T>
Value Lowering::tableView(ArrayRef<T> values, Type element) {
  const int64_t offset = weights.add(values.data(), values.size() * sizeof(T));
  auto type = MemRefType::get({static_cast<int64_t>(values.size())}, element);
  return memref::ViewOp::create(b, loc, type, weightsArg, index(offset),
                                ValueRange{});
}

AffineMap Lowering::broadcastMap(ArrayRef<int64_t> in,
                                 ArrayRef<int64_t> outShape, unsigned loops) {
  SmallVector<AffineExpr> exprs;
  const size_t shift = outShape.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t j = i + shift;
    exprs.push_back(in[i] == 1 && outShape[j] != 1
                        ? getAffineConstantExpr(0, ctx)
                        : getAffineDimExpr(j, ctx));
  }
  return AffineMap::get(loops, 0, exprs, ctx);
}

void Lowering::callKernel(pkg::KernelInfo info) {
  const int64_t id = static_cast<int64_t>(out.manifest.kernels.size());
  out.manifest.kernels.push_back(std::move(info));
  Value idValue = arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(id));
  func::CallIndirectOp::create(b, loc, callFn, ValueRange{context, idValue});
}

/// saturate(round_half_even(x / scale) + zp) as an 8-bit code; NaN -> zp.
Value quantizeScalar(OpBuilder &nb, Location l, Value x, Value scale, Value zp,
                     bool isUnsigned) {
  const float lo = isUnsigned ? 0.f : -128.f, hi = isUnsigned ? 255.f : 127.f;
  Value scaled = arith::DivFOp::create(nb, l, x, scale);
  Value rounded = math::RoundEvenOp::create(nb, l, scaled);
  Value zpf = arith::SIToFPOp::create(nb, l, nb.getF32Type(), zp);
  Value shifted = arith::AddFOp::create(nb, l, rounded, zpf);
  Value clamped = arith::MinimumFOp::create(
      nb, l,
      arith::MaximumFOp::create(
          nb, l, shifted,
          arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(lo))),
      arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(hi)));
  Value isNan = arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO, x, x);
  Value chosen = arith::SelectOp::create(nb, l, isNan, zpf, clamped);
  Value asInt = arith::FPToSIOp::create(nb, l, nb.getI32Type(), chosen);
  return arith::TruncIOp::create(nb, l, nb.getI8Type(), asInt);
}

/// (q - zp) * scale in f32 from an 8-bit code.
Value dequantizeScalar(OpBuilder &nb, Location l, Value q, Value scale,
                       Value zp, bool isUnsigned) {
  Value code =
      isUnsigned
          ? arith::ExtUIOp::create(nb, l, nb.getI32Type(), q).getResult()
          : arith::ExtSIOp::create(nb, l, nb.getI32Type(), q).getResult();
  Value centered = arith::SubIOp::create(nb, l, code, zp);
  Value asFloat = arith::SIToFPOp::create(nb, l, nb.getF32Type(), centered);
  return arith::MulFOp::create(nb, l, asFloat, scale);
}

LogicalResult Lowering::lowerQuantize(Operation *op, bool quantize) {
  Value in = op->getOperand(0), res = op->getResult(0);
  qg::QuantType q = quantize ? quantOf(res) : quantOf(in);
  FailureOr<rt::QuantParams> params = q.getParams();
  if (failed(params))
    return op->emitError("CPU backend: the scale table is not available");
  FailureOr<Storage> s =
      storageOf(op, (quantize ? res : in).getType(), kBackend);
  if (failed(s))
    return failure();
  FailureOr<Value> x = view(in), y = view(res);
  if (failed(x) || failed(y))
    return failure();
  const unsigned rank = shapeOf(res).size();
  SmallVector<Value> inputs{*x};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank)};
  const bool perAxis = !q.isPerTensor();
  if (perAxis) {
    std::vector<int32_t> zps(params->scales.size());
    for (size_t i = 0; i < zps.size(); ++i)
      zps[i] = params->zeroPoint(i);
    inputs.push_back(
        tableView(ArrayRef<float>(params->scales), b.getF32Type()));
    inputs.push_back(tableView(ArrayRef<int32_t>(zps), b.getI32Type()));
    AffineMap axis =
        AffineMap::get(rank, 0, getAffineDimExpr(q.getAxis(), ctx), ctx);
    maps.push_back(axis);
    maps.push_back(axis);
  }
  maps.push_back(b.getMultiDimIdentityMap(rank));
  const float scale0 = params->scales[0];
  const int32_t zp0 = params->zeroPoint(0);
  const bool isUnsigned = s->isUnsigned;
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  linalg::GenericOp::create(
      b, loc, TypeRange{}, inputs, ValueRange{*y}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value scale =
            perAxis
                ? args[1]
                : arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(scale0));
        Value zp =
            perAxis
                ? args[2]
                : arith::ConstantOp::create(nb, l, nb.getI32IntegerAttr(zp0));
        Value result =
            quantize ? quantizeScalar(nb, l, args[0], scale, zp, isUnsigned)
                     : dequantizeScalar(nb, l, args[0], scale, zp, isUnsigned);
        linalg::YieldOp::create(nb, l, result);
      });
  return success();
}

/// The scalar body of one elementwise op on f32 (or integer) values.
FailureOr<Value> scalarBody(Operation *op, OpBuilder &nb, Location l,
                            ValueRange args) {
  Value x = args[0];
  const bool isFloat = isa<FloatType>(x.getType());
  auto cst = [&](float v) -> Value {
    return arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(v));
  };
  auto sigmoid = [&](Value v) -> Value {
    Value e = math::ExpOp::create(nb, l, arith::NegFOp::create(nb, l, v));
    return arith::DivFOp::create(nb, l, cst(1.f),
                                 arith::AddFOp::create(nb, l, cst(1.f), e));
  };
  if (isFloat) {
    if (isa<qg::AddOp>(op))
      return arith::AddFOp::create(nb, l, x, args[1]).getResult();
    if (isa<qg::SubOp>(op))
      return arith::SubFOp::create(nb, l, x, args[1]).getResult();
    if (isa<qg::MulOp>(op))
      return arith::MulFOp::create(nb, l, x, args[1]).getResult();
    if (isa<qg::DivOp>(op))
      return arith::DivFOp::create(nb, l, x, args[1]).getResult();
    if (isa<qg::PowOp>(op))
      return math::PowFOp::create(nb, l, x, args[1]).getResult();
    if (isa<qg::MaxOp>(op))
      return arith::MaximumFOp::create(nb, l, x, args[1]).getResult();
    if (isa<qg::MinOp>(op))
      return arith::MinimumFOp::create(nb, l, x, args[1]).getResult();
    if (isa<qg::ReluOp>(op)) {
      Value positive =
          arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGT, x, cst(0.f));
      return arith::SelectOp::create(nb, l, positive, x, cst(0.f)).getResult();
    }
    if (isa<qg::SigmoidOp>(op))
      return sigmoid(x);
    if (isa<qg::TanhOp>(op))
      return math::TanhOp::create(nb, l, x).getResult();
    if (isa<qg::ExpOp>(op))
      return math::ExpOp::create(nb, l, x).getResult();
    if (isa<qg::SqrtOp>(op))
      return math::SqrtOp::create(nb, l, x).getResult();
    if (isa<qg::ErfOp>(op))
      return math::ErfOp::create(nb, l, x).getResult();
    if (isa<qg::NegOp>(op))
      return arith::NegFOp::create(nb, l, x).getResult();
    if (isa<qg::AbsOp>(op))
      return math::AbsFOp::create(nb, l, x).getResult();
    if (isa<qg::SiluOp>(op))
      return arith::MulFOp::create(nb, l, x, sigmoid(x)).getResult();
    if (auto gelu = dyn_cast<qg::GeluOp>(op)) {
      Value inner;
      if (gelu.getApproximate() == "tanh") {
        // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        Value x3 =
            arith::MulFOp::create(nb, l, x, arith::MulFOp::create(nb, l, x, x));
        Value poly = arith::AddFOp::create(
            nb, l, x, arith::MulFOp::create(nb, l, cst(0.044715f), x3));
        inner = math::TanhOp::create(
            nb, l,
            arith::MulFOp::create(nb, l, cst(0.7978845608028654f), poly));
      } else {
        inner = math::ErfOp::create(
            nb, l, arith::MulFOp::create(nb, l, x, cst(0.7071067811865476f)));
      }
      Value half = arith::MulFOp::create(nb, l, cst(0.5f), x);
      return arith::MulFOp::create(
                 nb, l, half, arith::AddFOp::create(nb, l, cst(1.f), inner))
          .getResult();
    }
    if (auto leaky = dyn_cast<qg::LeakyReluOp>(op)) {
      Value positive =
          arith::CmpFOp::create(nb, l, arith::CmpFPredicate::OGE, x, cst(0.f));
      Value scaled = arith::MulFOp::create(
          nb, l, x, cst(leaky.getAlpha().convertToFloat()));
      return arith::SelectOp::create(nb, l, positive, x, scaled).getResult();
    }
    if (auto clip = dyn_cast<qg::ClipOp>(op)) {
      Value v = x;
      if (clip.getMin())
        v = arith::MaximumFOp::create(nb, l, v,
                                      cst(clip.getMin()->convertToFloat()));
      if (clip.getMax())
        v = arith::MinimumFOp::create(nb, l, v,
                                      cst(clip.getMax()->convertToFloat()));
      return v;
    }
    return failure();
  }
  // Integers (signed i32/i64; arithmetic wraps, division truncates).
  if (isa<qg::AddOp>(op))
    return arith::AddIOp::create(nb, l, x, args[1]).getResult();
  if (isa<qg::SubOp>(op))
    return arith::SubIOp::create(nb, l, x, args[1]).getResult();
  if (isa<qg::MulOp>(op))
    return arith::MulIOp::create(nb, l, x, args[1]).getResult();
  if (isa<qg::MaxOp>(op))
    return arith::MaxSIOp::create(nb, l, x, args[1]).getResult();
  if (isa<qg::MinOp>(op))
    return arith::MinSIOp::create(nb, l, x, args[1]).getResult();
  if (isa<qg::NegOp>(op))
    return arith::SubIOp::create(
               nb, l,
               arith::ConstantOp::create(nb, l, nb.getZeroAttr(x.getType())), x)
        .getResult();
  if (isa<qg::ReluOp>(op))
    return arith::MaxSIOp::create(
               nb, l, x,
               arith::ConstantOp::create(nb, l, nb.getZeroAttr(x.getType())))
        .getResult();
  return failure();
}

LogicalResult Lowering::lowerElementwise(Operation *op) {
  Value res = op->getResult(0);
  FailureOr<Storage> s = storageOf(op, res.getType(), kBackend);
  if (failed(s))
    return failure();
  if (s->bytes == 1 || s->isUnsigned)
    return op->emitError("CPU backend: ")
           << op->getName() << " on 8-bit integers is not supported yet";
  // Check that the body can be built before emitting anything.
  {
    OpBuilder probe(ctx);
    Block scratch;
    SmallVector<Value> args;
    for (Value operand : op->getOperands())
      args.push_back(scratch.addArgument(
          cast<RankedTensorType>(operand.getType()).getElementType(), loc));
    probe.setInsertionPointToStart(&scratch);
    if (failed(scalarBody(op, probe, loc, args)))
      return op->emitError("CPU backend: ")
             << op->getName() << " on " << s->element
             << " is not supported yet";
  }
  return broadcastLoop(op->getOperands(), res,
                       [&](OpBuilder &nb, Location l, ValueRange args) {
                         return scalarBody(op, nb, l, args);
                       });
}

LogicalResult Lowering::broadcastLoop(
    ValueRange operands, Value res,
    function_ref<FailureOr<Value>(OpBuilder &, Location, ValueRange)> body) {
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  const unsigned rank = shapeOf(res).size();
  for (Value operand : operands) {
    FailureOr<Value> v = view(operand);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
    maps.push_back(broadcastMap(shapeOf(operand), shapeOf(res), rank));
  }
  FailureOr<Value> y = view(res);
  if (failed(y))
    return failure();
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  linalg::GenericOp::create(
      b, loc, TypeRange{}, inputs, ValueRange{*y}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        FailureOr<Value> v = body(nb, l, args.drop_back());
        linalg::YieldOp::create(nb, l, *v);
      });
  return success();
}

/// qg.fused_elementwise: one loop nest over the result; each element runs
/// the body's ops in order on scalars (inputs read with broadcasting), so
/// no intermediate tensor is stored.
LogicalResult Lowering::lowerFused(qg::FusedElementwiseOp op) {
  Block &body = op.getBody().front();
  // The scalar body, or failure (with an error) when some op has no scalar
  // form on the CPU.
  auto buildBody = [&](OpBuilder &nb, Location l,
                       ValueRange args) -> FailureOr<Value> {
    DenseMap<Value, Value> scalar;
    for (auto [arg, v] : llvm::zip(body.getArguments(), args))
      scalar[arg] = v;
    for (Operation &inner : body.without_terminator()) {
      Value result;
      if (auto c = dyn_cast<qg::ConstantOp>(inner)) {
        FailureOr<ref::Tensor> value =
            ref::fromAttribute(cast<ElementsAttr>(c.getValue()),
                               cast<RankedTensorType>(c.getType()));
        if (failed(value) || !c.getType().getElementType().isF32())
          return inner.emitError("CPU backend: a fused constant must be f32");
        result = arith::ConstantOp::create(
            nb, l, nb.getF32FloatAttr(static_cast<float>(value->data[0])));
      } else if (isa<qg::QuantizeOp, qg::DequantizeOp>(inner)) {
        const bool quantize = isa<qg::QuantizeOp>(inner);
        Type quantType = quantize ? inner.getResult(0).getType()
                                  : inner.getOperand(0).getType();
        FailureOr<Storage> st = storageOf(&inner, quantType, kBackend);
        if (failed(st))
          return failure();
        FailureOr<rt::QuantParams> params =
            cast<qg::QuantType>(
                cast<RankedTensorType>(quantType).getElementType())
                .getParams();
        if (failed(params))
          return inner.emitError("CPU backend: the scale table is not "
                                 "available");
        Value scale = arith::ConstantOp::create(
            nb, l, nb.getF32FloatAttr(params->scales[0]));
        Value zp = arith::ConstantOp::create(
            nb, l, nb.getI32IntegerAttr(params->zeroPoint(0)));
        Value x = scalar.lookup(inner.getOperand(0));
        result = quantize
                     ? quantizeScalar(nb, l, x, scale, zp, st->isUnsigned)
                     : dequantizeScalar(nb, l, x, scale, zp, st->isUnsigned);
      } else {
        SmallVector<Value> operands;
        for (Value v : inner.getOperands())
          operands.push_back(scalar.lookup(v));
        FailureOr<Value> v = scalarBody(&inner, nb, l, operands);
        if (failed(v))
          return inner.emitError("CPU backend: ")
                 << inner.getName() << " has no scalar form for fusion";
        result = *v;
      }
      scalar[inner.getResult(0)] = result;
    }
    return scalar.lookup(op.getYielded());
  };
  // Check that the body can be built before emitting anything.
  {
    OpBuilder probe(ctx);
    Block scratch;
    SmallVector<Value> args;
    for (Value input : op.getInputs()) {
      FailureOr<Storage> st = storageOf(op, input.getType(), kBackend);
      if (failed(st))
        return failure();
      args.push_back(scratch.addArgument(st->element, loc));
    }
    probe.setInsertionPointToStart(&scratch);
    if (failed(buildBody(probe, loc, args)))
      return failure();
  }
  return broadcastLoop(op.getInputs(), op.getResult(), buildBody);
}

/// matmul (numpy rules, batch broadcasting, 1-D promotion) and gemm on f32:
/// fill, accumulate over k, then gemm's alpha and beta * C.
LogicalResult Lowering::lowerMatMul(Operation *op) {
  Value a = op->getOperand(0), bm = op->getOperand(1), res = op->getResult(0);
  if (failed(requireF32(op, kBackend,
                        " (quantized layers are fused into qg.qlinear "
                        "first)")))
    return failure();
  const MatMulForm form = matMulFormOf(op);
  const bool transA = form.transA, transB = form.transB;
  const float alpha = form.alpha, beta = form.beta;
  Value c = form.c;
  ArrayRef<int64_t> aPerm = form.aPerm, bPerm = form.bPerm;
  auto logicalShape = [](ArrayRef<int64_t> shape, ArrayRef<int64_t> perm) {
    SmallVector<int64_t> out(shape);
    for (size_t i = 0; i < perm.size(); ++i)
      out[i] = shape[perm[i]];
    return out;
  };
  const SmallVector<int64_t> aShape = logicalShape(shapeOf(a), aPerm),
                             bShape = logicalShape(shapeOf(bm), bPerm);
  ArrayRef<int64_t> as = aShape, bs = bShape, rs = shapeOf(res);
  const bool aVec = as.size() == 1, bVec = bs.size() == 1;
  const unsigned outRank = rs.size(), loops = outRank + 1;
  // Result dims: batch..., [m], [n]. The loops run batch..., m, k, n when
  // there is an n: the innermost loop then walks rows of B and of the result
  // and vectorizes, while each sum still adds its terms in order of k.
  // Without an n (matrix times vector) k is innermost.
  const unsigned batch = outRank - (aVec ? 0 : 1) - (bVec ? 0 : 1);
  const unsigned kDim = bVec ? outRank : outRank - 1;
  auto resultDim = [&](unsigned i) {
    return getAffineDimExpr(!bVec && i == outRank - 1 ? outRank : i, ctx);
  };
  AffineExpr k = getAffineDimExpr(kDim, ctx);
  AffineExpr m = aVec ? AffineExpr() : resultDim(batch);
  AffineExpr n = bVec ? AffineExpr() : resultDim(batch + (aVec ? 0 : 1));
  auto operandMap = [&](ArrayRef<int64_t> shape, bool isA, bool trans) {
    SmallVector<AffineExpr> exprs;
    if (shape.size() == 1) {
      exprs.push_back(k);
      return AffineMap::get(loops, 0, exprs, ctx);
    }
    const size_t own = shape.size() - 2;
    for (size_t i = 0; i < own; ++i) {
      const size_t j = i + (batch - own);
      exprs.push_back(shape[i] == 1 && rs[j] != 1
                          ? getAffineConstantExpr(0, ctx)
                          : resultDim(j));
    }
    AffineExpr outer = isA ? m : n;
    if (isA != trans) {
      exprs.push_back(outer);
      exprs.push_back(k);
    } else {
      exprs.push_back(k);
      exprs.push_back(outer);
    }
    return AffineMap::get(loops, 0, permuteIndices(exprs, isA ? aPerm : bPerm),
                          ctx);
  };
  // The general case (B transposed, or a vector): a linalg.generic.
  auto matMulLoops = [&](Value av, Value bv, Value yv) {
    linalg::FillOp::create(b, loc, ValueRange{f32(0.f)}, ValueRange{yv});
    // The output map takes the result dims and ignores k.
    SmallVector<AffineExpr> outExprs;
    for (unsigned i = 0; i < outRank; ++i)
      outExprs.push_back(resultDim(i));
    SmallVector<AffineMap> maps{operandMap(as, true, transA),
                                operandMap(bs, false, transB),
                                AffineMap::get(loops, 0, outExprs, ctx)};
    SmallVector<utils::IteratorType> iters(loops,
                                           utils::IteratorType::parallel);
    iters[kDim] = utils::IteratorType::reduction;
    linalg::GenericOp::create(
        b, loc, TypeRange{}, ValueRange{av, bv}, ValueRange{yv}, maps, iters,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value prod = arith::MulFOp::create(nb, l, args[0], args[1]);
          linalg::YieldOp::create(
              nb, l, Value(arith::AddFOp::create(nb, l, args[2], prod)));
        });
  };
  FailureOr<Value> av = view(a), bv = view(bm), yv = view(res);
  if (failed(av) || failed(bv) || failed(yv))
    return failure();
  // Which operand dim is contiguous in memory: the vector kernel loads rows
  // of B (n contiguous); the dot kernel loads rows of A and columns of B
  // (k contiguous in both).
  // The logical dim that is contiguous in memory (the operand's last).
  auto physicalLast = [](ArrayRef<int64_t> perm, size_t rank) -> size_t {
    if (perm.empty())
      return rank - 1;
    return std::find(perm.begin(), perm.end(), static_cast<int64_t>(rank) - 1) -
           perm.begin();
  };
  const bool bRowsContiguous =
      !bVec && !transB && physicalLast(bPerm, bs.size()) == bs.size() - 1;
  const bool bColsContiguous =
      !bVec && (transB ? physicalLast(bPerm, bs.size()) == bs.size() - 1
                       : physicalLast(bPerm, bs.size()) == bs.size() - 2);
  const bool aRowsContiguous =
      aVec || (!transA && physicalLast(aPerm, as.size()) == as.size() - 1);
  if (bRowsContiguous) {
    vectorMatMul(*av, *bv, *yv, as, bs, rs, transA, aPerm, bPerm);
  } else if (bColsContiguous && aRowsContiguous) {
    dotMatMul(*av, *bv, *yv, as, bs, rs, transB, aPerm, bPerm);
  } else {
    matMulLoops(*av, *bv, *yv);
  }
  if (alpha != 1.f || c) {
    SmallVector<Value> inputs;
    SmallVector<AffineMap> emaps;
    if (c) {
      FailureOr<Value> cv = view(c);
      if (failed(cv))
        return failure();
      inputs.push_back(*cv);
      emaps.push_back(broadcastMap(shapeOf(c), rs, outRank));
    }
    emaps.push_back(b.getMultiDimIdentityMap(outRank));
    SmallVector<utils::IteratorType> eiters(outRank,
                                            utils::IteratorType::parallel);
    const bool hasC = static_cast<bool>(c);
    linalg::GenericOp::create(
        b, loc, TypeRange{}, inputs, ValueRange{*yv}, emaps, eiters,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          Value acc = args.back();
          Value v = arith::MulFOp::create(
              nb, l, acc,
              arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(alpha)));
          if (hasC)
            v = arith::AddFOp::create(
                nb, l, v,
                arith::MulFOp::create(nb, l, args[0],
                                      arith::ConstantOp::create(
                                          nb, l, nb.getF32FloatAttr(beta))));
          linalg::YieldOp::create(nb, l, v);
        });
  }
  return success();
}

/// Loads x[idx...] where each index may fall outside [0, size): the index is
/// clamped for the load and the value replaced by `fill` when out of range.
Value guardedLoad(OpBuilder &nb, Location l, Value memref,
                  ArrayRef<Value> indices, ArrayRef<int64_t> sizes,
                  ArrayRef<bool> check, Value fill) {
  SmallVector<Value> clamped;
  Value valid;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (!check[i]) {
      clamped.push_back(indices[i]);
      continue;
    }
    Value zero = arith::ConstantIndexOp::create(nb, l, 0);
    Value last = arith::ConstantIndexOp::create(nb, l, sizes[i] - 1);
    Value ok = arith::AndIOp::create(
        nb, l,
        arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sge, indices[i],
                              zero),
        arith::CmpIOp::create(nb, l, arith::CmpIPredicate::sle, indices[i],
                              last));
    valid = valid ? arith::AndIOp::create(nb, l, valid, ok).getResult() : ok;
    clamped.push_back(arith::MinSIOp::create(
        nb, l, arith::MaxSIOp::create(nb, l, indices[i], zero), last));
  }
  Value v = memref::LoadOp::create(nb, l, memref, clamped);
  return valid ? arith::SelectOp::create(nb, l, valid, v, fill).getResult() : v;
}

/// Builds nested scf.for loops over [0, bounds[i]) and calls body with the
/// induction variables; iterArgs thread through the innermost loops only
/// when given to reductions (see loopReduce).
void loopNest(OpBuilder &b, Location l, ArrayRef<int64_t> bounds,
              function_ref<void(OpBuilder &, ArrayRef<Value>)> body) {
  SmallVector<Value> ivs;
  std::function<void(OpBuilder &, size_t)> build = [&](OpBuilder &nb,
                                                       size_t d) {
    if (d == bounds.size()) {
      body(nb, ivs);
      return;
    }
    Value lb = arith::ConstantIndexOp::create(nb, l, 0);
    Value ub = arith::ConstantIndexOp::create(nb, l, bounds[d]);
    Value step = arith::ConstantIndexOp::create(nb, l, 1);
    scf::ForOp::create(nb, l, lb, ub, step, ValueRange{},
                       [&](OpBuilder &ib, Location, Value iv, ValueRange) {
                         ivs.push_back(iv);
                         build(ib, d + 1);
                         ivs.pop_back();
                         scf::YieldOp::create(ib, l);
                       });
  };
  build(b, 0);
}

/// Fast-math flags for the adds of a float sum (reductions, layer norm,
/// softmax): they may be reassociated, so that LLVM vectorizes the sum with
/// several partial sums, as every vectorized runtime does. The result
/// differs from the sequential sum by rounding only.
arith::FastMathFlagsAttr reassociable(OpBuilder &b) {
  return arith::FastMathFlagsAttr::get(b.getContext(),
                                       arith::FastMathFlags::reassoc |
                                           arith::FastMathFlags::contract);
}

/// A reduction loop nest over `bounds` carrying one f32 value.
Value loopReduce(
    OpBuilder &b, Location l, ArrayRef<int64_t> bounds, Value init,
    function_ref<Value(OpBuilder &, ArrayRef<Value>, Value)> body) {
  SmallVector<Value> ivs;
  std::function<Value(OpBuilder &, size_t, Value)> build =
      [&](OpBuilder &nb, size_t d, Value acc) -> Value {
    if (d == bounds.size())
      return body(nb, ivs, acc);
    Value lb = arith::ConstantIndexOp::create(nb, l, 0);
    Value ub = arith::ConstantIndexOp::create(nb, l, bounds[d]);
    Value step = arith::ConstantIndexOp::create(nb, l, 1);
    auto loop = scf::ForOp::create(
        nb, l, lb, ub, step, ValueRange{acc},
        [&](OpBuilder &ib, Location, Value iv, ValueRange iter) {
          ivs.push_back(iv);
          Value next = build(ib, d + 1, iter[0]);
          ivs.pop_back();
          scf::YieldOp::create(ib, l, next);
        });
    return loop.getResult(0);
  };
  return build(b, 0, init);
}

/// The lanes of a 16-wide step from `start` that fall before `end`, or a
/// null mask when every step is full (`extent` a multiple of `lanes`).
Value tailMask(OpBuilder &b, Location l, int64_t extent, int64_t lanes,
               Value end, Value start) {
  if (extent % lanes == 0)
    return {};
  return vector::CreateMaskOp::create(
      b, l, VectorType::get({lanes}, b.getI1Type()),
      ValueRange{arith::SubIOp::create(b, l, end, start)});
}

/// A vector load, masked (masked-off lanes read `zero`) when `mask` is set.
Value loadLanes(OpBuilder &b, Location l, VectorType type, Value memref,
                ValueRange idx, Value mask, Value zero) {
  if (mask)
    return vector::MaskedLoadOp::create(b, l, type, memref, idx, mask, zero);
  return vector::LoadOp::create(b, l, type, memref, idx);
}

/// base, base + 1, ..., base + count - 1 as indices.
SmallVector<Value> offsetsFrom(OpBuilder &b, Location l, Value base,
                               int64_t count) {
  SmallVector<Value> out;
  for (int64_t i = 0; i < count; ++i)
    out.push_back(arith::AddIOp::create(
        b, l, base, arith::ConstantIndexOp::create(b, l, i)));
  return out;
}

/// Calls `block(builder, start, size)` over [0, extent): blocks of
/// `blockSize` in one loop, then the leftover one at a time in another.
void blockedLoops(OpBuilder &b, Location l, int64_t extent, int64_t blockSize,
                  function_ref<void(OpBuilder &, Value, int64_t)> block) {
  const int64_t full = extent - extent % blockSize;
  auto loop = [&](int64_t from, int64_t to, int64_t step) {
    if (from >= to)
      return;
    scf::ForOp::create(b, l, arith::ConstantIndexOp::create(b, l, from),
                       arith::ConstantIndexOp::create(b, l, to),
                       arith::ConstantIndexOp::create(b, l, step), ValueRange{},
                       [&](OpBuilder &nb, Location, Value start, ValueRange) {
                         block(nb, start, step);
                         scf::YieldOp::create(nb, l);
                       });
  };
  loop(0, full, blockSize);
  loop(full, extent, 1);
}

/// An operand's leading (batch) indices in a matrix product whose result
/// has shape `rs` and `batch` batch dims, from the result's batch indices
/// `iv`: the operand's own `own` batch dims are the trailing ones of the
/// result's, and a dim of 1 broadcasts.
SmallVector<Value> batchIndices(OpBuilder &b, Location l,
                                ArrayRef<int64_t> shape, size_t own,
                                size_t batch, ArrayRef<int64_t> rs,
                                ArrayRef<Value> iv) {
  SmallVector<Value> idx;
  for (size_t i = 0; i < own; ++i) {
    const size_t j = i + (batch - own);
    idx.push_back(shape[i] == 1 && rs[j] != 1
                      ? arith::ConstantIndexOp::create(b, l, 0).getResult()
                      : iv[j]);
  }
  return idx;
}

void Lowering::vectorMatMul(Value av, Value bv, Value yv, ArrayRef<int64_t> as,
                            ArrayRef<int64_t> bs, ArrayRef<int64_t> rs,
                            bool transA, ArrayRef<int64_t> aPerm,
                            ArrayRef<int64_t> bPerm) {
  // A block of up to kRows rows of the result by kLanes columns lives in
  // registers while k runs; every sum adds its terms in order of k with
  // one multiply-add each (fused on CPUs with FMA). A vector of A (no m)
  // is one row.
  constexpr int64_t kRows = 4, kLanes = 16;
  const bool aVec = as.size() == 1;
  const size_t outRank = rs.size();
  const size_t batch = outRank - (aVec ? 1 : 2);
  const int64_t M = aVec ? 1 : rs[outRank - 2], N = rs[outRank - 1];
  const int64_t K = bs[bs.size() - 2];
  auto vecType = VectorType::get({kLanes}, b.getF32Type());
  SmallVector<int64_t> batchShape(rs.begin(), rs.begin() + batch);
  loopNest(b, loc, batchShape, [&](OpBuilder &nb, ArrayRef<Value> iv) {
    SmallVector<Value> aBase =
        batchIndices(nb, loc, as, aVec ? 0 : as.size() - 2, batch, rs, iv);
    SmallVector<Value> bBase =
        batchIndices(nb, loc, bs, bs.size() - 2, batch, rs, iv);
    SmallVector<Value> yBase(iv.begin(), iv.end());
    Value zero = arith::ConstantOp::create(
        nb, loc, DenseElementsAttr::get(vecType, nb.getF32FloatAttr(0.f)));
    // Rows [m0, m0 + rows) and the columns from n0.
    auto block = [&](OpBuilder &bb, Value m0, int64_t rows) {
      Value c0 = arith::ConstantIndexOp::create(bb, loc, 0);
      Value cN = arith::ConstantIndexOp::create(bb, loc, N);
      Value cK = arith::ConstantIndexOp::create(bb, loc, K);
      Value lanes = arith::ConstantIndexOp::create(bb, loc, kLanes);
      scf::ForOp::create(
          bb, loc, c0, cN, lanes, ValueRange{},
          [&](OpBuilder &nbb, Location, Value n0, ValueRange) {
            // Columns past N are masked off (only the last block has any).
            Value mask = tailMask(nbb, loc, N, kLanes, cN, n0);
            SmallVector<Value> rowIdx = offsetsFrom(nbb, loc, m0, rows);
            SmallVector<Value> init(rows, zero);
            auto kLoop = scf::ForOp::create(
                nbb, loc, c0, cK, arith::ConstantIndexOp::create(nbb, loc, 1),
                init, [&](OpBuilder &kb, Location, Value k, ValueRange accs) {
                  SmallVector<Value> bIdx(bBase);
                  bIdx.push_back(k);
                  bIdx.push_back(n0);
                  bIdx = permuteIndices(bIdx, bPerm);
                  Value bRow =
                      loadLanes(kb, loc, vecType, bv, bIdx, mask, zero);
                  SmallVector<Value> next;
                  for (int64_t r = 0; r < rows; ++r) {
                    SmallVector<Value> aIdx(aBase);
                    if (aVec)
                      aIdx.push_back(k);
                    else if (transA)
                      aIdx.append({k, rowIdx[r]});
                    else
                      aIdx.append({rowIdx[r], k});
                    Value aScalar = memref::LoadOp::create(
                        kb, loc, av, permuteIndices(aIdx, aPerm));
                    Value aSplat =
                        vector::BroadcastOp::create(kb, loc, vecType, aScalar);
                    next.push_back(
                        vector::FMAOp::create(kb, loc, aSplat, bRow, accs[r]));
                  }
                  scf::YieldOp::create(kb, loc, next);
                });
            for (int64_t r = 0; r < rows; ++r) {
              SmallVector<Value> yIdx(yBase);
              if (!aVec)
                yIdx.push_back(rowIdx[r]);
              yIdx.push_back(n0);
              if (mask)
                vector::MaskedStoreOp::create(nbb, loc, yv, yIdx, mask,
                                              kLoop.getResult(r));
              else
                vector::StoreOp::create(nbb, loc, kLoop.getResult(r), yv, yIdx);
            }
            scf::YieldOp::create(nbb, loc);
          });
    };
    blockedLoops(nb, loc, M, kRows, block);
  });
}

/// Matrix products whose rows of A and columns of B are contiguous (B
/// transposed, or read through a folded transpose that puts k last): each
/// result is a dot product over k, computed 16 lanes at a time for a block
/// of up to 4 columns that share the loaded row of A, then summed across
/// lanes. The lanes reassociate the sum, as every vectorized dot product
/// does; the result differs from the sequential sum by rounding only.
void Lowering::dotMatMul(Value av, Value bv, Value yv, ArrayRef<int64_t> as,
                         ArrayRef<int64_t> bs, ArrayRef<int64_t> rs,
                         bool transB, ArrayRef<int64_t> aPerm,
                         ArrayRef<int64_t> bPerm) {
  constexpr int64_t kCols = 4, kLanes = 16;
  const bool aVec = as.size() == 1;
  const size_t outRank = rs.size();
  const size_t batch = outRank - (aVec ? 1 : 2);
  const int64_t M = aVec ? 1 : rs[outRank - 2], N = rs[outRank - 1];
  const int64_t K = as.back();
  auto vecType = VectorType::get({kLanes}, b.getF32Type());
  SmallVector<int64_t> outer(rs.begin(), rs.begin() + batch);
  if (!aVec)
    outer.push_back(M);
  loopNest(b, loc, outer, [&](OpBuilder &nb, ArrayRef<Value> iv) {
    SmallVector<Value> aBase =
        batchIndices(nb, loc, as, aVec ? 0 : as.size() - 2, batch, rs, iv);
    SmallVector<Value> bBase =
        batchIndices(nb, loc, bs, bs.size() - 2, batch, rs, iv);
    Value m = aVec ? Value() : iv.back();
    Value zero = arith::ConstantOp::create(
        nb, loc, DenseElementsAttr::get(vecType, nb.getF32FloatAttr(0.f)));
    Value c0 = arith::ConstantIndexOp::create(nb, loc, 0);
    Value cK = arith::ConstantIndexOp::create(nb, loc, K);
    Value lanes = arith::ConstantIndexOp::create(nb, loc, kLanes);
    auto block = [&](OpBuilder &bb, Value n0, int64_t cols) {
      SmallVector<Value> colIdx = offsetsFrom(bb, loc, n0, cols);
      SmallVector<Value> init(cols, zero);
      auto kLoop = scf::ForOp::create(
          bb, loc, c0, cK, lanes, init,
          [&](OpBuilder &kb, Location, Value k0, ValueRange accs) {
            Value mask = tailMask(kb, loc, K, kLanes, cK, k0);
            auto load = [&](Value memref, SmallVector<Value> idx) {
              return loadLanes(kb, loc, vecType, memref, idx, mask, zero);
            };
            SmallVector<Value> aIdx(aBase);
            if (!aVec)
              aIdx.push_back(m);
            aIdx.push_back(k0);
            Value aRow = load(av, permuteIndices(aIdx, aPerm));
            SmallVector<Value> next;
            for (int64_t c = 0; c < cols; ++c) {
              SmallVector<Value> bIdx(bBase);
              if (transB)
                bIdx.append({colIdx[c], k0});
              else
                bIdx.append({k0, colIdx[c]});
              Value bCol = load(bv, permuteIndices(bIdx, bPerm));
              next.push_back(
                  vector::FMAOp::create(kb, loc, aRow, bCol, accs[c]));
            }
            scf::YieldOp::create(kb, loc, next);
          });
      for (int64_t c = 0; c < cols; ++c) {
        Value sum = vector::ReductionOp::create(
            bb, loc, vector::CombiningKind::ADD, kLoop.getResult(c),
            arith::FastMathFlags::reassoc | arith::FastMathFlags::contract);
        SmallVector<Value> yIdx(iv.begin(), iv.end());
        yIdx.push_back(colIdx[c]);
        memref::StoreOp::create(bb, loc, sum, yv, yIdx);
      }
    };
    blockedLoops(nb, loc, N, kCols, block);
  });
}

Value affineIndex(OpBuilder &nb, Location l, Value out, int64_t stride, Value k,
                  int64_t dilation, int64_t pad) {
  // out * stride + k * dilation - pad
  Value s = arith::ConstantIndexOp::create(nb, l, stride);
  Value d = arith::ConstantIndexOp::create(nb, l, dilation);
  Value p = arith::ConstantIndexOp::create(nb, l, pad);
  return arith::SubIOp::create(
      nb, l,
      arith::AddIOp::create(nb, l, arith::MulIOp::create(nb, l, out, s),
                            arith::MulIOp::create(nb, l, k, d)),
      p);
}

LogicalResult Lowering::lowerConv(qg::Conv2DOp op) {
  if (failed(requireF32(op, kBackend,
                        " (quantized convolutions are fused first)")))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(op.getInput()), ws = shapeOf(op.getWeight()),
                    ys = shapeOf(op.getResult());
  const int64_t group = op.getGroup();
  const int64_t cPerGroup = ws[1], fPerGroup = ws[0] / group;
  ArrayRef<int64_t> strides = op.getStrides(), pads = op.getPads(),
                    dil = op.getDilations();
  FailureOr<Value> x = view(op.getInput()), w = view(op.getWeight()),
                   y = view(op.getResult());
  if (failed(x) || failed(w) || failed(y))
    return failure();
  FailureOr<Value> biasView = optionalView(op.getBias());
  if (failed(biasView))
    return failure();
  Value bias = *biasView;
  const int64_t H = xs[2], W = xs[3];
  loopNest(
      b, loc, {ys[0], ys[1], ys[2], ys[3]},
      [&](OpBuilder &nb, ArrayRef<Value> iv) {
        Value n = iv[0], f = iv[1], oh = iv[2], ow = iv[3];
        Value init =
            bias ? memref::LoadOp::create(nb, loc, bias, ValueRange{f})
                       .getResult()
                 : arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.f))
                       .getResult();
        Value g = arith::DivUIOp::create(
            nb, loc, f, arith::ConstantIndexOp::create(nb, loc, fPerGroup));
        Value cBase = arith::MulIOp::create(
            nb, loc, g, arith::ConstantIndexOp::create(nb, loc, cPerGroup));
        Value zero =
            arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.f));
        Value acc = loopReduce(
            nb, loc, {cPerGroup, ws[2], ws[3]}, init,
            [&](OpBuilder &ib, ArrayRef<Value> r, Value a) -> Value {
              Value ih =
                  affineIndex(ib, loc, oh, strides[0], r[1], dil[0], pads[0]);
              Value iw =
                  affineIndex(ib, loc, ow, strides[1], r[2], dil[1], pads[1]);
              Value c = arith::AddIOp::create(ib, loc, cBase, r[0]);
              Value xv =
                  guardedLoad(ib, loc, *x, {n, c, ih, iw}, {xs[0], xs[1], H, W},
                              {false, false, true, true}, zero);
              Value wv = memref::LoadOp::create(
                  ib, loc, *w, ValueRange{f, r[0], r[1], r[2]});
              return math::FmaOp::create(ib, loc, xv, wv, a);
            });
        memref::StoreOp::create(nb, loc, acc, *y, ValueRange{n, f, oh, ow});
      });
  return success();
}

LogicalResult Lowering::lowerPool(Operation *op) {
  Value in = op->getOperand(0), res = op->getResult(0);
  if (failed(requireF32(op, kBackend)))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(in), ys = shapeOf(res);
  FailureOr<Value> x = view(in), y = view(res);
  if (failed(x) || failed(y))
    return failure();
  if (isa<qg::GlobalAvgPoolOp>(op)) {
    SmallVector<int64_t> spatial(xs.begin() + 2, xs.end());
    int64_t count = 1;
    for (int64_t d : spatial)
      count *= d;
    loopNest(b, loc, {ys[0], ys[1]}, [&](OpBuilder &nb, ArrayRef<Value> iv) {
      Value sum = loopReduce(
          nb, loc, spatial,
          arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.f)),
          [&](OpBuilder &ib, ArrayRef<Value> r, Value a) -> Value {
            SmallVector<Value> idx{iv[0], iv[1]};
            idx.append(r.begin(), r.end());
            return arith::AddFOp::create(
                ib, loc, a, memref::LoadOp::create(ib, loc, *x, idx));
          });
      Value mean = arith::DivFOp::create(
          nb, loc, sum,
          arith::ConstantOp::create(
              nb, loc, nb.getF32FloatAttr(static_cast<float>(count))));
      SmallVector<Value> out{iv[0], iv[1]};
      for (size_t i = 2; i < ys.size(); ++i)
        out.push_back(arith::ConstantIndexOp::create(nb, loc, 0));
      memref::StoreOp::create(nb, loc, mean, *y, out);
    });
    return success();
  }
  const PoolWindow window = poolWindowOf(op);
  ArrayRef<int64_t> kernel = window.kernel, strides = window.strides,
                    pads = window.pads;
  const bool isMax = window.isMax, countPad = window.countIncludePad;
  const size_t sd = kernel.size();
  if (xs.size() != sd + 2)
    return op->emitError("CPU backend: pooling rank mismatch");
  const float init = isMax ? -std::numeric_limits<float>::infinity() : 0.f;
  loopNest(b, loc, ys, [&](OpBuilder &nb, ArrayRef<Value> iv) {
    Value fill = arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(init));
    // Value and count carried together: count only for average pooling.
    SmallVector<Value> inputIdx;
    Value acc = loopReduce(
        nb, loc, kernel, fill,
        [&](OpBuilder &ib, ArrayRef<Value> r, Value a) -> Value {
          SmallVector<Value> idx{iv[0], iv[1]};
          SmallVector<int64_t> sizes{xs[0], xs[1]};
          SmallVector<bool> check{false, false};
          for (size_t d = 0; d < sd; ++d) {
            idx.push_back(
                affineIndex(ib, loc, iv[2 + d], strides[d], r[d], 1, pads[d]));
            sizes.push_back(xs[2 + d]);
            check.push_back(true);
          }
          Value v = guardedLoad(ib, loc, *x, idx, sizes, check,
                                isMax ? fill
                                      : arith::ConstantOp::create(
                                            ib, loc, ib.getF32FloatAttr(0.f))
                                            .getResult());
          return isMax ? arith::MaximumFOp::create(ib, loc, a, v).getResult()
                       : arith::AddFOp::create(ib, loc, a, v).getResult();
        });
    if (!isMax) {
      // The divisor: window positions inside the input (or inside the
      // padded input with count_include_pad), computed per dimension.
      Value count = arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(1.f));
      for (size_t d = 0; d < sd; ++d) {
        const int64_t lo = countPad ? -pads[d] : 0;
        const int64_t hi = countPad ? xs[2 + d] + pads[sd + d] : xs[2 + d];
        Value start =
            affineIndex(nb, loc, iv[2 + d], strides[d],
                        arith::ConstantIndexOp::create(nb, loc, 0), 1, pads[d]);
        Value end = arith::AddIOp::create(
            nb, loc, start, arith::ConstantIndexOp::create(nb, loc, kernel[d]));
        Value from = arith::MaxSIOp::create(
            nb, loc, start, arith::ConstantIndexOp::create(nb, loc, lo));
        Value to = arith::MinSIOp::create(
            nb, loc, end, arith::ConstantIndexOp::create(nb, loc, hi));
        Value span = arith::IndexCastOp::create(
            nb, loc, nb.getI64Type(), arith::SubIOp::create(nb, loc, to, from));
        count = arith::MulFOp::create(
            nb, loc, count,
            arith::SIToFPOp::create(nb, loc, nb.getF32Type(), span));
      }
      acc = arith::DivFOp::create(nb, loc, acc, count);
    }
    memref::StoreOp::create(nb, loc, acc, *y, iv);
  });
  return success();
}

LogicalResult Lowering::lowerTranspose(qg::TransposeOp op) {
  ArrayRef<int64_t> perm = op.getPerm();
  const unsigned rank = perm.size();
  SmallVector<AffineExpr> exprs(rank);
  for (unsigned i = 0; i < rank; ++i)
    exprs[perm[i]] = getAffineDimExpr(i, ctx);
  FailureOr<Value> x = view(op.getInput()), y = view(op.getResult());
  if (failed(x) || failed(y))
    return failure();
  SmallVector<AffineMap> maps{AffineMap::get(rank, 0, exprs, ctx),
                              b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  linalg::GenericOp::create(b, loc, TypeRange{}, ValueRange{*x}, ValueRange{*y},
                            maps, iters,
                            [&](OpBuilder &nb, Location l, ValueRange args) {
                              linalg::YieldOp::create(nb, l, args[0]);
                            });
  return success();
}

void Lowering::copyInto(Value x, Value y, AffineMap inputMap) {
  // Loops over y's shape. (A linalg.generic would take its loop bounds from
  // x where the map is the identity, e.g. a slice that starts at 0.)
  loopNest(
      b, loc, cast<MemRefType>(y.getType()).getShape(),
      [&](OpBuilder &nb, ArrayRef<Value> iv) {
        SmallVector<Value> from;
        for (AffineExpr e : inputMap.getResults())
          from.push_back(affine::AffineApplyOp::create(
              nb, loc, AffineMap::get(inputMap.getNumDims(), 0, e, ctx), iv));
        memref::StoreOp::create(
            nb, loc, memref::LoadOp::create(nb, loc, x, from), y, iv);
      });
}

LogicalResult Lowering::lowerExpand(qg::ExpandOp op) {
  if (op.getInput().getType().getElementType() != op.getType().getElementType())
    return op.emitError("CPU backend: qg.expand that changes the element "
                        "type is not supported");
  FailureOr<Value> x = view(op.getInput()), y = view(op.getResult());
  if (failed(x) || failed(y))
    return failure();
  ArrayRef<int64_t> rs = shapeOf(op.getResult());
  copyInto(*x, *y, broadcastMap(shapeOf(op.getInput()), rs, rs.size()));
  return success();
}

/// y[i...] = x[start + i * step ...]; the importer has normalized the
/// bounds (0 <= start <= dim, step != 0).
LogicalResult Lowering::lowerSlice(qg::SliceOp op) {
  ArrayRef<int64_t> starts = op.getStarts(), steps = op.getSteps();
  const size_t rank = shapeOf(op.getResult()).size();
  if (starts.size() != rank || steps.size() != rank)
    return op.emitError("CPU backend: qg.slice needs one start and step per "
                        "dimension");
  if (op.getInput().getType().getElementType() != op.getType().getElementType())
    return op.emitError("CPU backend: qg.slice that changes the element "
                        "type is not supported yet (a slice along a "
                        "per-axis quantization axis)");
  FailureOr<Value> x = view(op.getInput()), y = view(op.getResult());
  if (failed(x) || failed(y))
    return failure();
  SmallVector<AffineExpr> exprs;
  for (size_t d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d, ctx) * steps[d] + starts[d]);
  copyInto(*x, *y, AffineMap::get(rank, 0, exprs, ctx));
  return success();
}

/// Each input is copied into its window of the result along the axis.
LogicalResult Lowering::lowerConcat(qg::ConcatOp op) {
  ArrayRef<int64_t> rs = shapeOf(op.getResult());
  const int64_t axis = normalizedAxis(op.getAxis(), rs.size());
  for (Value in : op.getInputs())
    if (cast<RankedTensorType>(in.getType()).getElementType() !=
        op.getType().getElementType())
      return op.emitError("CPU backend: qg.concat of inputs whose element "
                          "types differ from the result's (different "
                          "quantization parameters) is not supported yet");
  FailureOr<Value> y = view(op.getResult());
  if (failed(y))
    return failure();
  int64_t offset = 0;
  for (Value in : op.getInputs()) {
    ArrayRef<int64_t> shape = shapeOf(in);
    FailureOr<Value> x = view(in);
    if (failed(x))
      return failure();
    if (shape[axis] != 0) {
      SmallVector<int64_t> offsets(rs.size(), 0), strides(rs.size(), 1);
      offsets[axis] = offset;
      Value window =
          memref::SubViewOp::create(b, loc, *y, offsets, shape, strides);
      copyInto(*x, window, b.getMultiDimIdentityMap(rs.size()));
    }
    offset += shape[axis];
  }
  return success();
}

LogicalResult Lowering::lowerGather(qg::GatherOp op) {
  ArrayRef<int64_t> ds = shapeOf(op.getData()), is = shapeOf(op.getIndices()),
                    ys = shapeOf(op.getResult());
  const int64_t axis = normalizedAxis(op.getAxis(), ds.size());
  FailureOr<Value> data = view(op.getData()), indices = view(op.getIndices()),
                   y = view(op.getResult());
  if (failed(data) || failed(indices) || failed(y))
    return failure();
  const int64_t dim = ds[axis];
  loopNest(b, loc, ys, [&](OpBuilder &nb, ArrayRef<Value> iv) {
    SmallVector<Value> idx(iv.begin() + axis, iv.begin() + axis + is.size());
    Value raw = memref::LoadOp::create(nb, loc, *indices, idx);
    Value i = arith::IndexCastOp::create(nb, loc, nb.getIndexType(), raw);
    // Negative indices count from the end; the rest is clamped into range
    // (ONNX leaves out-of-range indices undefined; compiled code must not
    // read outside the tensor).
    Value zero = arith::ConstantIndexOp::create(nb, loc, 0);
    Value size = arith::ConstantIndexOp::create(nb, loc, dim);
    Value negative =
        arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::slt, i, zero);
    i = arith::SelectOp::create(nb, loc, negative,
                                arith::AddIOp::create(nb, loc, i, size), i);
    i = arith::MinSIOp::create(
        nb, loc, arith::MaxSIOp::create(nb, loc, i, zero),
        arith::ConstantIndexOp::create(nb, loc, dim - 1));
    SmallVector<Value> src(iv.begin(), iv.begin() + axis);
    src.push_back(i);
    src.append(iv.begin() + axis + is.size(), iv.end());
    Value v = memref::LoadOp::create(nb, loc, *data, src);
    memref::StoreOp::create(nb, loc, v, *y, iv);
  });
  return success();
}

LogicalResult Lowering::lowerCast(qg::CastOp op) {
  FailureOr<Storage> from = storageOf(op, op.getInput().getType(), kBackend),
                     to = storageOf(op, op.getResult().getType(), kBackend);
  if (failed(from) || failed(to))
    return failure();
  if (isa<qg::QuantType>(
          cast<RankedTensorType>(op.getInput().getType()).getElementType()) ||
      isa<qg::QuantType>(
          cast<RankedTensorType>(op.getResult().getType()).getElementType()))
    return op.emitError("CPU backend: qg.cast of quantized tensors is not "
                        "supported yet");
  FailureOr<Value> x = view(op.getInput()), y = view(op.getResult());
  if (failed(x) || failed(y))
    return failure();
  const unsigned rank = shapeOf(op.getResult()).size();
  SmallVector<AffineMap> maps(2, b.getMultiDimIdentityMap(rank));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  const Storage f = *from, t = *to;
  linalg::GenericOp::create(
      b, loc, TypeRange{}, ValueRange{*x}, ValueRange{*y}, maps, iters,
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value v = args[0];
        const bool fromFloat = f.element.isF32(), toFloat = t.element.isF32();
        if (fromFloat && toFloat) {
        } else if (!fromFloat && toFloat) {
          v = f.isUnsigned ? arith::UIToFPOp::create(nb, l, nb.getF32Type(), v)
                                 .getResult()
                           : arith::SIToFPOp::create(nb, l, nb.getF32Type(), v)
                                 .getResult();
        } else if (fromFloat) {
          // Toward zero, saturating, NaN to 0: clamp in f32 to the largest
          // values that convert exactly, then convert.
          const unsigned bits = t.bytes * 8;
          double lo = t.isUnsigned ? 0.0 : -std::ldexp(1.0, bits - 1);
          double hi = t.isUnsigned ? std::ldexp(1.0, bits) - 1
                                   : std::ldexp(1.0, bits - 1) - 1;
          // Round hi down to an f32 that is not above it.
          float hiF = static_cast<float>(hi);
          if (static_cast<double>(hiF) > hi)
            hiF = std::nextafter(hiF, 0.0f);
          Value nan =
              arith::CmpFOp::create(nb, l, arith::CmpFPredicate::UNO, v, v);
          Value c = arith::MinimumFOp::create(
              nb, l,
              arith::MaximumFOp::create(
                  nb, l, v,
                  arith::ConstantOp::create(
                      nb, l, nb.getF32FloatAttr(static_cast<float>(lo)))),
              arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(hiF)));
          c = arith::SelectOp::create(
              nb, l, nan,
              arith::ConstantOp::create(nb, l, nb.getF32FloatAttr(0.f)), c);
          v = t.isUnsigned
                  ? arith::FPToUIOp::create(nb, l, t.element, c).getResult()
                  : arith::FPToSIOp::create(nb, l, t.element, c).getResult();
        } else if (t.bytes > f.bytes) {
          v = f.isUnsigned
                  ? arith::ExtUIOp::create(nb, l, t.element, v).getResult()
                  : arith::ExtSIOp::create(nb, l, t.element, v).getResult();
        } else if (t.bytes < f.bytes) {
          v = arith::TruncIOp::create(nb, l, t.element, v);
        }
        linalg::YieldOp::create(nb, l, v);
      });
  return success();
}

/// reduce_sum / reduce_mean over `axes` (all when empty), keepdims or not.
LogicalResult Lowering::lowerReduce(Operation *op) {
  Value in = op->getOperand(0), res = op->getResult(0);
  if (failed(requireF32(op, kBackend)))
    return failure();
  ArrayRef<int64_t> xs = shapeOf(in), ys = shapeOf(res);
  const Reduction reduction = reductionOf(op);
  ArrayRef<bool> reduced = reduction.reduced;
  const bool keepdims = reduction.keepdims, mean = reduction.mean;
  SmallVector<int64_t> extents;
  int64_t count = 1;
  for (size_t d = 0; d < xs.size(); ++d)
    if (reduced[d]) {
      extents.push_back(xs[d]);
      count *= xs[d];
    }
  FailureOr<Value> x = view(in), y = view(res);
  if (failed(x) || failed(y))
    return failure();
  loopNest(b, loc, ys, [&](OpBuilder &nb, ArrayRef<Value> iv) {
    Value sum =
        loopReduce(nb, loc, extents,
                   arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.f)),
                   [&](OpBuilder &ib, ArrayRef<Value> r, Value acc) -> Value {
                     SmallVector<Value> idx;
                     size_t out = 0, red = 0;
                     for (size_t d = 0; d < xs.size(); ++d) {
                       if (reduced[d]) {
                         idx.push_back(r[red++]);
                         if (keepdims)
                           ++out;
                       } else {
                         idx.push_back(iv[out++]);
                       }
                     }
                     return arith::AddFOp::create(
                         ib, loc, acc, memref::LoadOp::create(ib, loc, *x, idx),
                         reassociable(ib));
                   });
    if (mean)
      sum = arith::DivFOp::create(
          nb, loc, sum,
          arith::ConstantOp::create(
              nb, loc, nb.getF32FloatAttr(static_cast<float>(count))));
    memref::StoreOp::create(nb, loc, sum, *y, iv);
  });
  return success();
}

/// Loops over every index of `shape` except dimensions from `from` on
/// (set to 0 in the index passed to `body`).
void outerLoops(OpBuilder &b, Location l, ArrayRef<int64_t> shape, size_t from,
                size_t skip,
                function_ref<void(OpBuilder &, ArrayRef<Value>)> body) {
  SmallVector<int64_t> outer;
  for (size_t d = 0; d < shape.size(); ++d)
    if (d < from || d >= from + skip)
      outer.push_back(shape[d]);
  loopNest(b, l, outer, [&](OpBuilder &nb, ArrayRef<Value> iv) {
    SmallVector<Value> idx;
    size_t o = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      idx.push_back(d < from || d >= from + skip
                        ? iv[o++]
                        : arith::ConstantIndexOp::create(nb, l, 0).getResult());
    body(nb, idx);
  });
}

/// Softmax along one axis: max, then the sum of exp(x - max), then
/// exp(x - max) / sum.
LogicalResult Lowering::lowerSoftmax(qg::SoftmaxOp op) {
  ArrayRef<int64_t> xs = shapeOf(op.getInput());
  if (failed(requireF32(op, kBackend)))
    return failure();
  const int64_t axis = normalizedAxis(op.getAxis(), xs.size());
  FailureOr<Value> x = view(op.getInput()), y = view(op.getResult());
  if (failed(x) || failed(y))
    return failure();
  outerLoops(b, loc, xs, axis, 1, [&](OpBuilder &nb, ArrayRef<Value> base) {
    auto at = [&](ArrayRef<Value> from, Value i) {
      SmallVector<Value> idx(from.begin(), from.end());
      idx[axis] = i;
      return idx;
    };
    Value max = loopReduce(
        nb, loc, {xs[axis]},
        arith::ConstantOp::create(
            nb, loc,
            nb.getF32FloatAttr(-std::numeric_limits<float>::infinity())),
        [&](OpBuilder &ib, ArrayRef<Value> r, Value acc) -> Value {
          return arith::MaximumFOp::create(
              ib, loc, acc,
              memref::LoadOp::create(ib, loc, *x, at(base, r[0])));
        });
    // exp in a loop of its own, which vectorizes (SLEEF), then the sum.
    loopNest(nb, loc, {xs[axis]}, [&](OpBuilder &ib, ArrayRef<Value> r) {
      Value e = math::ExpOp::create(
          ib, loc,
          arith::SubFOp::create(
              ib, loc, memref::LoadOp::create(ib, loc, *x, at(base, r[0])),
              max));
      memref::StoreOp::create(ib, loc, e, *y, at(base, r[0]));
    });
    Value sum = loopReduce(
        nb, loc, {xs[axis]},
        arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.f)),
        [&](OpBuilder &ib, ArrayRef<Value> r, Value acc) -> Value {
          return arith::AddFOp::create(
              ib, loc, acc, memref::LoadOp::create(ib, loc, *y, at(base, r[0])),
              reassociable(ib));
        });
    Value inv = arith::DivFOp::create(
        nb, loc, arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(1.f)),
        sum);
    loopNest(nb, loc, {xs[axis]}, [&](OpBuilder &ib, ArrayRef<Value> r) {
      SmallVector<Value> idx = at(base, r[0]);
      Value e = memref::LoadOp::create(ib, loc, *y, idx);
      memref::StoreOp::create(ib, loc, arith::MulFOp::create(ib, loc, e, inv),
                              *y, idx);
    });
  });
  return success();
}

/// Layer normalization over the trailing dimensions from `axis`: mean,
/// variance, then (x - mean) / sqrt(variance + epsilon) * scale + bias.
LogicalResult Lowering::lowerLayerNorm(qg::LayerNormOp op) {
  ArrayRef<int64_t> xs = shapeOf(op.getInput());
  if (failed(requireF32(op, kBackend)))
    return failure();
  const int64_t axis = normalizedAxis(op.getAxis(), xs.size());
  SmallVector<int64_t> inner(xs.begin() + axis, xs.end());
  int64_t width = 1;
  for (int64_t d : inner)
    width *= d;
  FailureOr<Value> x = view(op.getInput()), y = view(op.getResult()),
                   scale = view(op.getScale());
  if (failed(x) || failed(y) || failed(scale))
    return failure();
  FailureOr<Value> biasView = optionalView(op.getBias());
  if (failed(biasView))
    return failure();
  Value bias = *biasView;
  const unsigned scaleRank = shapeOf(op.getScale()).size();
  const float epsilon = op.getEpsilon().convertToFloat();
  outerLoops(
      b, loc, xs, axis, inner.size(), [&](OpBuilder &nb, ArrayRef<Value> base) {
        auto at = [&](ArrayRef<Value> r) {
          SmallVector<Value> idx(base.begin(), base.end());
          for (size_t d = 0; d < r.size(); ++d)
            idx[axis + d] = r[d];
          return idx;
        };
        // The scale and bias index: the trailing `scaleRank` inner indices.
        auto paramAt = [&](ArrayRef<Value> r) {
          return SmallVector<Value>(r.end() - scaleRank, r.end());
        };
        Value zero =
            arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(0.f));
        Value n = arith::ConstantOp::create(
            nb, loc, nb.getF32FloatAttr(static_cast<float>(width)));
        Value sum = loopReduce(
            nb, loc, inner, zero,
            [&](OpBuilder &ib, ArrayRef<Value> r, Value acc) -> Value {
              return arith::AddFOp::create(
                  ib, loc, acc, memref::LoadOp::create(ib, loc, *x, at(r)),
                  reassociable(ib));
            });
        Value mean = arith::DivFOp::create(nb, loc, sum, n);
        Value squares = loopReduce(
            nb, loc, inner, zero,
            [&](OpBuilder &ib, ArrayRef<Value> r, Value acc) -> Value {
              Value d = arith::SubFOp::create(
                  ib, loc, memref::LoadOp::create(ib, loc, *x, at(r)), mean);
              return arith::AddFOp::create(ib, loc, acc,
                                           arith::MulFOp::create(ib, loc, d, d),
                                           reassociable(ib));
            });
        Value var = arith::DivFOp::create(nb, loc, squares, n);
        Value invStd = arith::DivFOp::create(
            nb, loc,
            arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(1.f)),
            math::SqrtOp::create(
                nb, loc,
                arith::AddFOp::create(
                    nb, loc, var,
                    arith::ConstantOp::create(nb, loc,
                                              nb.getF32FloatAttr(epsilon)))));
        loopNest(nb, loc, inner, [&](OpBuilder &ib, ArrayRef<Value> r) {
          Value d = arith::SubFOp::create(
              ib, loc, memref::LoadOp::create(ib, loc, *x, at(r)), mean);
          Value v = arith::MulFOp::create(
              ib, loc, arith::MulFOp::create(ib, loc, d, invStd),
              memref::LoadOp::create(ib, loc, *scale, paramAt(r)));
          if (bias)
            v = arith::AddFOp::create(
                ib, loc, v, memref::LoadOp::create(ib, loc, bias, paramAt(r)));
          memref::StoreOp::create(ib, loc, v, *y, at(r));
        });
      });
  return success();
}

LogicalResult Lowering::lowerDequantMatMul(qg::DequantMatMulOp op) {
  FailureOr<pkg::KernelInfo> k = weightOnlyKernel(op, plan, weights, kBackend);
  if (failed(k))
    return failure();
  callKernel(std::move(*k));
  return success();
}

LogicalResult Lowering::lowerQLinear(qg::QLinearOp op) {
  if (int64_t k = shapeOf(op.getWeight())[1]; k > 16384)
    return op.emitError("CPU backend: qg.qlinear reduction size ")
           << k << " is beyond the kernel's limit of 16384; not supported yet";
  FailureOr<pkg::KernelInfo> k = qlinearKernel(op, plan, weights, kBackend);
  if (failed(k))
    return failure();
  callKernel(std::move(*k));
  return success();
}

LogicalResult Lowering::lowerQConv(qg::QConv2DOp op) {
  ArrayRef<int64_t> ws = shapeOf(op.getWeight());
  if (int64_t k = ws[1] * ws[2] * ws[3]; k > 16384)
    return op.emitError("CPU backend: qg.qconv2d reduction size ")
           << k << " is beyond the kernel's limit of 16384; not supported yet";
  FailureOr<pkg::KernelInfo> k = qconvKernel(op, plan, weights, kBackend);
  if (failed(k))
    return failure();
  callKernel(std::move(*k));
  return success();
}

LogicalResult Lowering::lowerOp(Operation *op) {
  loc = op->getLoc();
  if (isa<qg::ConstantOp, qg::ReshapeOp>(op))
    return success(); // weights, or an alias of its input's buffer
  if (isa<qg::QuantizeOp>(op))
    return lowerQuantize(op, true);
  if (isa<qg::DequantizeOp>(op))
    return lowerQuantize(op, false);
  if (isa<qg::AddOp, qg::SubOp, qg::MulOp, qg::DivOp, qg::PowOp, qg::MaxOp,
          qg::MinOp, qg::ReluOp, qg::SigmoidOp, qg::TanhOp, qg::ExpOp,
          qg::SqrtOp, qg::ErfOp, qg::NegOp, qg::AbsOp, qg::SiluOp, qg::GeluOp,
          qg::LeakyReluOp, qg::ClipOp>(op))
    return lowerElementwise(op);
  if (isa<qg::MatMulOp, qg::GemmOp>(op))
    return lowerMatMul(op);
  if (auto conv = dyn_cast<qg::Conv2DOp>(op))
    return lowerConv(conv);
  if (isa<qg::MaxPoolOp, qg::AvgPoolOp, qg::GlobalAvgPoolOp>(op))
    return lowerPool(op);
  if (auto t = dyn_cast<qg::TransposeOp>(op))
    return lowerTranspose(t);
  if (auto g = dyn_cast<qg::GatherOp>(op))
    return lowerGather(g);
  if (auto e = dyn_cast<qg::ExpandOp>(op))
    return lowerExpand(e);
  if (auto sl = dyn_cast<qg::SliceOp>(op))
    return lowerSlice(sl);
  if (auto c = dyn_cast<qg::ConcatOp>(op))
    return lowerConcat(c);
  if (auto c = dyn_cast<qg::CastOp>(op))
    return lowerCast(c);
  if (isa<qg::ReduceSumOp, qg::ReduceMeanOp>(op))
    return lowerReduce(op);
  if (auto sm = dyn_cast<qg::SoftmaxOp>(op))
    return lowerSoftmax(sm);
  if (auto ln = dyn_cast<qg::LayerNormOp>(op))
    return lowerLayerNorm(ln);
  if (auto ql = dyn_cast<qg::QLinearOp>(op))
    return lowerQLinear(ql);
  if (auto qc = dyn_cast<qg::QConv2DOp>(op))
    return lowerQConv(qc);
  if (auto dmm = dyn_cast<qg::DequantMatMulOp>(op))
    return lowerDequantMatMul(dmm);
  if (auto fused = dyn_cast<qg::FusedElementwiseOp>(op))
    return lowerFused(fused);
  return op->emitError("CPU backend: ")
         << op->getName() << " has no CPU lowering yet";
}

LogicalResult Lowering::run() {
  if (!source.getBody().hasOneBlock())
    return source.emitError("CPU backend: the function must have one block");
  ModuleOp module = ModuleOp::create(source.getLoc());
  out.module = module;
  b.setInsertionPointToEnd(module.getBody());
  // The sizes of the arena (constant outputs extend it) and of the weights
  // are known only after every op is lowered, so the function starts with
  // dynamic memrefs and is retyped at the end.
  auto i64 = b.getI64Type();
  auto callType = b.getFunctionType({i64, i64}, {});
  auto placeholder = MemRefType::get({ShapedType::kDynamic}, b.getI8Type());
  auto fnType =
      b.getFunctionType({i64, placeholder, placeholder, callType}, {});
  auto fn = func::FuncOp::create(b, source.getLoc(), kEntryName, fnType);
  Block *entry = fn.addEntryBlock();
  context = entry->getArgument(0);
  arena = entry->getArgument(1);
  weightsArg = entry->getArgument(2);
  callFn = entry->getArgument(3);
  b.setInsertionPointToStart(entry);

  // Each generated kernel is a function of its own (kept out of line), so
  // that LLVM optimizes many small functions instead of one huge one; the
  // runtime's kernels are called from the entry directly (a folded 4-bit
  // weight's dequantize emits nothing).
  Block &body = source.getBody().front();
  SmallVector<func::FuncOp> kernels;
  for (Operation &op : body.without_terminator()) {
    if (isa<qg::ConstantOp, qg::ReshapeOp, qg::QLinearOp, qg::QConv2DOp,
            qg::DequantMatMulOp>(op)) {
      if (failed(lowerOp(&op)))
        return failure();
      continue;
    }
    const std::string name =
        "qcc_kernel_" + std::to_string(out.manifest.kernels.size());
    b.setInsertionPoint(fn);
    auto kernel =
        func::FuncOp::create(b, op.getLoc(), name,
                             b.getFunctionType({placeholder, placeholder}, {}));
    kernel.setPrivate();
    kernel->setAttr("no_inline", UnitAttr::get(ctx));
    Block *kernelBody = kernel.addEntryBlock();
    Value entryArena = arena, entryWeights = weightsArg;
    arena = kernelBody->getArgument(0);
    weightsArg = kernelBody->getArgument(1);
    b.setInsertionPointToStart(kernelBody);
    if (failed(lowerOp(&op)))
      return failure();
    func::ReturnOp::create(b, op.getLoc());
    arena = entryArena;
    weightsArg = entryWeights;
    b.setInsertionPointToEnd(entry);
    func::CallOp::create(b, op.getLoc(), kernel, ValueRange{arena, weightsArg});
    out.manifest.kernels.push_back({op.getName().stripDialect().str(),
                                    sourceOf(&op),
                                    pkg::KernelKind::Generated,
                                    {}});
    kernels.push_back(kernel);
  }
  // Outputs that are constants are copied into the arena; the plan gave
  // them no slot, so they go after it.
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  int64_t arenaEnd = 0;
  std::vector<unsigned> constantOutputs;
  if (failed(describeInterface(source, plan, kBackend, out.manifest, arenaEnd,
                               constantOutputs)))
    return failure();
  for (unsigned i : constantOutputs) {
    Value v = ret.getOperand(i);
    loc = ret.getLoc();
    FailureOr<Value> src = view(v);
    if (failed(src))
      return failure();
    auto type = cast<MemRefType>(src->getType());
    Value dst = memref::ViewOp::create(b, loc, type, arena,
                                       index(out.manifest.outputs[i].offset),
                                       ValueRange{});
    memref::CopyOp::create(b, loc, *src, dst);
  }
  // Now that every constant is placed, give the arena and the weights their
  // final static sizes (the bare-pointer calling convention needs them).
  out.weights = weights.take();
  const int64_t weightBytes =
      std::max<int64_t>(static_cast<int64_t>(out.weights.size()), kAlign);
  out.weights.resize(weightBytes);
  auto finalArena = MemRefType::get({arenaEnd}, b.getI8Type());
  auto finalWeights = MemRefType::get({weightBytes}, b.getI8Type());
  arena.setType(finalArena);
  weightsArg.setType(finalWeights);
  fn.setType(b.getFunctionType({i64, finalArena, finalWeights, callType}, {}));
  for (func::FuncOp kernel : kernels) {
    kernel.getArgument(0).setType(finalArena);
    kernel.getArgument(1).setType(finalWeights);
    kernel.setType(b.getFunctionType({finalArena, finalWeights}, {}));
  }
  func::ReturnOp::create(b, source.getLoc());
  out.manifest.entry = kEntryName;
  out.manifest.arenaBytes = static_cast<uint64_t>(arenaEnd);
  out.manifest.weightBytes = out.weights.size();
  return success();
}

} // namespace

FailureOr<LoweredModel> lowerToLoops(func::FuncOp function) {
  MLIRContext *ctx = function.getContext();
  ctx->loadDialect<func::FuncDialect, linalg::LinalgDialect,
                   memref::MemRefDialect, scf::SCFDialect, arith::ArithDialect,
                   math::MathDialect, affine::AffineDialect,
                   vector::VectorDialect, LLVM::LLVMDialect>();
  // FP8 tensors have no CPU lowering: say so at the first op that makes or
  // reads one, before anything else is planned.
  WalkResult fp8 = function.walk([&](Operation *op) {
    auto isFp8 = [](Type t) {
      qg::QuantType q = qg::getQuantElementType(t);
      return q && rt::isFloat8Format(q.getFormat());
    };
    if (!isa<qg::ConstantOp>(op) &&
        (llvm::any_of(op->getResultTypes(), isFp8) ||
         llvm::any_of(op->getOperandTypes(), isFp8))) {
      op->emitError(kBackend)
          << ": FP8 (f8e4m3fn) tensors have no CPU lowering yet; compile FP8 "
             "models with --target=cuda, or quantize with another scheme";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (fp8.wasInterrupted())
    return failure();
  FailureOr<MemoryPlan> plan = planMemory(function, kBackend);
  if (failed(plan))
    return failure();
  LoweredModel out;
  Lowering lowering(function, *plan, out);
  if (failed(lowering.run()))
    return failure();
  // A lowering bug shows here, at the model, rather than as bad code.
  if (failed(verify(*out.module)))
    return function.emitError("CPU backend: internal error: the lowered "
                              "module does not verify (see above)");
  return out;
}

LogicalResult lowerToLLVM(ModuleOp module) {
  // linalg's parallel dimensions become scf.parallel loops, the large ones
  // of which go to the runtime's thread pool.
  PassManager loops(module->getContext());
  loops.addPass(createConvertLinalgToParallelLoopsPass());
  if (failed(loops.run(module)) ||
      failed(outlineParallelLoops(module, kEntryName)))
    return failure();
  PassManager pm(module->getContext());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  ConvertFuncToLLVMPassOptions funcOptions;
  funcOptions.useBarePtrCallConv = true;
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  return pm.run(module);
}

FailureOr<std::vector<uint8_t>> compilePackage(func::FuncOp function,
                                               const CpuTarget &target,
                                               const std::string &modelName,
                                               pkg::Manifest *manifestOut) {
  FailureOr<LoweredModel> lowered = lowerToLoops(function);
  if (failed(lowered))
    return failure();
  if (failed(lowerToLLVM(*lowered->module)))
    return function.emitError("CPU backend: lowering to the LLVM dialect "
                              "failed");
  SharedObject so;
  if (std::string e = emitSharedObject(*lowered->module, target, so);
      !e.empty())
    return function.emitError("CPU backend: ") << e;
  pkg::Manifest &m = lowered->manifest;
  m.model = modelName;
  // The enabled features only; the disabled ones are implied.
  std::string enabled;
  for (StringRef f : llvm::split(so.features, ','))
    if (f.starts_with("+"))
      enabled += (enabled.empty() ? "" : ",") + f.str();
  m.target = "cpu " + so.triple + " " + so.cpu +
             (enabled.empty() ? "" : " " + enabled);
  pkg::Writer writer;
  writer.add(pkg::SectionKind::Manifest, pkg::encode(m), 8);
  writer.add(pkg::SectionKind::Weights, lowered->weights, 64);
  writer.add(pkg::SectionKind::CpuCode, so.bytes, 4096);
  if (manifestOut)
    *manifestOut = m;
  return writer.finish();
}

} // namespace qcc::cpu
