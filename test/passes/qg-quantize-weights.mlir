// RTN weight quantization. Codes and scales are worked out by hand from the
// rules in DESIGN.md section 3.
// RUN: qopt %s -split-input-file --qg-quantize-weights | FileCheck %s
// RUN: qopt %s -split-input-file --qg-quantize-weights="format=i4 granularity=block block-size=2" | FileCheck %s --check-prefix=BLOCK
// RUN: qopt %s -split-input-file --qg-quantize-weights="format=u8 granularity=tensor symmetric=false" | FileCheck %s --check-prefix=ASYM
// RUN: qopt %s -split-input-file --qg-quantize-weights="report=true" 2>&1 >/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: qopt %s -split-input-file --qg-quantize-weights="format=i4 granularity=block block-size=2" 2>&1 >/dev/null | FileCheck %s --check-prefix=WARN
// RUN: not qopt %s --qg-quantize-weights="format=nf4" 2>&1 | FileCheck %s --check-prefix=NF4
// RUN: not qopt %s --qg-quantize-weights="format=int3" 2>&1 | FileCheck %s --check-prefix=FORMAT
// RUN: not qopt %s --qg-quantize-weights="granularity=row" 2>&1 | FileCheck %s --check-prefix=GRAN

// NF4: nf4 needs granularity=block
// FORMAT: unknown format 'int3'; expected i8, u8, i4, u4, nf4, f8e4m3fn or f8e5m2
// GRAN: unknown granularity 'row'; expected tensor, channel or block

// Per-channel i8 on a matmul weight [K, N]: one scale per column N.
// Column 0: absmax 1.27 -> scale 0.01, codes 127, -50.
// Column 1: absmax 2.54 -> scale 0.02, codes 127, 50.
// CHECK-LABEL: func @matmul_channel
// CHECK: %[[Q:.*]] = qg.constant dense<{{\[\[}}127, 127], [-50, 50]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, axis = 1, scales = [0.00999999977, 2.000000e-02]>>
// CHECK: %[[W:.*]] = qg.dequantize %[[Q]] {{.*}} -> tensor<2x2xf32>
// CHECK: qg.matmul %{{.*}}, %[[W]]
// CHECK-NOT: dense<{{\[\[}}1.27
// REPORT: qg-quantize-weights: format=i8 granularity=channel symmetric
// REPORT: qg.matmul 2x2 2 0.000e+00 inf
// REPORT: total: 1 weights, 16 -> 12 bytes (1.33x smaller)
// ASYM-LABEL: func @matmul_channel
// ASYM: tensor<2x2x!qg.quant<u8, scale = {{.*}}, zero_point =
func.func @matmul_channel(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = qg.constant dense<[[1.27, 2.54], [-0.5, 1.0]]> : tensor<2x2xf32>
  %y = qg.matmul %x, %w : tensor<1x2xf32>, tensor<2x2xf32> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

// Blocks of 2 along the reduction axis K (axis 0) of a [4, 1] weight:
// block 0 [7, -3.5] -> scale 1, codes 7, -4 (tie to even);
// block 1 [0.7, 0.2] -> scale 0.1, codes 7, 2.
// Per-tensor asymmetric u8 over [-3.5, 7]: scale 10.5/255, zero point
// round(3.5 / (10.5/255)) = 85; 7 -> 170 + 85 = 255, -3.5 -> 0.
// BLOCK-LABEL: func @matmul_block
// BLOCK: qg.constant dense<{{\[\[}}7], [-4], [7], [2]]> : tensor<4x1xi4> as tensor<4x1x!qg.quant<i4, axis = 0, block = 2, scales = dense<{{\[\[}}1.000000e+00], [1.000000e-01]]> : tensor<2x1xf32>>>
// ASYM-LABEL: func @matmul_block
// ASYM: qg.constant dense<{{\[\[}}255], [0], [{{[0-9]+}}], [{{[0-9]+}}]]> : tensor<4x1xui8> as tensor<4x1x!qg.quant<u8, scale = {{.*}}, zero_point = 85>>
func.func @matmul_block(%x: tensor<1x4xf32>) -> tensor<1x1xf32> {
  %w = qg.constant dense<[[7.0], [-3.5], [0.7], [0.2]]> : tensor<4x1xf32>
  %y = qg.matmul %x, %w : tensor<1x4xf32>, tensor<4x1xf32> -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// Gemm with trans_b keeps output channels on axis 0 of B; conv weights on
// axis 0 too. Float activations and biases are left alone.
// CHECK-LABEL: func @gemm_conv
// CHECK: qg.constant {{.*}} : tensor<2x4xi8> as tensor<2x4x!qg.quant<i8, axis = 0, scales = [
// CHECK: qg.gemm
// CHECK: qg.constant {{.*}} : tensor<3x1x1x1xi8> as tensor<3x1x1x1x!qg.quant<i8, axis = 0, scales = [
// CHECK: qg.conv2d
func.func @gemm_conv(%a: tensor<1x4xf32>, %img: tensor<1x1x4x4xf32>) -> (tensor<1x2xf32>, tensor<1x3x4x4xf32>) {
  %w = qg.constant dense<[[1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 0.5, 0.5]]> : tensor<2x4xf32>
  %b = qg.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %y = qg.gemm %a, %w, %b {trans_b = true} : tensor<1x4xf32>, tensor<2x4xf32>, tensor<2xf32> -> tensor<1x2xf32>
  %k = qg.constant dense<[[[[1.0]]], [[[2.0]]], [[[-3.0]]]]> : tensor<3x1x1x1xf32>
  %z = qg.conv2d %img, %k : tensor<1x1x4x4xf32>, tensor<3x1x1x1xf32> -> tensor<1x3x4x4xf32>
  return %y, %z : tensor<1x2xf32>, tensor<1x3x4x4xf32>
}

// -----

// A block size that does not divide K leaves the weight in float, with a
// warning naming the op.
// WARN: warning: weight of qg-quantize-weights.mlir:{{[0-9]+}}:{{[0-9]+}} (shape 3x2) left in float: block size 2 does not divide dimension 0 of size 3
// BLOCK-LABEL: func @block_does_not_divide
// BLOCK: qg.constant dense<{{.*}}> : tensor<3x2xf32>
// BLOCK-NOT: qg.dequantize
func.func @block_does_not_divide(%x: tensor<1x3xf32>) -> tensor<1x2xf32> {
  %w = qg.constant dense<1.0> : tensor<3x2xf32>
  %y = qg.matmul %x, %w : tensor<1x3xf32>, tensor<3x2xf32> -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
