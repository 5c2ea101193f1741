// Every variant of !qg.quant and every quantization op prints and parses back
// to the same form, also through the generic op form.
// RUN: qopt %s -split-input-file | FileCheck %s
// RUN: qopt %s -split-input-file | qopt -split-input-file | FileCheck %s
// RUN: qopt %s -split-input-file --mlir-print-op-generic | qopt -split-input-file | FileCheck %s

// Per-tensor affine types, with and without a zero point.
// CHECK-LABEL: func @per_tensor
// CHECK-SAME: tensor<4x!qg.quant<i8, scale = 5.000000e-01>>
// CHECK-SAME: tensor<4x!qg.quant<u8, scale = 2.500000e-01, zero_point = 128>>
// CHECK-SAME: tensor<4x!qg.quant<i4, scale = 1.000000e+00, zero_point = -3>>
// CHECK-SAME: tensor<4x!qg.quant<u4, scale = 1.250000e-01, zero_point = 8>>
func.func @per_tensor(%a: tensor<4x!qg.quant<i8, scale = 0.5>>,
                      %b: tensor<4x!qg.quant<u8, scale = 0.25, zero_point = 128>>,
                      %c: tensor<4x!qg.quant<i4, scale = 1.0, zero_point = -3>>,
                      %d: tensor<4x!qg.quant<u4, scale = 0.125, zero_point = 8>>) {
  return
}

// -----

// An explicit zero point of 0 is the same type as none.
// CHECK-LABEL: func @zero_zero_point
// CHECK-SAME: tensor<2x!qg.quant<i8, scale = 5.000000e-01>>
// CHECK-NOT: zero_point
func.func @zero_zero_point(%a: tensor<2x!qg.quant<i8, scale = 0.5, zero_point = 0>>) {
  return
}

// -----

// Per-axis: inline lists, and a dense attribute for the same thing.
// CHECK-LABEL: func @per_axis
// CHECK-SAME: tensor<2x3x!qg.quant<i8, axis = 1, scales = [1.000000e-01, 2.000000e-01, 4.000000e-01]>>
// CHECK-SAME: tensor<3x2x!qg.quant<u8, axis = 0, scales = [1.000000e+00, 2.000000e+00, 3.000000e+00], zero_points = [1, 2, 3]>>
// CHECK-SAME: tensor<2x3x!qg.quant<i8, axis = 1, scales = [1.000000e-01, 2.000000e-01, 4.000000e-01]>>
func.func @per_axis(%a: tensor<2x3x!qg.quant<i8, axis = 1, scales = [0.1, 0.2, 0.4]>>,
                    %b: tensor<3x2x!qg.quant<u8, axis = 0, scales = [1.0, 2.0, 3.0], zero_points = [1, 2, 3]>>,
                    %c: tensor<2x3x!qg.quant<i8, axis = 1, scales = dense<[0.1, 0.2, 0.4]> : tensor<3xf32>>>) {
  return
}

// -----

// Per-block: the scale table has the tensor's shape with the block axis
// divided by the block size.
// CHECK-LABEL: func @per_block
// CHECK-SAME: tensor<2x8x!qg.quant<i4, axis = 1, block = 4, scales = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>>>
// CHECK-SAME: tensor<2x8x!qg.quant<u4, axis = 1, block = 4, scales = dense<5.000000e-01> : tensor<2x2xf32>, zero_points = dense<8> : tensor<2x2xi32>>>
func.func @per_block(%a: tensor<2x8x!qg.quant<i4, axis = 1, block = 4, scales = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>>>,
                     %b: tensor<2x8x!qg.quant<u4, axis = 1, block = 4, scales = dense<0.5> : tensor<2x2xf32>, zero_points = dense<8> : tensor<2x2xi32>>>) {
  return
}

// -----

// NF4 with a float absmax table, and double-quantized with u8 codes.
// CHECK-LABEL: func @nf4
// CHECK-SAME: tensor<2x128x!qg.quant<nf4, axis = 1, block = 64, scales = dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>>>
// CHECK-SAME: tensor<2x128x!qg.quant<nf4, axis = 1, block = 64, scales = dense<{{\[\[}}10, 20], [30, 255]]> : tensor<2x2xui8>, dq_block = 256, dq_scales = [0.00999999977]>>
func.func @nf4(%a: tensor<2x128x!qg.quant<nf4, axis = 1, block = 64, scales = dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>>>,
               %b: tensor<2x128x!qg.quant<nf4, axis = 1, block = 64, scales = dense<[[10, 20], [30, 255]]> : tensor<2x2xui8>, dq_block = 256, dq_scales = [0.01]>>) {
  return
}

// -----

// FP8 per-tensor and per-block.
// CHECK-LABEL: func @fp8
// CHECK-SAME: tensor<4x!qg.quant<f8e4m3fn, scale = 5.000000e-01>>
// CHECK-SAME: tensor<2x4x!qg.quant<f8e5m2, axis = 1, block = 2, scales = dense<1.000000e+00> : tensor<2x2xf32>>>
// CHECK-SAME: tensor<3x4x!qg.quant<f8e4m3fn, axis = 0, scales = [1.000000e+00, 2.000000e+00, 3.000000e+00]>>
func.func @fp8(%a: tensor<4x!qg.quant<f8e4m3fn, scale = 0.5>>,
               %b: tensor<2x4x!qg.quant<f8e5m2, axis = 1, block = 2, scales = dense<1.0> : tensor<2x2xf32>>>,
               %c: tensor<3x4x!qg.quant<f8e4m3fn, axis = 0, scales = [1.0, 2.0, 3.0]>>) {
  return
}

// -----

// Scale tables may live in resources.
// CHECK-LABEL: func @resource_scales
// CHECK-SAME: scales = dense_resource<block_scales> : tensor<2x2xf32>
func.func @resource_scales(%a: tensor<2x8x!qg.quant<i8, axis = 1, block = 4, scales = dense_resource<block_scales> : tensor<2x2xf32>>>) {
  return
}
{-#
  dialect_resources: {
    builtin: {
      block_scales: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

// -----

// Quantized constants store codes in the format's storage type.
// CHECK-LABEL: func @constants
// CHECK: qg.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK: qg.constant dense<[-128, 127]> : tensor<2xi8> as tensor<2x!qg.quant<i8, scale = 5.000000e-01>>
// CHECK: qg.constant dense<[0, 255]> : tensor<2xui8> as tensor<2x!qg.quant<u8, scale = 5.000000e-01, zero_point = 3>>
// CHECK: qg.constant dense<[-8, 7]> : tensor<2xi4> as tensor<2x!qg.quant<i4, scale = 5.000000e-01>>
// CHECK: qg.constant dense<{{\[\[}}0, 15]]> : tensor<1x2xui4> as tensor<1x2x!qg.quant<nf4, axis = 1, block = 2, scales = dense<1.000000e+00> : tensor<1x1xf32>>>
// CHECK: qg.constant dense<[4.480000e+02, -1.000000e+00]> : tensor<2xf8E4M3FN> as tensor<2x!qg.quant<f8e4m3fn, scale = 2.000000e+00>>
// CHECK: qg.constant dense_resource<packed> : tensor<2x3xi4> as tensor<2x3x!qg.quant<i4, scale = 1.000000e+00>>
func.func @constants() {
  %0 = qg.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = qg.constant dense<[-128, 127]> : tensor<2xi8> as tensor<2x!qg.quant<i8, scale = 0.5>>
  %2 = qg.constant dense<[0, 255]> : tensor<2xui8> as tensor<2x!qg.quant<u8, scale = 0.5, zero_point = 3>>
  %3 = qg.constant dense<[-8, 7]> : tensor<2xi4> as tensor<2x!qg.quant<i4, scale = 0.5>>
  %4 = qg.constant dense<[[0, 15]]> : tensor<1x2xui4> as tensor<1x2x!qg.quant<nf4, axis = 1, block = 2, scales = dense<1.0> : tensor<1x1xf32>>>
  %5 = qg.constant dense<[448.0, -1.0]> : tensor<2xf8E4M3FN> as tensor<2x!qg.quant<f8e4m3fn, scale = 2.0>>
  %6 = qg.constant dense_resource<packed> : tensor<2x3xi4> as tensor<2x3x!qg.quant<i4, scale = 1.0>>
  return
}
{-#
  dialect_resources: {
    builtin: {
      packed: "0x010000002143F587"
    }
  }
#-}

// -----

// Quantize, dequantize and requantize.
// CHECK-LABEL: func @quant_ops
// CHECK: %[[Q:.*]] = qg.quantize %{{.*}} : tensor<2x3xf32> -> tensor<2x3x!qg.quant<i8, axis = 0, scales = [1.000000e-01, 2.000000e-01]>>
// CHECK: %[[R:.*]] = qg.requantize %[[Q]] : {{.*}} -> tensor<2x3x!qg.quant<u8, scale = 1.000000e+00, zero_point = 128>>
// CHECK: qg.dequantize %[[R]] : {{.*}} -> tensor<2x3xf16>
func.func @quant_ops(%x: tensor<2x3xf32>) -> tensor<2x3xf16> {
  %q = qg.quantize %x : tensor<2x3xf32> -> tensor<2x3x!qg.quant<i8, axis = 0, scales = [0.1, 0.2]>>
  %r = qg.requantize %q : tensor<2x3x!qg.quant<i8, axis = 0, scales = [0.1, 0.2]>> -> tensor<2x3x!qg.quant<u8, scale = 1.0, zero_point = 128>>
  %y = qg.dequantize %r : tensor<2x3x!qg.quant<u8, scale = 1.0, zero_point = 128>> -> tensor<2x3xf16>
  return %y : tensor<2x3xf16>
}

// -----

// storage_cast reinterprets codes without changing them.
// CHECK-LABEL: func @storage_cast
// CHECK: %[[Q:.*]] = qg.storage_cast %{{.*}} : tensor<4xui8> -> tensor<4x!qg.quant<u8, scale = 5.000000e-01, zero_point = 128>>
// CHECK: qg.storage_cast %[[Q]] : tensor<4x!qg.quant<u8, scale = 5.000000e-01, zero_point = 128>> -> tensor<4xui8>
func.func @storage_cast(%x: tensor<4xui8>) -> tensor<4xui8> {
  %q = qg.storage_cast %x : tensor<4xui8> -> tensor<4x!qg.quant<u8, scale = 0.5, zero_point = 128>>
  %y = qg.storage_cast %q : tensor<4x!qg.quant<u8, scale = 0.5, zero_point = 128>> -> tensor<4xui8>
  return %y : tensor<4xui8>
}

// -----

// dynamic_quantize returns codes, scale and zero point.
// CHECK-LABEL: func @dynamic_quantize
// CHECK: qg.dynamic_quantize %{{.*}} : tensor<2x3xf32> -> tensor<2x3xui8>, tensor<f32>, tensor<ui8>
func.func @dynamic_quantize(%x: tensor<2x3xf32>) -> tensor<2x3xui8> {
  %y, %s, %z = qg.dynamic_quantize %x : tensor<2x3xf32> -> tensor<2x3xui8>, tensor<f32>, tensor<ui8>
  return %y : tensor<2x3xui8>
}
