// Activation Q/DQ placement: dynamic mode (no statistics needed), and the
// tensors that are left alone.
// RUN: qopt %s -split-input-file --qg-quantize-activations="mode=dynamic" | FileCheck %s
// RUN: qopt %s -split-input-file --qg-quantize-activations="mode=dynamic per-row=true" | FileCheck %s --check-prefix=ROW
// RUN: qopt %s -split-input-file --qg-quantize-activations="mode=dynamic also=softmax" | FileCheck %s --check-prefix=ALSO
// RUN: not qopt %s --qg-quantize-activations="per-row=true stats=x" 2>&1 | FileCheck %s --check-prefix=ROWSTATIC
// RUN: not qopt %s --qg-quantize-activations="mode=dynamic format=i8" 2>&1 | FileCheck %s --check-prefix=DYNI8
// RUN: not qopt %s --qg-quantize-activations="method=kl" 2>&1 | FileCheck %s --check-prefix=METHOD

// DYNI8: mode=dynamic quantizes to u8 (ONNX DynamicQuantizeLinear); format=i8 is not available
// ROWSTATIC: per-row applies to mode=dynamic (static ranges are per tensor)
// METHOD: unknown method 'kl'; expected minmax, percentile, entropy or mse

// Dynamic: (cast(q) - cast(zp)) * scale in front of the layer only.
// CHECK-LABEL: func @dynamic
// CHECK: %[[Q:.*]], %[[S:.*]], %[[Z:.*]] = qg.dynamic_quantize %arg0
// CHECK: %[[C:.*]] = qg.cast %[[Q]]
// CHECK: %[[ZF:.*]] = qg.cast %[[Z]]
// CHECK: %[[SUB:.*]] = qg.sub %[[C]], %[[ZF]]
// CHECK: %[[X:.*]] = qg.mul %[[SUB]], %[[S]]
// CHECK: qg.matmul %[[X]]
// CHECK: qg.softmax
// CHECK-NOT: qg.dynamic_quantize
func.func @dynamic(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = qg.constant dense<1.0> : tensor<4x2xf32>
  %y = qg.matmul %x, %w : tensor<1x4xf32>, tensor<4x2xf32> -> tensor<1x2xf32>
  %z = qg.softmax %y : tensor<1x2xf32>
  return %z : tensor<1x2xf32>
}

// -----

// A matmul of two activations (attention scores) is not a layer.
// CHECK-LABEL: func @two_activations
// CHECK-NOT: qg.dynamic_quantize
func.func @two_activations(%x: tensor<2x4xf32>, %y: tensor<4x2xf32>) -> tensor<2x2xf32> {
  %z = qg.matmul %x, %y : tensor<2x4xf32>, tensor<4x2xf32> -> tensor<2x2xf32>
  return %z : tensor<2x2xf32>
}

// -----

// Per row: the scale and zero point keep one value per row and broadcast.
// CHECK-LABEL: func @per_row
// ROW-LABEL: func @per_row
// ROW: qg.dynamic_quantize %arg0 {per_row = true} : tensor<3x4xf32> -> tensor<3x4xui8>, tensor<3x1xf32>, tensor<3x1xui8>
// ROW: qg.sub %{{.*}}, %{{.*}} : tensor<3x4xf32>, tensor<3x1xf32>
func.func @per_row(%x: tensor<3x4xf32>) -> tensor<3x2xf32> {
  %w = qg.constant dense<1.0> : tensor<4x2xf32>
  %y = qg.matmul %x, %w : tensor<3x4xf32>, tensor<4x2xf32> -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// Softmax stays float unless asked: with also=softmax its input gets a pair.
// ALSO-LABEL: func @softmax
// ALSO: qg.dynamic_quantize
// ALSO: qg.softmax
func.func @softmax(%x: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %y = qg.softmax %x : tensor<1x4xf32>
  return %y : tensor<1x4xf32>
}
