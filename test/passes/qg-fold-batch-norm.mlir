// Batch norm folded into the conv or gemm before it. Values worked out by
// hand: f = scale / sqrt(var + eps), W' = W * f, b' = (b - mean) * f + bias.
// RUN: qopt %s -split-input-file --qg-fold-batch-norm | FileCheck %s

// Conv without bias: scale 3, bias 1, mean 0.5, var 3, eps 1 -> f = 1.5,
// W' = 2 * 1.5 = 3, b' = (0 - 0.5) * 1.5 + 1 = 0.25.
// CHECK-LABEL: func @conv
// CHECK-DAG: %[[W:.*]] = qg.constant dense<3.000000e+00> : tensor<1x1x1x1xf32>
// CHECK-DAG: %[[B:.*]] = qg.constant dense<2.500000e-01> : tensor<1xf32>
// CHECK: %[[Y:.*]] = qg.conv2d %arg0, %[[W]], %[[B]]
// CHECK-NOT: qg.batch_norm
// CHECK: return %[[Y]]
func.func @conv(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32> {
  %w = qg.constant dense<2.0> : tensor<1x1x1x1xf32>
  %s = qg.constant dense<3.0> : tensor<1xf32>
  %b = qg.constant dense<1.0> : tensor<1xf32>
  %m = qg.constant dense<0.5> : tensor<1xf32>
  %v = qg.constant dense<3.0> : tensor<1xf32>
  %y = qg.conv2d %x, %w : tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32> -> tensor<1x1x2x2xf32>
  %z = qg.batch_norm %y, %s, %b, %m, %v {epsilon = 1.0 : f32} : tensor<1x1x2x2xf32>, tensor<1xf32>
  return %z : tensor<1x1x2x2xf32>
}

// -----

// Gemm with trans_b and C: channel n is row n of B. scale [2, 1], bias 0,
// mean [1, 0], var [3, 0], eps 1 -> f = [1, 1]; C' = (C - mean) * f.
// CHECK-LABEL: func @gemm
// CHECK-DAG: qg.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: qg.constant dense<[4.000000e+00, 6.000000e+00]> : tensor<2xf32>
// CHECK: qg.gemm
// CHECK-NOT: qg.batch_norm
func.func @gemm(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = qg.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %c = qg.constant dense<[5.0, 6.0]> : tensor<2xf32>
  %s = qg.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %b = qg.constant dense<0.0> : tensor<2xf32>
  %m = qg.constant dense<[1.0, 0.0]> : tensor<2xf32>
  %v = qg.constant dense<[3.0, 0.0]> : tensor<2xf32>
  %y = qg.gemm %x, %w, %c {trans_b = true} : tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<1x2xf32>
  %z = qg.batch_norm %y, %s, %b, %m, %v {epsilon = 1.0 : f32} : tensor<1x2xf32>, tensor<2xf32>
  return %z : tensor<1x2xf32>
}

// -----

// A conv with another user keeps its batch norm.
// CHECK-LABEL: func @shared
// CHECK: qg.batch_norm
func.func @shared(%x: tensor<1x1x2x2xf32>) -> (tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>) {
  %w = qg.constant dense<2.0> : tensor<1x1x1x1xf32>
  %s = qg.constant dense<3.0> : tensor<1xf32>
  %y = qg.conv2d %x, %w : tensor<1x1x2x2xf32>, tensor<1x1x1x1xf32> -> tensor<1x1x2x2xf32>
  %z = qg.batch_norm %y, %s, %s, %s, %s : tensor<1x1x2x2xf32>, tensor<1xf32>
  return %y, %z : tensor<1x1x2x2xf32>, tensor<1x1x2x2xf32>
}
