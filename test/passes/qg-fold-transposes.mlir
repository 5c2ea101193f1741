// RUN: qopt %s -split-input-file --qg-fold-transposes -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s

// Attention's K^T: the transpose becomes rhs_perm and is erased; Q's becomes
// lhs_perm. The matmul keeps its own location.
// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:arg[0-9]+]]: tensor<1x16x12x32xf32> {{.*}}, %[[K:arg[0-9]+]]: tensor<1x16x12x32xf32>
// CHECK-NOT: qg.transpose
// CHECK: qg.matmul %[[Q]], %[[K]] {lhs_perm = array<i64: 0, 2, 1, 3>, rhs_perm = array<i64: 0, 2, 3, 1>} : tensor<1x16x12x32xf32>, tensor<1x16x12x32xf32> -> tensor<1x12x16x16xf32> loc("scores")
func.func @attention(%q: tensor<1x16x12x32xf32>, %k: tensor<1x16x12x32xf32>) -> tensor<1x12x16x16xf32> {
  %qt = qg.transpose %q {perm = array<i64: 0, 2, 1, 3>} : tensor<1x16x12x32xf32> -> tensor<1x12x16x32xf32>
  %kt = qg.transpose %k {perm = array<i64: 0, 2, 3, 1>} : tensor<1x16x12x32xf32> -> tensor<1x12x32x16xf32>
  %s = qg.matmul %qt, %kt : tensor<1x12x16x32xf32>, tensor<1x12x32x16xf32> -> tensor<1x12x16x16xf32> loc("scores")
  return %s : tensor<1x12x16x16xf32>
}

// -----

// Two transposes in a row compose ([1, 2, 0] then [2, 0, 1] is the
// identity, so no perm is left); a transpose with another user stays.
// CHECK-LABEL: func.func @compose
// CHECK-SAME: (%[[X:arg[0-9]+]]: tensor<2x3x4xf32> {{.*}}, %[[Y:arg[0-9]+]]: tensor<2x5x3xf32>
// CHECK: %[[A:.*]] = qg.transpose %[[X]] {perm = array<i64: 1, 2, 0>}
// CHECK-NEXT: %[[M:.*]] = qg.matmul %[[Y]], %[[X]] : tensor<2x5x3xf32>, tensor<2x3x4xf32>
// CHECK-NEXT: return %[[M]], %[[A]]
func.func @compose(%x: tensor<2x3x4xf32>, %y: tensor<2x5x3xf32>) -> (tensor<2x5x4xf32>, tensor<3x4x2xf32>) {
  %a = qg.transpose %x {perm = array<i64: 1, 2, 0>} : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %b = qg.transpose %a {perm = array<i64: 2, 0, 1>} : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  %m = qg.matmul %y, %b : tensor<2x5x3xf32>, tensor<2x3x4xf32> -> tensor<2x5x4xf32>
  return %m, %a : tensor<2x5x4xf32>, tensor<3x4x2xf32>
}

// -----

// Gemm's B transposed in 2-D toggles trans_b; a transposed A with trans_a
// set turns it off.
// CHECK-LABEL: func.func @gemm
// CHECK-SAME: (%[[A:arg[0-9]+]]: tensor<5x3xf32> {{.*}}, %[[B:arg[0-9]+]]: tensor<7x3xf32>
// CHECK-NOT: qg.transpose
// CHECK: qg.gemm %[[A]], %[[B]] {trans_b = true} : tensor<5x3xf32>, tensor<7x3xf32> -> tensor<5x7xf32>
func.func @gemm(%a: tensor<5x3xf32>, %b: tensor<7x3xf32>) -> tensor<5x7xf32> {
  %at = qg.transpose %a {perm = array<i64: 1, 0>} : tensor<5x3xf32> -> tensor<3x5xf32>
  %bt = qg.transpose %b {perm = array<i64: 1, 0>} : tensor<7x3xf32> -> tensor<3x7xf32>
  %g = qg.gemm %at, %bt {trans_a = true} : tensor<3x5xf32>, tensor<3x7xf32> -> tensor<5x7xf32>
  return %g : tensor<5x7xf32>
}
