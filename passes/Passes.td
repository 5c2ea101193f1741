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
           "Print each weight's quantization error and size to stderr">
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

#endif // QCC_PASSES_TD
