// qg integer types and Q/DQ ops become upstream quant types and casts.
// RUN: qopt %s -split-input-file -verify-diagnostics --qg-export-quant-types | FileCheck %s
// RUN: qopt %s -split-input-file -verify-diagnostics --qg-export-quant-types | qopt -split-input-file --qg-import-quant-types | FileCheck %s --check-prefix=BACK

// Per-tensor and per-axis Q/DQ pairs.
// CHECK-LABEL: func @qdq
// CHECK: %[[Q:.*]] = quant.qcast %{{.*}} : tensor<2x3xf32> to tensor<2x3x!quant.uniform<u8:f32:1, {5.000000e-01:128,2.500000e-01:128,1.250000e-01:128}>>
// CHECK: quant.dcast %[[Q]] : tensor<2x3x!quant.uniform<u8:f32:1, {5.000000e-01:128,2.500000e-01:128,1.250000e-01:128}>> to tensor<2x3xf32>
// CHECK: quant.qcast %{{.*}} : tensor<2x3xf32> to tensor<2x3x!quant.uniform<i8:f32, 5.000000e-01>>
// BACK-LABEL: func @qdq
// BACK: qg.quantize %{{.*}} -> tensor<2x3x!qg.quant<u8, axis = 1, scales = [5.000000e-01, 2.500000e-01, 1.250000e-01], zero_points = [128, 128, 128]>>
// BACK: qg.quantize %{{.*}} -> tensor<2x3x!qg.quant<i8, scale = 5.000000e-01>>
func.func @qdq(%x: tensor<2x3xf32>) -> tensor<2x3x!qg.quant<i8, scale = 0.5>> {
  %q = qg.quantize %x : tensor<2x3xf32> -> tensor<2x3x!qg.quant<u8, axis = 1, scales = [0.5, 0.25, 0.125], zero_points = [128, 128, 128]>>
  %y = qg.dequantize %q : tensor<2x3x!qg.quant<u8, axis = 1, scales = [0.5, 0.25, 0.125], zero_points = [128, 128, 128]>> -> tensor<2x3xf32>
  %r = qg.quantize %y : tensor<2x3xf32> -> tensor<2x3x!qg.quant<i8, scale = 0.5>>
  return %r : tensor<2x3x!qg.quant<i8, scale = 0.5>>
}

// -----

// Per-block becomes sub-channel with block size 1 on the other axes.
// CHECK-LABEL: func @per_block
// CHECK: tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{\{\{}}1.000000e+00:-1, 2.000000e+00:-1}, {3.000000e+00:-1, 4.000000e+00:-1}}>>
// BACK-LABEL: func @per_block
// BACK: tensor<2x4x!qg.quant<i4, axis = 1, block = 2, scales = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>, zero_points = dense<-1> : tensor<2x2xi32>>>
func.func @per_block(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %q = qg.quantize %x : tensor<2x4xf32> -> tensor<2x4x!qg.quant<i4, axis = 1, block = 2, scales = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>, zero_points = dense<-1> : tensor<2x2xi32>>>
  %y = qg.dequantize %q : tensor<2x4x!qg.quant<i4, axis = 1, block = 2, scales = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>, zero_points = dense<-1> : tensor<2x2xi32>>> -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// FP8 has no upstream counterpart (the quant dialect rejects float storage).
func.func @fp8(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{f8e4m3fn has no !quant.uniform counterpart}}
  %q = qg.quantize %x : tensor<4xf32> -> tensor<4x!qg.quant<f8e4m3fn, scale = 1.0>>
  %y = qg.dequantize %q : tensor<4x!qg.quant<f8e4m3fn, scale = 1.0>> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// Quantized constants stay in qg: upstream has none.
func.func @constant() -> tensor<2xf32> {
  // expected-error@+1 {{'qg.constant' op on quantized tensors has no upstream quant counterpart; only qg.quantize and qg.dequantize export}}
  %c = qg.constant dense<[1, 2]> : tensor<2xi8> as tensor<2x!qg.quant<i8, scale = 0.5>>
  %y = qg.dequantize %c : tensor<2x!qg.quant<i8, scale = 0.5>> -> tensor<2xf32>
  return %y : tensor<2xf32>
}
