// SmoothQuant scales s = max|x|^a / max|W row|^(1-a), a = 0.5, worked out by
// hand. The float function is unchanged: x / s times s * W.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/write_npy.py %t/x.npy 1x2 "1,4"
// RUN: qopt %s -split-input-file --qg-calibrate="data=%t/x.npy save=%t/stats.bin progress=false" --qg-smooth-quant="stats=%t/stats.bin" | FileCheck %s
// RUN: not qopt %s -split-input-file --qg-smooth-quant 2>&1 | FileCheck %s --check-prefix=NOSTATS
// RUN: not qopt %s -split-input-file --qg-smooth-quant="stats=%t/stats.bin alpha=2" 2>&1 | FileCheck %s --check-prefix=ALPHA
// NOSTATS: qg-smooth-quant: needs stats=<file> from qg-calibrate
// ALPHA: alpha must be in [0, 1], got 2

// On a function argument: max|x| = [1, 4], row max of W = [1, 1] ->
// s = [1, 2]; x is multiplied by 1/s = [1, 0.5] before the matmul.
// CHECK-LABEL: func @argument
// CHECK: %[[INV:.*]] = qg.constant dense<[1.000000e+00, 5.000000e-01]> : tensor<2xf32>
// CHECK: %[[X:.*]] = qg.mul %arg0, %[[INV]]
// CHECK: %[[W:.*]] = qg.constant dense<{{\[}}[1.000000e+00], [2.000000e+00]]> : tensor<2x1xf32>
// CHECK: qg.matmul %[[X]], %[[W]]
func.func @argument(%x: tensor<1x2xf32> {qg.name = "x"}) -> tensor<1x1xf32> {
  %w = qg.constant dense<[[1.0], [1.0]]> : tensor<2x1xf32>
  %y = qg.matmul %x, %w : tensor<1x2xf32>, tensor<2x1xf32> -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}

// -----

// After a layer norm (epsilon 0, gamma 1, beta [0, 3]): x = [1, 4]
// normalizes to [-1, 1] and comes out as [-1, 4], so max|x| = [1, 4]; row
// max of W = [1, 16] -> s = [1, 0.5]. The scales fold into gamma and beta
// (divided by s) and no mul appears.
// CHECK-LABEL: func @layer_norm
// CHECK-DAG: %[[G:.*]] = qg.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[B:.*]] = qg.constant dense<[0.000000e+00, 6.000000e+00]> : tensor<2xf32>
// CHECK: %[[N:.*]] = qg.layer_norm %arg0, %[[G]], %[[B]]
// CHECK-NOT: qg.mul
// CHECK: %[[W:.*]] = qg.constant dense<{{\[}}[1.000000e+00], [8.000000e+00]]> : tensor<2x1xf32>
// CHECK-NOT: qg.mul
// CHECK: qg.matmul %[[N]], %[[W]]
func.func @layer_norm(%x: tensor<1x2xf32> {qg.name = "x"}) -> tensor<1x1xf32> {
  %g = qg.constant dense<1.0> : tensor<2xf32>
  %b = qg.constant dense<[0.0, 3.0]> : tensor<2xf32>
  %w = qg.constant dense<[[1.0], [16.0]]> : tensor<2x1xf32>
  %n = qg.layer_norm %x, %g, %b {epsilon = 0.0 : f32} : tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>
  %y = qg.matmul %n, %w : tensor<1x2xf32>, tensor<2x1xf32> -> tensor<1x1xf32>
  return %y : tensor<1x1xf32>
}
