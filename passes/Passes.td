//===- Passes.td - qg passes ------------------------------------*- tablegen -*-===//
#ifndef QCC_PASSES_TD
#define QCC_PASSES_TD

include "mlir/Pass/PassBase.td"

def QGQuantizeWeights : Pass<"qg-quantize-weights", "mlir::ModuleOp"> {
  let summary = "Round-to-nearest quantization of constant weights";
  let description = [{
    Replaces each float constant weight of `qg.matmul` (right operand),
    `qg.gemm` (B) and `qg.conv2d` (weight) with a quantized constant and a
    `qg.dequantize`, choosing scales from each group's range (RTN). The
    graph keeps computing in float; later passes fuse the dequantize into an
    integer or weight-only kernel.

    Granularity `channel` puts one scale on each output channel; `block`
    groups `block-size` consecutive elements along the reduction dimension
    (required for nf4). A weight whose reduction dimension the block size
    does not divide is left in float with a warning.

    ```mlir
    // Before
    %w = qg.constant dense<[[1.27, 2.54], [-0.5, 1.0]]> : tensor<2x2xf32>
    %y = qg.matmul %x, %w : tensor<1x2xf32>, tensor<2x2xf32> -> tensor<1x2xf32>
    // After --qg-quantize-weights="format=i8 granularity=channel"
    %q = qg.constant dense<[[127, 127], [-50, 50]]> : tensor<2x2xi8>
           as tensor<2x2x!qg.quant<i8, axis = 1, scales = [0.01, 0.02]>>
    %w = qg.dequantize %q : ... -> tensor<2x2xf32>
    %y = qg.matmul %x, %w : ...
    ```

    `algorithm=gptq` (needs `stats` with Gram matrices) spreads each
    input feature's rounding error over the features not yet quantized,
    weighted by the inverse Hessian of the calibration activations.
    `algorithm=awq` searches per-input-channel scales that protect the
    channels with large activations; the scales are folded into a preceding
    `qg.layer_norm` when it feeds only the scaled layers, and applied by a
    `qg.mul` on the activation otherwise. Both apply to 2-D matmul and gemm
    weights; convolutions fall back to RTN with a remark.

    With `report`, a table of each weight's error (MSE, SQNR, largest
    absolute error) and size is written to standard error.
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"i8\"",
           "Storage format: i8, u8, i4, u4, nf4, f8e4m3fn or f8e5m2">,
    Option<"granularity", "granularity", "std::string", /*default=*/"\"channel\"",
           "Scale granularity: tensor, channel or block">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"32",
           "Elements per scale along the reduction dimension (granularity=block)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Symmetric ranges (zero point mid-range); false fits [min, max] with a zero point">,
    Option<"report", "report", "bool", /*default=*/"false",
           "Print each weight's quantization error and size to stderr">,
    Option<"algorithm", "algorithm", "std::string", /*default=*/"\"rtn\"",
           "rtn, gptq or awq (gptq and awq need stats with Gram matrices)">,
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file written by qg-calibrate">,
    Option<"dampening", "dampening", "double", /*default=*/"0.01",
           "GPTQ: fraction of the mean Hessian diagonal added to it">,
    Option<"gptqBlock", "gptq-block", "int64_t", /*default=*/"128",
           "GPTQ: input features updated together (lazy batch)">,
    Option<"actOrder", "act-order", "bool", /*default=*/"false",
           "GPTQ: quantize input features by decreasing Hessian diagonal">,
    Option<"awqGrid", "awq-grid", "int64_t", /*default=*/"20",
           "AWQ: grid points for the scale exponent in [0, 1)">,
    ListOption<"layers", "layers", "std::string",
               "Only the layers with these names (their ONNX node names); "
               "default all">
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Weights quantized">,
    Statistic<"numSkipped", "num-skipped", "Weights left in float">,
    Statistic<"bytesBefore", "bytes-before", "Bytes of the quantized weights in f32">,
    Statistic<"bytesAfter", "bytes-after", "Bytes of the quantized weights after, scales included">
  ];
  let dependentDialects = ["::qcc::qg::QGDialect"];
}

def QGImportQuantTypes : Pass<"qg-import-quant-types", "mlir::ModuleOp"> {
  let summary = "Convert upstream !quant.uniform types and quant casts to qg";
  let description = [{
    Rewrites every `!quant.uniform` element type (per-tensor, per-axis and
    sub-channel with one blocked axis) into the equivalent `!qg.quant`, and
    `quant.qcast` / `quant.dcast` into `qg.quantize` / `qg.dequantize`.
    A type qg cannot express (narrow storage range, several blocked axes,
    scales not exact in f32) is an error naming the value.

    ```mlir
    // Before
    %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i8:f32, 0.5:3>>
    // After
    %q = qg.quantize %x : tensor<4xf32> -> tensor<4x!qg.quant<i8, scale = 5.000000e-01, zero_point = 3>>
    ```
  }];
  let dependentDialects = ["::qcc::qg::QGDialect"];
}

def QGExportQuantTypes : Pass<"qg-export-quant-types", "mlir::ModuleOp"> {
  let summary = "Convert qg integer quantized types and Q/DQ ops to upstream quant";
  let description = [{
    The inverse of `qg-import-quant-types`, for interoperation with tools
    that read the upstream `quant` dialect: `!qg.quant` integer types become
    `!quant.uniform` (f32 expressed type; sub-channel for per-block), and
    `qg.quantize` / `qg.dequantize` become `quant.qcast` / `quant.dcast`.
    NF4 and FP8 have no upstream counterpart and are reported as errors.
  }];
  let dependentDialects = ["::mlir::quant::QuantDialect"];
}

def QGFoldBatchNorm : Pass<"qg-fold-batch-norm", "mlir::ModuleOp"> {
  let summary = "Fold inference batch norm into the conv or gemm before it";
  let description = [{
    `batch_norm(conv2d(x, W, b))` with constant parameters becomes
    `conv2d(x, W', b')` with `W'[o] = W[o] * f[o]`, `f = scale /
    sqrt(variance + epsilon)` and `b' = (b - mean) * f + bias`; the same
    for a gemm whose output channels are the batch norm's channels. The
    conv or gemm must have no other user.

    ```mlir
    // Before
    %y = qg.conv2d %x, %w : ...
    %z = qg.batch_norm %y, %g, %b, %m, %v : ...
    // After
    %z = qg.conv2d %x, %w2, %b2 : ...
    ```
  }];
  let statistics = [
    Statistic<"numFolded", "num-folded", "Batch norms folded">
  ];
}

def QGFuseQuantizedLayers : Pass<"qg-fuse-quantized-layers", "mlir::ModuleOp"> {
  let summary = "Fuse dequantize -> matmul/gemm/conv2d -> bias/relu/clip -> quantize into qg.qlinear or qg.qconv2d";
  let description = [{
    A `qg.matmul` or `qg.gemm` whose activation is the dequantized value of
    a per-tensor u8/i8 tensor and whose weight is a dequantized i8 constant
    (per tensor or per output feature) becomes one `qg.qlinear`: an exact
    integer product with its epilogue. The pass absorbs, each time the
    value has no other user: a constant bias (`gemm`'s C, or a following
    `qg.add` of a constant `[N]`), then `qg.relu` or `qg.clip`, then a
    `qg.quantize` to per-tensor u8/i8, which makes the result quantized
    with an i32 bias in units of the accumulator's scale. Weights stored
    `[K, N]` are transposed to `[N, K]` at compile time, so no transpose is
    left for run time. The fused op's location fuses those of every op it
    replaced.

    FP8: an f8e4m3fn activation (per tensor) with an f8e4m3fn weight makes
    an FP8 `qg.qlinear` in the same way, whose result stays f32 (a
    quantize after it is not absorbed). Convolutions stay 8-bit integer.

    A `qg.conv2d` with one group, such an input and an i8 weight per tensor
    or per filter (`axis = 0`), with its constant f32 bias, becomes a
    `qg.qconv2d` in the same way (absorbing relu/clip and quantize).

    ```mlir
    // Before
    %x = qg.dequantize %xq : tensor<1x64x!qg.quant<u8, ...>> -> tensor<1x64xf32>
    %w = qg.dequantize %wq : tensor<10x64x!qg.quant<i8, axis = 0, ...>> -> tensor<10x64xf32>
    %y = qg.gemm %x, %w, %b {trans_b = true} : ...
    %r = qg.relu %y : tensor<1x10xf32>
    // After
    %r = qg.qlinear %xq, %wq, %b {clip_min = 0.0 : f32} : ... -> tensor<1x10xf32>
    ```

    Results differ from the float graph only by f32 rounding and by the
    bias rounded to i32 when the result is quantized; they equal the
    reference interpreter's `qg.qlinear` exactly.
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Layers fused into qg.qlinear">
  ];
}

def QGFoldTransposes : Pass<"qg-fold-transposes", "mlir::ModuleOp"> {
  let summary = "Fold transposes into the operand layouts of matmul and gemm";
  let description = [{
    A `qg.transpose` that feeds a `qg.matmul` operand becomes that operand's
    `lhs_perm` or `rhs_perm`: the product reads the transpose's input in
    place. Perms compose when the operand is already permuted, and a perm
    that comes out as the identity is dropped. A 2-D transpose feeding a
    `qg.gemm` operand toggles `trans_a` or `trans_b`. A transpose left
    without users is erased. Matmuls with folded perms keep their
    locations; the quantization passes ignore them, so this pass runs after
    quantization, just before code generation.

    ```mlir
    // Before
    %kt = qg.transpose %k {perm = array<i64: 0, 2, 3, 1>} : tensor<1x16x12x32xf32> -> tensor<1x12x32x16xf32>
    %s = qg.matmul %q, %kt : tensor<1x12x16x32xf32>, tensor<1x12x32x16xf32> -> tensor<1x12x16x16xf32>
    // After
    %s = qg.matmul %q, %k {rhs_perm = array<i64: 0, 2, 3, 1>} : tensor<1x12x16x32xf32>, tensor<1x16x12x32xf32> -> tensor<1x12x16x16xf32>
    ```
  }];
  let statistics = [
    Statistic<"numFolded", "num-folded", "Transposes folded into operands">
  ];
}

def QGFuseWeightOnly : Pass<"qg-fuse-weight-only", "mlir::ModuleOp"> {
  let summary = "Fuse matmuls with dequantized 4-bit or 8-bit constant weights into qg.dequant_matmul";
  let description = [{
    A `qg.matmul`, or a `qg.gemm` with alpha 1, A not transposed and C
    absent or an f32 constant `[N]` (added with beta 1, it becomes the
    bias), whose right operand is the `qg.dequantize` of a constant
    becomes a `qg.dequant_matmul`, which dequantizes the weight in
    registers, when the constant is uint4, int4 or NF4 quantized in blocks
    along K (W4A16), or uint8/int8 per tensor, per output channel (along
    N) or in blocks along K (W8A16), without double quantization: the
    weight `[K, N]` (K is axis 0), or `[N, K]` read through
    `rhs_perm = [1, 0]` (what `qg-fold-transposes` makes of MatMulNBits'
    transposed weight) or Gemm's `trans_b`, which becomes `trans_b`. A
    following `qg.add` of an f32 constant `[N]`, when it is the matmul's
    only user, becomes the bias. The dequantize is erased when nothing else uses it.
    The fused op's location fuses those of the dequantize, the matmul and
    the add. Run it after `qg-fold-transposes`.

    ```mlir
    // Before
    %d = qg.dequantize %w : tensor<64x32x!qg.quant<u4, axis = 1, block = 32, ...>> -> tensor<64x32xf32>
    %y = qg.matmul %x, %d {rhs_perm = array<i64: 1, 0>} : tensor<4x32xf32>, tensor<64x32xf32> -> tensor<4x64xf32>
    // After
    %y = qg.dequant_matmul %x, %w {trans_b = true} : tensor<4x32xf32>, tensor<64x32x!qg.quant<u4, ...>> -> tensor<4x64xf32>
    ```
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Matmuls fused into qg.dequant_matmul">
  ];
}

def QGFuseElementwise : Pass<"qg-fuse-elementwise", "mlir::ModuleOp"> {
  let summary = "Fuse chains of elementwise ops into qg.fused_elementwise";
  let description = [{
    Groups f32 elementwise ops (binary arithmetic, unary functions,
    activations, clip) and per-tensor `qg.quantize`/`qg.dequantize` into
    `qg.fused_elementwise` ops, one loop nest each. Walking the function
    backwards, each op not yet grouped starts a group and pulls in the
    producers of its operands that are fusible, have the same result shape
    and have no users outside the group, until none is left; a group of
    two or more ops is fused. Values used outside the group stay tensors
    and become inputs. One-element constants are copied into the body. The
    fused op's location fuses those of its ops.

    ```mlir
    // Before: GELU written out, then quantize
    %1 = qg.mul %x, %c0 : tensor<16x64xf32>, tensor<1xf32> -> tensor<16x64xf32>
    %2 = qg.erf %1 : tensor<16x64xf32>
    %3 = qg.add %2, %c1 : tensor<16x64xf32>, tensor<1xf32> -> tensor<16x64xf32>
    %4 = qg.mul %x, %3 : tensor<16x64xf32>, tensor<16x64xf32> -> tensor<16x64xf32>
    %5 = qg.quantize %4 : tensor<16x64xf32> -> tensor<16x64x!qg.quant<u8, ...>>
    // After: one op whose body holds the five
    %5 = qg.fused_elementwise %x : (tensor<16x64xf32>) -> tensor<16x64x!qg.quant<u8, ...>> { ... }
    ```
  }];
  let statistics = [
    Statistic<"numFused", "num-fused", "Fused elementwise ops created">,
    Statistic<"numOps", "num-ops", "Elementwise ops moved into them">
  ];
}

def QGFoldConstants : Pass<"qg-fold-constants", "mlir::ModuleOp"> {
  let summary = "Evaluate qg ops whose operands are all constants";
  let description = [{
    Runs each qg op whose operands are all `qg.constant`s through the
    reference interpreter and replaces it with a constant, so that folding
    agrees with execution exactly. Results larger than `max-elements` are
    left alone; f32 results above `inline-limit` go into dense_resource
    blobs.

    ```mlir
    // Before
    %a = qg.constant dense<2.0> : tensor<2xf32>
    %b = qg.mul %a, %a : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
    // After
    %b = qg.constant dense<4.0> : tensor<2xf32>
    ```
  }];
  let options = [
    Option<"maxElements", "max-elements", "int64_t", /*default=*/"16777216",
           "Largest result folded">,
    Option<"inlineLimit", "inline-limit", "int64_t", /*default=*/"64",
           "f32 results with more elements go into dense_resource blobs">
  ];
  let statistics = [
    Statistic<"numFolded", "num-folded", "Ops folded into constants">
  ];
}

def QGCalibrate : Pass<"qg-calibrate", "mlir::ModuleOp"> {
  let summary = "Run the float graph on calibration samples and save statistics";
  let description = [{
    Puts a `qg.observe` on the activation input of every layer (matmul,
    gemm or conv with a constant weight), runs the function in the reference
    interpreter on each sample of `data`, and streams every observed value
    into a fixed-size histogram and per-channel statistics (and, with
    `gram`, the Gram matrix sum x x^T that GPTQ and AWQ need). Memory does
    not grow with the number of samples; samples are read in sorted file
    order, so runs are deterministic. The statistics are written to `save`
    and the observers removed: the IR is unchanged.

    `data` is a file, a directory or a comma-separated list of .npy, .npz
    (arrays named after the inputs) or ONNX .pb files, or ONNX
    test_data_set_* directories; a file may hold a batch along the first
    axis. Progress (samples and samples per second) goes to stderr.

    ```mlir
    // While running
    %o = qg.observe %x {key = "fc1"} : tensor<1x64xf32>
    %y = qg.matmul %o, %w : ...
    ```
  }];
  let options = [
    Option<"data", "data", "std::string", /*default=*/"\"\"",
           "Calibration samples: files or directories, comma-separated">,
    Option<"save", "save", "std::string", /*default=*/"\"\"",
           "Statistics file to write">,
    Option<"maxSamples", "max-samples", "int64_t", /*default=*/"0",
           "Stop after this many samples (0: all)">,
    Option<"gram", "gram", "bool", /*default=*/"false",
           "Also accumulate Gram matrices (for GPTQ and AWQ)">,
    Option<"bins", "bins", "int64_t", /*default=*/"2048",
           "Histogram bins per tensor">,
    Option<"progress", "progress", "bool", /*default=*/"true",
           "Show progress on stderr">
  ];
  let statistics = [
    Statistic<"numSamples", "num-samples", "Samples run">,
    Statistic<"numObserved", "num-observed", "Tensors observed">
  ];
  let dependentDialects = ["::qcc::qg::QGDialect"];
}

def QGQuantizeActivations : Pass<"qg-quantize-activations", "mlir::ModuleOp"> {
  let summary = "Put Q/DQ pairs on the activation inputs of layers";
  let description = [{
    For each layer (matmul, gemm or conv with a constant weight), quantizes
    its activation input and dequantizes it again, so that fusion can turn
    the layer into an integer kernel. `mode=static` takes each tensor's
    range from the calibration statistics with the chosen `method`;
    `mode=dynamic` measures the range at run time (`qg.dynamic_quantize`, u8
    per tensor, as ONNX DynamicQuantizeLinear). A tensor feeding several
    layers gets one pair; a tensor that is already the output of a
    dequantize is left alone, so no requantize chains appear. Softmax,
    layer norm and every other op stay in float unless named in `also`
    (their float inputs then get Q/DQ pairs too). `per-row` gives dynamic
    quantization one range per row.

    ```mlir
    // Before
    %y = qg.matmul %x, %w : ...
    // After (static, u8)
    %q = qg.quantize %x : tensor<1x64xf32> -> tensor<1x64x!qg.quant<u8, scale = 0.02, zero_point = 128>>
    %d = qg.dequantize %q : ... -> tensor<1x64xf32>
    %y = qg.matmul %d, %w : ...
    ```
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (static mode)">,
    Option<"mode", "mode", "std::string", /*default=*/"\"static\"",
           "static or dynamic">,
    Option<"method", "method", "std::string", /*default=*/"\"minmax\"",
           "Range method: minmax, percentile, entropy or mse">,
    Option<"percentile", "percentile", "double", /*default=*/"99.99",
           "Percentile kept by method=percentile">,
    Option<"format", "format", "std::string", /*default=*/"\"u8\"",
           "Activation format: u8, i8 or f8e4m3fn (static, symmetric)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"false",
           "Symmetric ranges (zero point mid-range)">,
    Option<"perRow", "per-row", "bool", /*default=*/"false",
           "mode=dynamic: one range per row (last dimension) instead of per tensor">,
    ListOption<"floatOps", "also", "std::string",
               "Also quantize the inputs of these ops that stay float by "
               "default, by op name (e.g. softmax,layer_norm)">
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Activation tensors quantized">
  ];
  let dependentDialects = ["::qcc::qg::QGDialect"];
}

def QGSmoothQuant : Pass<"qg-smooth-quant", "mlir::ModuleOp"> {
  let summary = "Migrate activation outliers into the weights (SmoothQuant)";
  let description = [{
    For the layers that read one activation tensor, computes per-input-
    channel scales `s = max|x|^alpha / max|W|^(1 - alpha)` from the
    calibration statistics, multiplies the weights' input rows by `s` and
    divides the activation by `s`: folded into a preceding `qg.layer_norm`
    that feeds only these layers, or applied by a `qg.mul` otherwise. The
    float function computes the same values; what changes is how easily
    activations and weights quantize to 8 bits. Recalibrate afterwards.

    ```mlir
    // Before
    %n = qg.layer_norm %x, %g, %b : ...
    %y = qg.matmul %n, %w : ...
    // After
    %n = qg.layer_norm %x, %g_div_s, %b_div_s : ...
    %y = qg.matmul %n, %w_times_s : ...
    ```
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file">,
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "Migration strength in [0, 1]">
  ];
  let statistics = [
    Statistic<"numSmoothed", "num-smoothed", "Activation tensors smoothed">,
    Statistic<"numFoldedIntoNorm", "num-folded", "Scales folded into layer norms">
  ];
  let dependentDialects = ["::qcc::qg::QGDialect"];
}

#endif // QCC_PASSES_TD
