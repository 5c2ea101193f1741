//===- QGOps.td - qg operations ---------------------------------*- tablegen -*-===//
#ifndef QCC_QG_OPS_TD
#define QCC_QG_OPS_TD

include "dialects/qg/QGDialect.td"
include "dialects/qg/QGTypes.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

// Every qg op checks that the quantized tensors it touches are consistent
// with their scale tables (see QGTraits.h).
def QG_VerifiesQuantizedTensors
    : NativeOpTrait<"VerifiesQuantizedTensors"> {
  let cppNamespace = "::qcc::qg";
}

class QG_Op<string mnemonic, list<Trait> traits = []>
    : Op<QG_Dialect, mnemonic, !listconcat(traits, [QG_VerifiesQuantizedTensors])>;

def QG_FloatTensor : RankedTensorOf<[AnyFloat]>;
def QG_QuantTensor : RankedTensorOf<[QG_QuantType]>;
def QG_IndexTensor : RankedTensorOf<[I32, I64]>;
// Data movement ops also carry integer tensors (shapes, indices).
def QG_DataTensor : RankedTensorOf<[AnyFloat, AnyInteger]>;

//===----------------------------------------------------------------------===//
// Constants and quantization
//===----------------------------------------------------------------------===//

def QG_ConstantOp : QG_Op<"constant", [ConstantLike, Pure]> {
  let summary = "A constant tensor, float or quantized";
  let description = [{
    A float constant holds its values. A quantized constant holds the stored
    codes as a tensor of the format's storage type (`i8`, `ui8`, `i4`, `ui4`
    for `u4` and `nf4`, `f8E4M3FN`, `f8E5M2`); the result type adds the
    quantization metadata. Large values live in `dense_resource` blobs; a
    4-bit blob is packed two codes per byte, lower index in the low nibble,
    each row (last dimension) starting on a new byte.

    ```mlir
    %w = qg.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
    %q = qg.constant dense<[[20, 40]]> : tensor<1x2xi8> as tensor<1x2x!qg.quant<i8, scale = 0.05>>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs AnyRankedTensor:$result);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let hasFolder = 1;
  let builders = [
    OpBuilder<(ins "::mlir::ElementsAttr":$value), [{
      build($_builder, $_state, ::llvm::cast<::mlir::RankedTensorType>(value.getType()), value);
    }]>
  ];
}

def QG_QuantizeOp : QG_Op<"quantize", [Pure]> {
  let summary = "Float to quantized: saturate(round_half_to_even(x / scale) + zero_point)";
  let description = [{
    Quantizes each element with the scale and zero point that govern it
    (ONNX QuantizeLinear). NaN becomes the zero point and infinities
    saturate; FP8 formats round half to even and saturate to their finite
    range; NF4 picks the nearest level of `x / absmax`.

    Folding: `quantize` of a constant folds to a quantized constant.
    `quantize(dequantize(%q))` folds to `%q` when both quantized types are
    identical and every code survives the round trip exactly, which the
    folder checks code by code. The opposite order,
    `dequantize(quantize(%x))`, is never folded: it rounds `%x`, and
    removing it would change values.
  }];
  let arguments = (ins QG_FloatTensor:$input);
  let results = (outs QG_QuantTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QG_DequantizeOp : QG_Op<"dequantize", [Pure]> {
  let summary = "Quantized to float: (q - zero_point) * scale";
  let description = [{
    Dequantizes each element (ONNX DequantizeLinear) in f32 and converts to
    the result's float type.

    Not folded, on purpose: `dequantize` of a quantized constant stays, so
    the weights stay stored in their quantized form. Backends fuse it into
    the consumer instead.
  }];
  let arguments = (ins QG_QuantTensor:$input);
  let results = (outs QG_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
}

def QG_RequantizeOp : QG_Op<"requantize", [Pure]> {
  let summary = "Quantized to quantized: quantize(dequantize(q)) in one step";
  let description = [{
    Re-expresses a quantized tensor in another quantized type, with the
    numerics of `dequantize` followed by `quantize`.

    Folding: a requantize to its own input type folds away (exact).
    `requantize(requantize(%x))` is not merged: two roundings differ from
    one.
  }];
  let arguments = (ins QG_QuantTensor:$input);
  let results = (outs QG_QuantTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QG_StorageCastOp : QG_Op<"storage_cast", [Pure]> {
  let summary = "Reinterpret stored codes as a quantized tensor, or back";
  let description = [{
    Moves between a quantized tensor and a tensor of its storage type
    (`i8`, `ui8`, `i4`, `ui4`, `f8E4M3FN`, `f8E5M2`) without changing any
    bits: integer graph inputs that ONNX dequantizes become quantized values
    this way, and quantized values that feed integer ops become codes.
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QG_DynamicQuantizeOp : QG_Op<"dynamic_quantize", [Pure]> {
  let summary = "u8 quantization with a range measured at run time (ONNX DynamicQuantizeLinear)";
  let description = [{
    Computes `scale = (max(0, max x) - min(0, min x)) / 255` and
    `zero_point = saturate(round_half_to_even(-min(0, min x) / scale))`,
    then quantizes `x` with them. Returns the codes, the scale and the zero
    point; an all-zero input gets the smallest positive scale instead of 0.

    With `per_row`, each row (the last dimension) gets its own range: the
    scale and zero point then have the input's shape with a last dimension
    of 1, so they broadcast against the codes. ONNX has no per-row form.
  }];
  let arguments = (ins QG_FloatTensor:$input,
                       DefaultValuedAttr<BoolAttr, "false">:$per_row);
  let results = (outs RankedTensorOf<[UI8]>:$output,
                      RankedTensorOf<[F32]>:$scale,
                      RankedTensorOf<[UI8]>:$zero_point);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($output) `,` type($scale) `,` type($zero_point)
  }];
  let hasVerifier = 1;
}

def QG_ObserveOp : QG_Op<"observe", [MemoryEffects<[MemWrite]>,
                                      AllTypesMatch<["input", "result"]>]> {
  let summary = "Identity that reports its value to the calibration observer";
  let description = [{
    Returns its input unchanged. `qg-calibrate` places one on each tensor whose
    statistics quantization needs and runs the graph on calibration samples;
    the interpreter hands each observed value, with its `key`, to the
    statistics collectors. The op has a write effect so that no cleanup pass
    deletes it while calibration is pending; `qg-calibrate` removes them when
    it is done.

    ```mlir
    %y = qg.observe %x {key = "/fc1/MatMul:in0"} : tensor<1x64xf32>
    ```
  }];
  let arguments = (ins QG_FloatTensor:$input, StrAttr:$key);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class QG_BinaryOp<string mnemonic, string onnx>
    : QG_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "Elementwise " # onnx # " with multidirectional broadcasting";
  let description = [{
    ONNX }] # onnx # [{: numpy-style broadcasting of the two operands.
    Both have the same element type; integer arithmetic wraps around and
    integer division truncates toward zero.
  }];
  let arguments = (ins QG_DataTensor:$lhs, QG_DataTensor:$rhs);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
}

def QG_AddOp : QG_BinaryOp<"add", "Add">;
def QG_SubOp : QG_BinaryOp<"sub", "Sub">;
def QG_MulOp : QG_BinaryOp<"mul", "Mul">;
def QG_DivOp : QG_BinaryOp<"div", "Div">;
def QG_PowOp : QG_BinaryOp<"pow", "Pow">;
def QG_MaxOp : QG_BinaryOp<"max", "Max">;
def QG_MinOp : QG_BinaryOp<"min", "Min">;

class QG_UnaryOp<string mnemonic, string onnx, dag attrs = (ins),
                 Type tensor = QG_FloatTensor>
    : QG_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "Elementwise " # onnx;
  let description = [{ ONNX }] # onnx # [{, element by element. }];
  let arguments = !con((ins tensor:$input), attrs);
  let results = (outs tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def QG_ReluOp : QG_UnaryOp<"relu", "Relu", (ins), QG_DataTensor>;
def QG_SigmoidOp : QG_UnaryOp<"sigmoid", "Sigmoid">;
def QG_TanhOp : QG_UnaryOp<"tanh", "Tanh">;
def QG_ExpOp : QG_UnaryOp<"exp", "Exp">;
def QG_SqrtOp : QG_UnaryOp<"sqrt", "Sqrt">;
def QG_ErfOp : QG_UnaryOp<"erf", "Erf">;
def QG_NegOp : QG_UnaryOp<"neg", "Neg", (ins), QG_DataTensor>;
def QG_AbsOp : QG_UnaryOp<"abs", "Abs", (ins), QG_DataTensor>;
def QG_SiluOp : QG_UnaryOp<"silu", "x * Sigmoid(x)">;
def QG_GeluOp : QG_UnaryOp<"gelu", "Gelu (opset 20); approximate is \"none\" or \"tanh\"",
    (ins DefaultValuedStrAttr<StrAttr, "none">:$approximate)> {
  let hasVerifier = 1;
}
def QG_LeakyReluOp : QG_UnaryOp<"leaky_relu", "LeakyRelu",
    (ins DefaultValuedAttr<F32Attr, "0.01f">:$alpha)>;
// min(max(x, min), max): when min > max every element becomes max (ONNX).
def QG_ClipOp : QG_UnaryOp<"clip", "Clip with constant bounds",
    (ins OptionalAttr<F32Attr>:$min, OptionalAttr<F32Attr>:$max), QG_DataTensor>;

//===----------------------------------------------------------------------===//
// Normalization and softmax
//===----------------------------------------------------------------------===//

def QG_SoftmaxOp : QG_Op<"softmax", [Pure, SameOperandsAndResultType]> {
  let summary = "Softmax along one axis (ONNX Softmax, opset 13)";
  let arguments = (ins QG_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def QG_LayerNormOp : QG_Op<"layer_norm", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Layer normalization over the dimensions from `axis` on";
  let description = [{
    ONNX LayerNormalization: normalizes over dimensions `axis..rank-1`, then
    multiplies by `scale` and adds `bias`, both shaped like those dimensions.
  }];
  let arguments = (ins QG_FloatTensor:$input, QG_FloatTensor:$scale,
                       Optional<QG_FloatTensor>:$bias,
                       DefaultValuedAttr<I64Attr, "-1">:$axis,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` type($input) `,` type($scale) (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
}

def QG_BatchNormOp : QG_Op<"batch_norm", [Pure, AllTypesMatch<["input", "result"]>,
    AllTypesMatch<["scale", "bias", "mean", "variance"]>]> {
  let summary = "Batch normalization with running statistics (inference)";
  let description = [{
    ONNX BatchNormalization in inference mode: `(x - mean) / sqrt(var + eps)
    * scale + bias`, with the four parameters indexed by channel (dim 1).
  }];
  let arguments = (ins QG_FloatTensor:$input, QG_FloatTensor:$scale,
                       QG_FloatTensor:$bias, QG_FloatTensor:$mean,
                       QG_FloatTensor:$variance,
                       DefaultValuedAttr<F32Attr, "1e-5f">:$epsilon);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $mean `,` $variance attr-dict `:` type($input) `,` type($scale)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Contractions and pooling
//===----------------------------------------------------------------------===//

def QG_MatMulOp : QG_Op<"matmul", [Pure, InferTypeOpAdaptor]> {
  let summary = "Matrix product with numpy semantics (ONNX MatMul)";
  let description = [{
    1-D operands are promoted (a row for `lhs`, a column for `rhs`) and the
    promoted dimension is dropped from the result; leading batch
    dimensions broadcast. Integer operands accumulate exactly and the sum
    wraps to the result type (i32 accumulation for MatMulInteger).

    `lhs_perm` and `rhs_perm`, when present, are the layouts of operands
    that `qg-fold-transposes` took from a `qg.transpose`: the product reads
    `transpose(lhs, lhs_perm)` and `transpose(rhs, rhs_perm)` without
    materializing them. The ONNX importer never sets them.
  }];
  let arguments = (ins QG_DataTensor:$lhs, QG_DataTensor:$rhs,
                       OptionalAttr<DenseI64ArrayAttr>:$lhs_perm,
                       OptionalAttr<DenseI64ArrayAttr>:$rhs_perm);
  let results = (outs QG_DataTensor:$result);
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$lhs,
                   "::mlir::Value":$rhs), [{
      build($_builder, $_state, result, lhs, rhs, ::mlir::DenseI64ArrayAttr(),
            ::mlir::DenseI64ArrayAttr());
    }]>
  ];
  let extraClassDeclaration = [{
    /// True when either operand is read through a folded transpose.
    bool hasOperandPerms() { return getLhsPerm() || getRhsPerm(); }
  }];
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
}

def QG_GemmOp : QG_Op<"gemm", [Pure, InferTypeOpAdaptor]> {
  let summary = "alpha * op(A) * op(B) + beta * C (ONNX Gemm), the linear layer";
  let arguments = (ins QG_FloatTensor:$a, QG_FloatTensor:$b,
                       Optional<QG_FloatTensor>:$c,
                       DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                       DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_b);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? attr-dict `:` type($a) `,` type($b) (`,` type($c)^)? `->` type($result)
  }];
}

def QG_Conv2DOp : QG_Op<"conv2d", [Pure, InferTypeOpAdaptor]> {
  let summary = "2-D convolution, NCHW input and OIHW weights (ONNX Conv)";
  let description = [{
    `pads` is `[top, left, bottom, right]`. `group` splits the input
    channels; the weight's second dimension is `C / group`. Integer
    operands accumulate exactly (ConvInteger) and pad with zeros.
  }];
  let arguments = (ins QG_DataTensor:$input, QG_DataTensor:$weight,
                       Optional<QG_DataTensor>:$bias,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$pads,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
                       DefaultValuedAttr<I64Attr, "1">:$group);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
}

def QG_QLinearOp : QG_Op<"qlinear", [Pure]> {
  let summary = "Fused quantized linear layer: exact integer product, then an epilogue";
  let description = [{
    What fusion makes of `dequantize -> matmul/gemm (-> bias) (-> relu/clip)
    (-> quantize)`. `input` is `[..., K]` with per-tensor u8 or i8 codes
    (FP8: below); `weight` is `[N, K]` (one row per output feature) with i8
    codes and a per-tensor or per-row (`axis = 0`) scale and zero point.
    The result is
    `[..., N]`, either f32 (dequantize epilogue) or per-tensor u8/i8
    (requantize epilogue). With `s = f32(s_x * s_w[n])`:

    - `acc = sum_k (x[k] - zp_x) * (w[n][k] - zp_w[n])`, exact in i32;
    - f32 result: `y = fma(f32(acc), s, bias[n])` (f32 `bias`), then
      clamped to `[clip_min, clip_max]`;
    - quantized result: `q = round_half_even(f32(acc + bias[n]) *
      f32(s / s_y)) + zp_y` (i32 `bias` in units of `s`), saturated and
      clamped to `[quantize(clip_min), quantize(clip_max)]`, which equals
      clamping before quantization because quantization is monotone.

    ReLU is `clip_min = 0`. An absent bound is no bound.

    With `activation` ("gelu", "gelu_tanh" or "silu") the bias is f32 for
    either result, and `a = act(fma(f32(acc), s, bias[n]))` is computed
    as `qg.gelu` (`approximate = "none"` or `"tanh"`) or `qg.silu` computes
    it, rounded to f32. An f32 result is `a` clamped to
    `[clip_min, clip_max]`; a quantized result is `quantize(a)` with
    `(s_y, zp_y)` as `qg.quantize` defines it (`a / s_y` in f32), clamped
    as above. This is a float path: backends may compute the activation in
    f32 within a few ulps, so a quantized result may differ by one code
    where `a / s_y` lies at a rounding boundary.

    FP8: with an `f8e4m3fn` input (per tensor) the weight is `f8e4m3fn`
    (per tensor or per row) and the result f32. Each product of two FP8
    values is exact in f32, and `acc` is their sum in f32 in an order the
    backend chooses (tensor cores on sm_89 and newer, whose internal
    accumulation may keep fewer bits than f32: tolerances for large K must
    allow for it), so this is a float path too: `y = fma(acc, s, bias[n])`
    (f32 `bias`), the activation, then the clamp, as above (NaN stays NaN).
  }];
  let arguments = (ins QG_QuantTensor:$input, QG_QuantTensor:$weight,
                       Optional<RankedTensorOf<[F32, I32]>>:$bias,
                       OptionalAttr<F32Attr>:$clip_min,
                       OptionalAttr<F32Attr>:$clip_max,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs RankedTensorOf<[F32, QG_QuantType]>:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def QG_DequantMatMulOp : QG_Op<"dequant_matmul", [Pure]> {
  let summary = "Weight-only quantized matmul: the weight is dequantized in registers";
  let description = [{
    What `qg-fuse-weight-only` makes of `matmul(x, dequantize(W))` (and a
    following add of a constant bias) when `W` is a 4-bit constant
    (uint4/int4/NF4) quantized in blocks along K, or an 8-bit one
    (uint8/int8) per tensor, per output channel or in blocks along K.
    `input` is f32 `[..., K]`; `weight` is the quantized constant, `[K, N]`
    (K is axis 0), or `[N, K]` with `trans_b` (the layout of ONNX Runtime's
    MatMulNBits). The result is f32 `[..., N]`:
    `y = matmul(x, dequantize(W)) (+ bias[n])`, each step rounded to f32 as
    unfused. A backend dequantizes each block of W in registers as it goes,
    so the f32 weights never exist in memory.
  }];
  let arguments = (ins QG_FloatTensor:$input, QG_QuantTensor:$weight,
                       Optional<QG_FloatTensor>:$bias,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_b);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

def QG_FusedElementwiseOp : QG_Op<"fused_elementwise",
    [Pure, IsolatedFromAbove, SingleBlock]> {
  let summary = "A chain of elementwise ops evaluated in one loop nest";
  let description = [{
    What `qg-fuse-elementwise` makes of a chain of elementwise ops: the body
    holds the original ops on whole tensors, in program order, with the
    inputs as block arguments; `qg.yield` names the result. The meaning is
    exactly that of the body (every op rounds to its own result type, as
    before fusion); a backend evaluates the body once per element of the
    result, reading each input with numpy broadcasting, so no intermediate
    tensor is stored. The body may hold the float elementwise ops (binary,
    unary, activations, clip), per-tensor `qg.quantize` and
    `qg.dequantize`, and one-element `qg.constant`s. Every value in the
    body broadcasts to the result's shape.

    ```mlir
    %y = qg.fused_elementwise %x, %c : (tensor<16x64xf32>, tensor<1xf32>) -> tensor<16x64x!qg.quant<u8, scale = 0.1, zero_point = 3>> {
    ^bb0(%a: tensor<16x64xf32>, %b: tensor<1xf32>):
      %0 = qg.mul %a, %b : tensor<16x64xf32>, tensor<1xf32> -> tensor<16x64xf32>
      %1 = qg.erf %0 : tensor<16x64xf32>
      %2 = qg.quantize %1 : tensor<16x64xf32> -> tensor<16x64x!qg.quant<u8, scale = 0.1, zero_point = 3>>
      qg.yield %2 : tensor<16x64x!qg.quant<u8, scale = 0.1, zero_point = 3>>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs);
  let results = (outs AnyRankedTensor:$result);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type($inputs, $result) $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The op that yields the result.
    ::mlir::Value getYielded();
    /// True for the ops a fused_elementwise body may hold (besides
    /// constants and the terminator).
    static bool isFusible(::mlir::Operation *op);
  }];
}

def QG_YieldOp : QG_Op<"yield", [Pure, Terminator,
                                 HasParent<"FusedElementwiseOp">]> {
  let summary = "The result of a qg.fused_elementwise body";
  let arguments = (ins AnyRankedTensor:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

def QG_QConv2DOp : QG_Op<"qconv2d", [Pure]> {
  let summary = "Fused quantized 2-D convolution: exact integer sums, then an epilogue";
  let description = [{
    What fusion makes of `dequantize -> conv2d (with bias) (-> relu/clip)
    (-> quantize)`. `input` is NCHW with per-tensor u8 or i8 codes; `weight`
    is `[F, C, KH, KW]` i8 codes with a per-tensor or per-filter (`axis =
    0`) scale and zero point; one group. `pads` is `[top, left, bottom,
    right]`; padded positions hold the input's zero point, so they add
    nothing, as zeros do in the float convolution. The result is
    `[N, F, OH, OW]`, f32 or per-tensor u8/i8, and each output channel `f`
    gets the epilogue of `qg.qlinear` (activation included) with `acc`
    summed over `(c, kh, kw)`, `s = f32(s_x * s_w[f])` and `bias[f]`.
  }];
  let arguments = (ins QG_QuantTensor:$input, QG_QuantTensor:$weight,
                       Optional<RankedTensorOf<[F32, I32]>>:$bias,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{0, 0, 0, 0}">:$pads,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{1, 1}">:$dilations,
                       OptionalAttr<F32Attr>:$clip_min,
                       OptionalAttr<F32Attr>:$clip_max,
                       OptionalAttr<StrAttr>:$activation);
  let results = (outs RankedTensorOf<[F32, QG_QuantType]>:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` type($input) `,` type($weight) (`,` type($bias)^)? `->` type($result)
  }];
  let hasVerifier = 1;
}

class QG_PoolOp<string mnemonic, string onnx, dag extra = (ins),
                Type tensor = QG_FloatTensor>
    : QG_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "N-D " # onnx # " over (N, C, spatial...) input";
  let description = [{
    ONNX }] # onnx # [{ over the trailing spatial dimensions, one
    `kernel_shape` entry each. `strides` defaults to 1 everywhere; `pads`
    lists every dimension's leading padding, then every trailing one
    (`[top, left, bottom, right]` in 2-D) and defaults to none.
  }];
  let arguments = !con((ins tensor:$input,
                       DenseI64ArrayAttr:$kernel_shape,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$strides,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$pads,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode), extra);
  let results = (outs tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let extraClassDeclaration = [{
    /// Strides and pads with their defaults filled in.
    ::llvm::SmallVector<int64_t> getEffectiveStrides() {
      ::llvm::SmallVector<int64_t> s(getStrides());
      if (s.empty())
        s.assign(getKernelShape().size(), 1);
      return s;
    }
    ::llvm::SmallVector<int64_t> getEffectivePads() {
      ::llvm::SmallVector<int64_t> p(getPads());
      if (p.empty())
        p.assign(2 * getKernelShape().size(), 0);
      return p;
    }
  }];
}

def QG_MaxPoolOp : QG_PoolOp<"max_pool", "MaxPool", (ins), QG_DataTensor>;
def QG_AvgPoolOp : QG_PoolOp<"avg_pool", "AveragePool",
    (ins DefaultValuedAttr<BoolAttr, "false">:$count_include_pad)>;

def QG_GlobalAvgPoolOp : QG_Op<"global_avg_pool", [Pure, InferTypeOpAdaptor]> {
  let summary = "Mean over all spatial dimensions (ONNX GlobalAveragePool)";
  let arguments = (ins QG_FloatTensor:$input);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def QG_ReshapeOp : QG_Op<"reshape", [Pure]> {
  let summary = "Same elements, new static shape (ONNX Reshape/Flatten/Squeeze/Unsqueeze)";
  let description = [{
    The importer resolves ONNX's shape operand; here the result type is the
    shape. Element counts must agree.
  }];
  let arguments = (ins QG_DataTensor:$input);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QG_TransposeOp : QG_Op<"transpose", [Pure, InferTypeOpAdaptor]> {
  let summary = "Permute dimensions (ONNX Transpose)";
  let arguments = (ins QG_DataTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def QG_ConcatOp : QG_Op<"concat", [Pure, InferTypeOpAdaptor]> {
  let summary = "Join tensors along an axis (ONNX Concat)";
  let arguments = (ins Variadic<QG_DataTensor>:$inputs, I64Attr:$axis);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs) `->` type($result)";
}

def QG_SliceOp : QG_Op<"slice", [Pure, InferTypeOpAdaptor]> {
  let summary = "Strided slice with static bounds (ONNX Slice)";
  let description = [{
    One entry per dimension in `starts`, `ends` and `steps`; the importer
    normalizes ONNX's negative and out-of-range indices, so here
    `0 <= start <= dim`, `-1 <= end <= dim` and `step != 0`.
  }];
  let arguments = (ins QG_DataTensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$ends, DenseI64ArrayAttr:$steps);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def QG_GatherOp : QG_Op<"gather", [Pure, InferTypeOpAdaptor]> {
  let summary = "Take slices along an axis by index (ONNX Gather)";
  let arguments = (ins QG_DataTensor:$data, QG_IndexTensor:$indices,
                       DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat =
      "$data `,` $indices attr-dict `:` type($data) `,` type($indices) `->` type($result)";
}

def QG_CastOp : QG_Op<"cast", [Pure]> {
  let summary = "Element type conversion (ONNX Cast)";
  let description = [{
    Float to integer rounds toward zero and saturates to the integer range
    (NaN becomes 0); anything to `i1` is `x != 0`; float to float rounds
    to nearest even. Casts to FP8 saturate to the finite range unless
    `saturate` is false, when overflow gives NaN (E4M3FN) or Inf (E5M2).
  }];
  let arguments = (ins QG_DataTensor:$input,
                       DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def QG_WhereOp : QG_Op<"where", [Pure, InferTypeOpAdaptor]> {
  let summary = "Elementwise select with broadcasting (ONNX Where)";
  let arguments = (ins RankedTensorOf<[I1]>:$condition, QG_DataTensor:$x,
                       QG_DataTensor:$y);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = [{
    $condition `,` $x `,` $y attr-dict `:` type($condition) `,` type($x) `,` type($y) `->` type($result)
  }];
}

def QG_ExpandOp : QG_Op<"expand", [Pure]> {
  let summary = "Broadcast to a larger shape (ONNX Expand)";
  let description = [{
    The importer resolves ONNX's shape operand, so the result type is the
    target shape; the input must broadcast to it.
  }];
  let arguments = (ins QG_DataTensor:$input);
  let results = (outs QG_DataTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

class QG_ReduceOp<string mnemonic, string onnx>
    : QG_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "ONNX " # onnx # " over `axes`";
  let description = [{ An empty `axes` reduces over every dimension. }];
  let arguments = (ins QG_FloatTensor:$input,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs QG_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
}

def QG_ReduceMeanOp : QG_ReduceOp<"reduce_mean", "ReduceMean">;
def QG_ReduceSumOp : QG_ReduceOp<"reduce_sum", "ReduceSum">;

#endif // QCC_QG_OPS_TD
