// Upstream !quant.uniform types and casts become qg types and ops.
// RUN: qopt %s -split-input-file -verify-diagnostics --qg-import-quant-types | FileCheck %s

// Per-tensor types, casts and function signatures convert.
// CHECK-LABEL: func @per_tensor
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>) -> tensor<4x!qg.quant<i8, scale = 5.000000e-01, zero_point = 3>>
// CHECK: %[[Q:.*]] = qg.quantize %[[X]] : tensor<4xf32> -> tensor<4x!qg.quant<i8, scale = 5.000000e-01, zero_point = 3>>
// CHECK: return %[[Q]]
func.func @per_tensor(%x: tensor<4xf32>) -> tensor<4x!quant.uniform<i8:f32, 0.5:3>> {
  %q = quant.qcast %x : tensor<4xf32> to tensor<4x!quant.uniform<i8:f32, 0.5:3>>
  return %q : tensor<4x!quant.uniform<i8:f32, 0.5:3>>
}

// -----

// Per-axis unsigned with zero points, through a dequantize cast.
// CHECK-LABEL: func @per_axis
// CHECK: qg.dequantize %{{.*}} : tensor<2x3x!qg.quant<u8, axis = 1, scales = [1.000000e+00, 2.000000e+00, 4.000000e+00], zero_points = [128, 0, 7]>> -> tensor<2x3xf32>
func.func @per_axis(%q: tensor<2x3x!quant.uniform<u8:f32:1, {1.0:128, 2.0, 4.0:7}>>) -> tensor<2x3xf32> {
  %x = quant.dcast %q : tensor<2x3x!quant.uniform<u8:f32:1, {1.0:128, 2.0, 4.0:7}>> to tensor<2x3xf32>
  return %x : tensor<2x3xf32>
}

// -----

// Sub-channel with one blocked axis is qg's per-block layout; i4 storage.
// CHECK-LABEL: func @sub_channel
// CHECK: tensor<2x4x!qg.quant<i4, axis = 1, block = 2, scales = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>>>
func.func @sub_channel(%q: tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{1.0, 2.0}, {3.0, 4.0}}>>) -> tensor<2x4xf32> {
  %x = quant.dcast %q : tensor<2x4x!quant.uniform<i4:f32:{0:1, 1:2}, {{1.0, 2.0}, {3.0, 4.0}}>> to tensor<2x4xf32>
  return %x : tensor<2x4xf32>
}

// -----

// A narrow storage range has no qg counterpart.
// expected-error@+1 {{narrow storage range [-127, 127] has no !qg.quant counterpart}}
func.func @narrow(%q: tensor<4x!quant.uniform<i8<-127:127>:f32, 0.5>>) {
  return
}

// -----

// A scale that f32 cannot hold exactly would change values.
// expected-error@+1 {{scale 0.10000000000000001 is not exactly representable in f32}}
func.func @inexact(%q: tensor<4x!quant.uniform<i8:f32, 0.1>>) {
  return
}

// -----

// Blocks along two axes have no qg counterpart.
// expected-error@+1 {{sub-channel quantization blocked along more than one axis has no !qg.quant counterpart}}
func.func @two_axes(%q: tensor<4x4x!quant.uniform<i8:f32:{0:2, 1:2}, {{1.0, 2.0}, {3.0, 4.0}}>>) {
  return
}

// -----

// quant.scast has no counterpart: qg constants carry their storage type.
func.func @storage_cast(%i: tensor<4xi8>) -> tensor<4x!quant.uniform<i8:f32, 0.5>> {
  // expected-error@+1 {{'quant.scast' op has no qg counterpart: qg constants carry their storage type directly}}
  %q = quant.scast %i : tensor<4xi8> to tensor<4x!quant.uniform<i8:f32, 0.5>>
  return %q : tensor<4x!quant.uniform<i8:f32, 0.5>>
}
