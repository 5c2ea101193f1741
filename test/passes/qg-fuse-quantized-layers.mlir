// Fusion of quantized layers into qg.qlinear, and the fused op's values,
// which are worked out by hand below.
// RUN: qopt %s -split-input-file --qg-fuse-quantized-layers -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/write_npy.py %t/x.npy 1x2 "1,2"
// RUN: qopt %S/Inputs/qlinear-requant.mlir --qg-fuse-quantized-layers -o %t/requant.mlir
// RUN: FileCheck %s --check-prefix=RUNFUSED < %t/requant.mlir
// RUN: qrun --reference %t/requant.mlir --input x=%t/x.npy --output-dir %t/requant
// RUN: %python %S/Inputs/print_npy.py %t/requant/y.npy | FileCheck %s --check-prefix=REQUANT
// RUN: qopt %S/Inputs/qlinear-half.mlir --qg-fuse-quantized-layers -o %t/half.mlir
// RUN: FileCheck %s --check-prefix=RUNFUSED < %t/half.mlir
// RUN: qrun --reference %t/half.mlir --input x=%t/x.npy --output-dir %t/half
// RUN: %python %S/Inputs/print_npy.py %t/half/y.npy | FileCheck %s --check-prefix=HALF
// RUN: qopt %S/Inputs/qlinear-gelu.mlir --qg-fuse-quantized-layers -o %t/gelu.mlir
// RUN: FileCheck %s --check-prefix=GELUFUSED < %t/gelu.mlir
// RUN: qrun --reference %t/gelu.mlir --input x=%t/x.npy --output-dir %t/gelu
// RUN: %python %S/Inputs/print_npy.py %t/gelu/y.npy | FileCheck %s --check-prefix=GELU
// RUN: qopt %S/Inputs/qlinear-fp8.mlir --qg-fuse-quantized-layers -mlir-print-debuginfo -mlir-print-local-scope -o %t/fp8.mlir
// RUN: FileCheck %s --check-prefix=FP8FUSED < %t/fp8.mlir
// RUN: qrun --reference %t/fp8.mlir --input x=%t/x.npy --output-dir %t/fp8
// RUN: %python %S/Inputs/print_npy.py %t/fp8/z.npy | FileCheck %s --check-prefix=FP8
// The unfused module gives the same values.
// RUN: qrun --reference %S/Inputs/qlinear-fp8.mlir --input x=%t/x.npy --output-dir %t/fp8-unfused
// RUN: %python %S/Inputs/print_npy.py %t/fp8-unfused/z.npy | FileCheck %s --check-prefix=FP8

// gemm (weights [N, K]) + C + relu + quantize: a quantized result, the bias
// in i32 units of s_x * s_w[n], ReLU as clip_min, one fused location.
// CHECK-LABEL: func @gemm_relu_requant
// CHECK: %[[B:.*]] = qg.constant dense<[4, -16]> : tensor<2xi32>
// CHECK: %[[Y:.*]] = qg.qlinear %{{.*}}, %{{.*}}, %[[B]] {clip_min = 0.000000e+00 : f32}
// CHECK-SAME: -> tensor<1x2x!qg.quant<u8, scale = 5.000000e-01, zero_point = 3>>
// CHECK-SAME: loc(fused["fc", "act", "q"])
// CHECK-NOT: qg.gemm
// CHECK-NOT: qg.relu
func.func @gemm_relu_requant(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %xq = qg.quantize %x : tensor<1x2xf32> -> tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>
  %xd = qg.dequantize %xq : tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<1x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>> -> tensor<2x2xf32>
  %b = qg.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %y = qg.gemm %xd, %wd, %b {trans_b = true} : tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<1x2xf32> loc("fc")
  %r = qg.relu %y : tensor<1x2xf32> loc("act")
  %q = qg.quantize %r : tensor<1x2xf32> -> tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 3>> loc("q")
  %d = qg.dequantize %q : tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 3>> -> tensor<1x2xf32>
  return %d : tensor<1x2xf32>
}

// -----

// matmul with weights stored [K, N], per column: transposed to [N, K] with
// the scales on axis 0; a following add of a constant row is the bias; the
// result stays f32.
// CHECK-LABEL: func @matmul_add
// CHECK: qg.constant dense<{{\[}}[1, 3, 5], [2, 4, 6]]> : tensor<2x3xi8> as tensor<2x3x!qg.quant<i8, axis = 0, scales = [1.000000e-01, 2.000000e-01]>>
// CHECK: qg.qlinear %{{.*}}, %{{.*}}, %{{.*}} : tensor<4x3x!qg.quant<i8, scale = 1.000000e+00>>, tensor<2x3x!qg.quant<i8, axis = 0, {{.*}}>>, tensor<2xf32> -> tensor<4x2xf32>
// CHECK-NOT: qg.matmul
// CHECK-NOT: qg.add
func.func @matmul_add(%xq: tensor<4x3x!qg.quant<i8, scale = 1.0>>) -> tensor<4x2xf32> {
  %xd = qg.dequantize %xq : tensor<4x3x!qg.quant<i8, scale = 1.0>> -> tensor<4x3xf32>
  %wq = qg.constant dense<[[1, 2], [3, 4], [5, 6]]> : tensor<3x2xi8> as tensor<3x2x!qg.quant<i8, axis = 1, scales = [0.1, 0.2]>>
  %wd = qg.dequantize %wq : tensor<3x2x!qg.quant<i8, axis = 1, scales = [0.1, 0.2]>> -> tensor<3x2xf32>
  %y = qg.matmul %xd, %wd : tensor<4x3xf32>, tensor<3x2xf32> -> tensor<4x2xf32>
  %b = qg.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
  %z = qg.add %y, %b : tensor<4x2xf32>, tensor<1x2xf32> -> tensor<4x2xf32>
  return %z : tensor<4x2xf32>
}

// -----

// Left alone: block-quantized weights (a weight-only kernel's job), a float
// activation, and a relu whose input has a second user (the layer fuses,
// the relu does not).
// CHECK-LABEL: func @not_fused
// CHECK: qg.matmul
// CHECK: qg.matmul
// CHECK: %[[Y:.*]] = qg.qlinear
// CHECK-NOT: clip_min
// CHECK: qg.relu %[[Y]]
func.func @not_fused(%x: tensor<2x32xf32>, %xq: tensor<2x32x!qg.quant<u8, scale = 1.0>>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %wq = qg.constant dense<1> : tensor<32x2xi8> as tensor<32x2x!qg.quant<i8, axis = 0, block = 16, scales = dense<1.0> : tensor<2x2xf32>>>
  %wd = qg.dequantize %wq : tensor<32x2x!qg.quant<i8, axis = 0, block = 16, scales = dense<1.0> : tensor<2x2xf32>>> -> tensor<32x2xf32>
  %xd = qg.dequantize %xq : tensor<2x32x!qg.quant<u8, scale = 1.0>> -> tensor<2x32xf32>
  %a = qg.matmul %xd, %wd : tensor<2x32xf32>, tensor<32x2xf32> -> tensor<2x2xf32>
  %vq = qg.constant dense<1> : tensor<32x2xi8> as tensor<32x2x!qg.quant<i8, scale = 1.0>>
  %vd = qg.dequantize %vq : tensor<32x2x!qg.quant<i8, scale = 1.0>> -> tensor<32x2xf32>
  %b = qg.matmul %x, %vd : tensor<2x32xf32>, tensor<32x2xf32> -> tensor<2x2xf32>
  %c = qg.matmul %xd, %vd : tensor<2x32xf32>, tensor<32x2xf32> -> tensor<2x2xf32>
  %r = qg.relu %c : tensor<2x2xf32>
  return %a, %b, %c, %r : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

// A gemm C of shape [M, 1] adds one value per row, not per output feature:
// it is no bias, so the gemm stays.
// CHECK-LABEL: func @column_c
// CHECK: qg.gemm
// CHECK-NOT: qg.qlinear
func.func @column_c(%xq: tensor<2x2x!qg.quant<u8, scale = 1.0>>) -> tensor<2x2xf32> {
  %xd = qg.dequantize %xq : tensor<2x2x!qg.quant<u8, scale = 1.0>> -> tensor<2x2xf32>
  %wq = qg.constant dense<1> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, scale = 1.0>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, scale = 1.0>> -> tensor<2x2xf32>
  %c = qg.constant dense<[[1.0], [2.0]]> : tensor<2x1xf32>
  %y = qg.gemm %xd, %wd, %c {trans_b = true} : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x1xf32> -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// GELU written out as PyTorch exports it (x * 0.5 * (1 + erf(x / 1.4142135)))
// after the bias goes into the epilogue, and the quantize after it: the bias
// stays f32 because the activation reads the float value.
// CHECK-LABEL: func @written_gelu
// CHECK: %[[B:.*]] = qg.constant dense<[5.000000e-01, -1.000000e+00]> : tensor<2xf32>
// CHECK: qg.qlinear %{{.*}}, %{{.*}}, %[[B]] {activation = "gelu"}
// CHECK-SAME: -> tensor<3x2x!qg.quant<u8, scale = 5.000000e-02, zero_point = 3>>
// CHECK-SAME: loc(fused["fc", "bias", "div", "erf", "add1", "mul", "half", "q"])
// CHECK-NOT: qg.erf
// CHECK-NOT: qg.mul
// CHECK-NOT: qg.quantize
func.func @written_gelu(%xq: tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>) -> tensor<3x2x!qg.quant<u8, scale = 0.05, zero_point = 3>> {
  %xd = qg.dequantize %xq : tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<3x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, axis = 1, scales = [0.25, 0.125]>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, axis = 1, scales = [0.25, 0.125]>> -> tensor<2x2xf32>
  %y = qg.matmul %xd, %wd : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32> loc("fc")
  %b = qg.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %z = qg.add %y, %b : tensor<3x2xf32>, tensor<2xf32> -> tensor<3x2xf32> loc("bias")
  %root2 = qg.constant dense<1.41421354> : tensor<1xf32>
  %one = qg.constant dense<1.0> : tensor<1xf32>
  %half = qg.constant dense<0.5> : tensor<1xf32>
  %0 = qg.div %z, %root2 : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32> loc("div")
  %1 = qg.erf %0 : tensor<3x2xf32> loc("erf")
  %2 = qg.add %one, %1 : tensor<1xf32>, tensor<3x2xf32> -> tensor<3x2xf32> loc("add1")
  %3 = qg.mul %z, %2 : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<3x2xf32> loc("mul")
  %4 = qg.mul %3, %half : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32> loc("half")
  %q = qg.quantize %4 : tensor<3x2xf32> -> tensor<3x2x!qg.quant<u8, scale = 0.05, zero_point = 3>> loc("q")
  return %q : tensor<3x2x!qg.quant<u8, scale = 0.05, zero_point = 3>>
}

// -----

// SiLU written out (x * sigmoid(x)) with a float result, and SiLU as an op
// after a convolution.
// CHECK-LABEL: func @silu
// CHECK: qg.qlinear %{{.*}}, %{{.*}} {activation = "silu"} : {{.*}} -> tensor<3x2xf32>
// CHECK: qg.qconv2d %{{.*}}, %{{.*}} {activation = "silu"} : {{.*}} -> tensor<1x2x2x2x!qg.quant<i8, scale = 1.000000e-01, zero_point = -5>>
// CHECK-NOT: qg.sigmoid
// CHECK-NOT: qg.silu
func.func @silu(%xq: tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>, %iq: tensor<1x1x3x3x!qg.quant<u8, scale = 0.5, zero_point = 10>>) -> (tensor<3x2xf32>, tensor<1x2x2x2x!qg.quant<i8, scale = 0.1, zero_point = -5>>) {
  %xd = qg.dequantize %xq : tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<3x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, scale = 0.25>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, scale = 0.25>> -> tensor<2x2xf32>
  %y = qg.matmul %xd, %wd : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
  %s = qg.sigmoid %y : tensor<3x2xf32>
  %r = qg.mul %s, %y : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<3x2xf32>
  %id = qg.dequantize %iq : tensor<1x1x3x3x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<1x1x3x3xf32>
  %kq = qg.constant dense<1> : tensor<2x1x2x2xi8> as tensor<2x1x2x2x!qg.quant<i8, scale = 0.25>>
  %kd = qg.dequantize %kq : tensor<2x1x2x2x!qg.quant<i8, scale = 0.25>> -> tensor<2x1x2x2xf32>
  %c = qg.conv2d %id, %kd : tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32> -> tensor<1x2x2x2xf32>
  %cs = qg.silu %c : tensor<1x2x2x2xf32>
  %cq = qg.quantize %cs : tensor<1x2x2x2xf32> -> tensor<1x2x2x2x!qg.quant<i8, scale = 0.1, zero_point = -5>>
  return %r, %cq : tensor<3x2xf32>, tensor<1x2x2x2x!qg.quant<i8, scale = 0.1, zero_point = -5>>
}

// -----

// Not activations: a written-out GELU whose erf has a second user (the
// layer fuses without it), and a product whose constant is not 0.5.
// CHECK-LABEL: func @not_activations
// CHECK: %[[A:.*]] = qg.qlinear
// CHECK-NOT: activation
// CHECK-SAME: -> tensor<3x2xf32>
// CHECK: qg.erf
// CHECK: %[[B:.*]] = qg.qlinear
// CHECK-NOT: activation
// CHECK-SAME: -> tensor<3x2xf32>
// CHECK: qg.erf
func.func @not_activations(%xq: tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %xd = qg.dequantize %xq : tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<3x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, scale = 0.25>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, scale = 0.25>> -> tensor<2x2xf32>
  %root2 = qg.constant dense<1.41421354> : tensor<1xf32>
  %one = qg.constant dense<1.0> : tensor<1xf32>
  %half = qg.constant dense<0.5> : tensor<1xf32>
  %other = qg.constant dense<0.6> : tensor<1xf32>
  %y = qg.matmul %xd, %wd : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
  %0 = qg.div %y, %root2 : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32>
  %1 = qg.erf %0 : tensor<3x2xf32>
  %2 = qg.add %1, %one : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32>
  %3 = qg.mul %y, %2 : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<3x2xf32>
  %4 = qg.mul %3, %half : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32>
  %v = qg.matmul %xd, %wd : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
  %5 = qg.div %v, %root2 : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32>
  %6 = qg.erf %5 : tensor<3x2xf32>
  %7 = qg.add %6, %one : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32>
  %8 = qg.mul %v, %7 : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<3x2xf32>
  %9 = qg.mul %8, %other : tensor<3x2xf32>, tensor<1xf32> -> tensor<3x2xf32>
  return %4, %1, %9 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}

// The fused values, worked out in Inputs/qlinear-requant.mlir,
// Inputs/qlinear-half.mlir (round half to even) and Inputs/qlinear-gelu.mlir
// (GELU from published normal CDF values).
// RUNFUSED-NOT: qg.gemm
// RUNFUSED: qg.qlinear
// RUNFUSED-NOT: qg.gemm
// REQUANT: 0.0
// REQUANT-NEXT: 4.0
// HALF: -4.0
// HALF-NEXT: 4.0
// GELUFUSED: qg.qlinear {{.*}} {activation = "gelu"}
// GELUFUSED-NOT: qg.erf
// (the nearest f32 values: -0.0155241629..., 3.99987339...)
// GELU: -0.01552416{{[0-9]+}}
// GELU-NEXT: 3.99987339{{[0-9]*}}

// FP8 (Inputs/qlinear-fp8.mlir): the [K, N] E4M3 weight is transposed to
// [N, K] as bytes at compile time, the bias and ReLU are absorbed, and the
// quantize after the layer is not: the result stays f32.
// FP8FUSED: qg.constant dense<{{\[}}[1.500000e+00, 2.500000e-01], [-2.000000e+00, 3.000000e+00], [4.480000e+02, -1.250000e-01]]> : tensor<3x2xf8E4M3FN> as tensor<3x2x!qg.quant<f8e4m3fn, axis = 0,
// FP8FUSED: qg.qlinear {{.*}} {clip_min = 0.000000e+00 : f32} : tensor<1x2x!qg.quant<f8e4m3fn, scale = 5.000000e-01>>, {{.*}}, tensor<3xf32> -> tensor<1x3xf32> loc(fused["mm", "bias", "act"])
// FP8FUSED-NEXT: qg.quantize
// FP8: 2.0
// FP8-NEXT: 3.0
// FP8-NEXT: 60.0
