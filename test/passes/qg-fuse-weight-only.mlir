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
// trans_b, and the dequantize goes once unused. An int8 weight (not 4-bit)
// and a 4-bit weight blocked along N are left alone.
// CHECK-LABEL: func.func @shared
// CHECK-COUNT-2: qg.dequant_matmul %{{.*}} : tensor<2x32xf32>, tensor<32x3x!qg.quant<nf4
// CHECK-NOT: trans_b
// CHECK: qg.dequantize {{.*}}!qg.quant<i8
// CHECK: qg.matmul
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
