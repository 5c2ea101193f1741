// RUN: qopt %s -split-input-file --qg-fold-transposes --qg-fuse-weight-only -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s

// MatMulNBits' form: transpose(dequantize([N, K] u4 blocked along K)).
// After the transpose folds, the matmul, its dequantize and the bias add
// become one qg.dequant_matmul with trans_b on the 4-bit constant.
// CHECK-LABEL: func.func @nbits
// CHECK-SAME: (%[[X:arg[0-9]+]]: tensor<4x32xf32>
// CHECK-DAG: %[[W:.*]] = qg.constant {{.*}} as tensor<3x32x!qg.quant<u4, axis = 1, block = 16
// CHECK-DAG: %[[B:.*]] = qg.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3xf32>
// CHECK-NOT: qg.dequantize
// CHECK-NOT: qg.matmul
// CHECK: %[[Y:.*]] = qg.dequant_matmul %[[X]], %[[W]], %[[B]] {trans_b = true} : tensor<4x32xf32>, tensor<3x32x!qg.quant<u4, {{.*}}>>, tensor<3xf32> -> tensor<4x3xf32> loc(fused["dq", "mm", "bias"])
// CHECK-NEXT: return %[[Y]]
func.func @nbits(%x: tensor<4x32xf32>) -> tensor<4x3xf32> {
  %w = qg.constant dense<[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], [15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0], [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]> : tensor<3x32xui4> as tensor<3x32x!qg.quant<u4, axis = 1, block = 16, scales = dense<[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]> : tensor<3x2xf32>, zero_points = dense<8> : tensor<3x2xi32>>>
  %d = qg.dequantize %w : tensor<3x32x!qg.quant<u4, axis = 1, block = 16, scales = dense<[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]> : tensor<3x2xf32>, zero_points = dense<8> : tensor<3x2xi32>>> -> tensor<3x32xf32> loc("dq")
  %t = qg.transpose %d {perm = array<i64: 1, 0>} : tensor<3x32xf32> -> tensor<32x3xf32> loc("t")
  %m = qg.matmul %x, %t : tensor<4x32xf32>, tensor<32x3xf32> -> tensor<4x3xf32> loc("mm")
  %b = qg.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %y = qg.add %m, %b : tensor<4x3xf32>, tensor<3xf32> -> tensor<4x3xf32> loc("bias")
  return %y : tensor<4x3xf32>
}

// -----

// [K, N] NF4 blocked along axis 0, used by two matmuls: both fuse, without
// trans_b, and the dequantize goes once unused. A per-tensor int8 weight
// fuses too (W8A16); a 4-bit weight blocked along N is left alone.
// CHECK-LABEL: func.func @shared
// CHECK-COUNT-2: qg.dequant_matmul %{{.*}} : tensor<2x32xf32>, tensor<32x3x!qg.quant<nf4
// CHECK-NOT: trans_b
// CHECK: qg.dequant_matmul %{{.*}} : tensor<2x32xf32>, tensor<32x3x!qg.quant<i8, scale = 1.000000e-01>> -> tensor<2x3xf32>
// CHECK-NOT: qg.dequantize {{.*}}!qg.quant<i8
// CHECK: qg.dequantize {{.*}}!qg.quant<u4, axis = 1
// CHECK: qg.matmul
func.func @shared(%x: tensor<2x32xf32>, %z: tensor<2x32xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x16xf32>) {
  %w = qg.constant dense<7> : tensor<32x3xui4> as tensor<32x3x!qg.quant<nf4, axis = 0, block = 16, scales = dense<[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]> : tensor<2x3xf32>>>
  %d = qg.dequantize %w : tensor<32x3x!qg.quant<nf4, axis = 0, block = 16, scales = dense<[[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]> : tensor<2x3xf32>>> -> tensor<32x3xf32>
  %a = qg.matmul %x, %d : tensor<2x32xf32>, tensor<32x3xf32> -> tensor<2x3xf32>
  %b = qg.matmul %z, %d : tensor<2x32xf32>, tensor<32x3xf32> -> tensor<2x3xf32>
  %w8 = qg.constant dense<7> : tensor<32x3xi8> as tensor<32x3x!qg.quant<i8, scale = 0.1>>
  %d8 = qg.dequantize %w8 : tensor<32x3x!qg.quant<i8, scale = 0.1>> -> tensor<32x3xf32>
  %c = qg.matmul %x, %d8 : tensor<2x32xf32>, tensor<32x3xf32> -> tensor<2x3xf32>
  %wn = qg.constant dense<7> : tensor<32x16xui4> as tensor<32x16x!qg.quant<u4, axis = 1, block = 16, scales = dense<0.5> : tensor<32x1xf32>>>
  %dn = qg.dequantize %wn : tensor<32x16x!qg.quant<u4, axis = 1, block = 16, scales = dense<0.5> : tensor<32x1xf32>>> -> tensor<32x16xf32>
  %e = qg.matmul %x, %dn : tensor<2x32xf32>, tensor<32x16xf32> -> tensor<2x16xf32>
  return %a, %b, %c, %e : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x16xf32>
}

// -----

// W8A16: uint8 per output channel with zero points, in the [N, K] layout
// (trans_b), and int8 in blocks along K fuse; int8 with its scales along K
// (per-axis on the reduction dimension) and i16 weights are left alone.
// CHECK-LABEL: func.func @w8
// CHECK: qg.dequant_matmul %{{.*}}, %{{.*}} {trans_b = true} : tensor<2x32xf32>, tensor<3x32x!qg.quant<u8, axis = 0, {{.*}}>> -> tensor<2x3xf32>
// CHECK: qg.dequant_matmul %{{.*}}, %{{.*}} : tensor<2x32xf32>, tensor<32x3x!qg.quant<i8, axis = 0, block = 16, {{.*}}>> -> tensor<2x3xf32>
// CHECK: qg.dequantize {{.*}}!qg.quant<i8, axis = 0, scales
// CHECK-NEXT: qg.matmul
// CHECK: qg.dequantize {{.*}}!qg.quant<i16
// CHECK-NEXT: qg.matmul
func.func @w8(%x: tensor<2x32xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %wu = qg.constant dense<200> : tensor<3x32xui8> as tensor<3x32x!qg.quant<u8, axis = 0, scales = dense<[0.1, 0.2, 0.3]> : tensor<3xf32>, zero_points = dense<[128, 120, 5]> : tensor<3xi32>>>
  %du = qg.dequantize %wu : tensor<3x32x!qg.quant<u8, axis = 0, scales = dense<[0.1, 0.2, 0.3]> : tensor<3xf32>, zero_points = dense<[128, 120, 5]> : tensor<3xi32>>> -> tensor<3x32xf32>
  %a = qg.matmul %x, %du {rhs_perm = array<i64: 1, 0>} : tensor<2x32xf32>, tensor<3x32xf32> -> tensor<2x3xf32>
  %wb = qg.constant dense<-7> : tensor<32x3xi8> as tensor<32x3x!qg.quant<i8, axis = 0, block = 16, scales = dense<0.5> : tensor<2x3xf32>>>
  %db = qg.dequantize %wb : tensor<32x3x!qg.quant<i8, axis = 0, block = 16, scales = dense<0.5> : tensor<2x3xf32>>> -> tensor<32x3xf32>
  %b = qg.matmul %x, %db : tensor<2x32xf32>, tensor<32x3xf32> -> tensor<2x3xf32>
  %wk = qg.constant dense<-7> : tensor<32x3xi8> as tensor<32x3x!qg.quant<i8, axis = 0, scales = dense<0.5> : tensor<32xf32>>>
  %dk = qg.dequantize %wk : tensor<32x3x!qg.quant<i8, axis = 0, scales = dense<0.5> : tensor<32xf32>>> -> tensor<32x3xf32>
  %c = qg.matmul %x, %dk : tensor<2x32xf32>, tensor<32x3xf32> -> tensor<2x3xf32>
  %w16 = qg.constant dense<-7> : tensor<32x3xi16> as tensor<32x3x!qg.quant<i16, scale = 0.5>>
  %d16 = qg.dequantize %w16 : tensor<32x3x!qg.quant<i16, scale = 0.5>> -> tensor<32x3xf32>
  %d = qg.matmul %x, %d16 : tensor<2x32xf32>, tensor<32x3xf32> -> tensor<2x3xf32>
  return %a, %b, %c, %d : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// ONNX Gemm, the linear layer: with trans_b and a bias C of [N] it fuses
// (C becomes the bias); alpha other than 1, or a C that is not [N], or
// beta other than 1 keep the gemm.
// CHECK-LABEL: func.func @gemm
// CHECK: %[[Y:.*]] = qg.dequant_matmul %{{.*}}, %{{.*}}, %{{.*}} {trans_b = true} : tensor<2x32xf32>, tensor<3x32x!qg.quant<i8, axis = 0, {{.*}}>>, tensor<3xf32> -> tensor<2x3xf32> loc(fused["dq", "fc"])
// CHECK: qg.gemm {{.*}} {alpha = 2.000000e+00 : f32, trans_b = true}
// CHECK: qg.gemm {{.*}} {beta = 5.000000e-01 : f32, trans_b = true}
// CHECK: qg.gemm {{.*}} tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NOT: qg.dequant_matmul
func.func @gemm(%x: tensor<2x32xf32>, %c2: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %w = qg.constant dense<-7> : tensor<3x32xi8> as tensor<3x32x!qg.quant<i8, axis = 0, scales = dense<[0.1, 0.2, 0.3]> : tensor<3xf32>>>
  %d = qg.dequantize %w : tensor<3x32x!qg.quant<i8, axis = 0, scales = dense<[0.1, 0.2, 0.3]> : tensor<3xf32>>> -> tensor<3x32xf32> loc("dq")
  %c = qg.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %a = qg.gemm %x, %d, %c {trans_b = true} : tensor<2x32xf32>, tensor<3x32xf32>, tensor<3xf32> -> tensor<2x3xf32> loc("fc")
  %b = qg.gemm %x, %d, %c {alpha = 2.0 : f32, trans_b = true} : tensor<2x32xf32>, tensor<3x32xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %e = qg.gemm %x, %d, %c {beta = 0.5 : f32, trans_b = true} : tensor<2x32xf32>, tensor<3x32xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %f = qg.gemm %x, %d, %c2 {trans_b = true} : tensor<2x32xf32>, tensor<3x32xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %a, %b, %e, %f : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// A 1-D activation (no row dimension) and a constant one stay ordinary
// matmuls: the kernels take rows computed at run time.
// CHECK-LABEL: func.func @rows
// CHECK-NOT: qg.dequant_matmul
// CHECK-COUNT-2: qg.matmul
func.func @rows(%v: tensor<32xf32>) -> (tensor<3xf32>, tensor<2x3xf32>) {
  %w = qg.constant dense<-7> : tensor<32x3xi8> as tensor<32x3x!qg.quant<i8, scale = 0.5>>
  %d = qg.dequantize %w : tensor<32x3x!qg.quant<i8, scale = 0.5>> -> tensor<32x3xf32>
  %a = qg.matmul %v, %d : tensor<32xf32>, tensor<32x3xf32> -> tensor<3xf32>
  %c = qg.constant dense<1.0> : tensor<2x32xf32>
  %b = qg.matmul %c, %d : tensor<2x32xf32>, tensor<32x3xf32> -> tensor<2x3xf32>
  return %a, %b : tensor<3xf32>, tensor<2x3xf32>
}
