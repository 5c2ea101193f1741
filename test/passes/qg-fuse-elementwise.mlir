// RUN: qopt %s -split-input-file --qg-fuse-elementwise -mlir-print-debuginfo -mlir-print-local-scope | FileCheck %s
// RUN: qopt %s -split-input-file --qg-fuse-elementwise | qopt -split-input-file | FileCheck %s --check-prefix=ROUNDTRIP

// GELU written out (as ONNX exporters write it) and its quantize become one
// op: x is used twice inside and is one input; the one-element constants
// move into the body; the location fuses the six nodes'.
// CHECK-LABEL: func.func @gelu
// CHECK-SAME: (%[[X:arg[0-9]+]]: tensor<16x64xf32>
// CHECK-NOT: qg.constant
// CHECK: %[[F:.*]] = qg.fused_elementwise %[[X]] : (tensor<16x64xf32>) -> tensor<16x64x!qg.quant<u8, scale = 1.000000e-01, zero_point = 3>> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<16x64xf32> loc({{.*}})):
// CHECK-DAG: qg.constant dense<0.707106769> : tensor<1xf32>
// CHECK-DAG: qg.constant dense<1.000000e+00> : tensor<1xf32>
// CHECK-DAG: qg.constant dense<5.000000e-01> : tensor<1xf32>
// CHECK: qg.mul %[[A]]
// CHECK: qg.erf
// CHECK: qg.mul %[[A]]
// CHECK: qg.add
// CHECK: qg.mul
// CHECK: %[[Q:.*]] = qg.quantize
// CHECK: qg.yield %[[Q]]
// CHECK-NEXT: } loc(fused["mul1", "erf", "mul2", "add", "mul3", "quantize"])
// CHECK-NEXT: return %[[F]]
// ROUNDTRIP-LABEL: func.func @gelu
// ROUNDTRIP: qg.fused_elementwise
// ROUNDTRIP: qg.yield
func.func @gelu(%x: tensor<16x64xf32>) -> tensor<16x64x!qg.quant<u8, scale = 0.1, zero_point = 3>> {
  %c0 = qg.constant dense<0.707106769> : tensor<1xf32>
  %c1 = qg.constant dense<1.0> : tensor<1xf32>
  %c2 = qg.constant dense<0.5> : tensor<1xf32>
  %1 = qg.mul %x, %c0 : tensor<16x64xf32>, tensor<1xf32> -> tensor<16x64xf32> loc("mul1")
  %2 = qg.erf %1 : tensor<16x64xf32> loc("erf")
  %3 = qg.mul %x, %c2 : tensor<16x64xf32>, tensor<1xf32> -> tensor<16x64xf32> loc("mul2")
  %4 = qg.add %2, %c1 : tensor<16x64xf32>, tensor<1xf32> -> tensor<16x64xf32> loc("add")
  %5 = qg.mul %3, %4 : tensor<16x64xf32>, tensor<16x64xf32> -> tensor<16x64xf32> loc("mul3")
  %6 = qg.quantize %5 : tensor<16x64xf32> -> tensor<16x64x!qg.quant<u8, scale = 0.1, zero_point = 3>> loc("quantize")
  return %6 : tensor<16x64x!qg.quant<u8, scale = 0.1, zero_point = 3>>
}

// -----

// A value used outside the chain stays a tensor and is an input of the
// fused op after it; a lone op is left alone; a bias [64] is an input read
// with broadcasting; the softmax (not elementwise) splits the chains.
// CHECK-LABEL: func.func @split
// CHECK-SAME: (%[[X:arg[0-9]+]]: tensor<4x64xf32> {{.*}}, %[[B:arg[0-9]+]]: tensor<64xf32>
// CHECK: %[[S:.*]] = qg.add %[[X]], %[[B]] {{.*}}loc("shared")
// CHECK: %[[SM:.*]] = qg.softmax %[[S]]
// CHECK: %[[F:.*]] = qg.fused_elementwise %[[SM]], %[[S]] : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
// CHECK: qg.relu
// CHECK: qg.mul
// CHECK: } loc(fused["relu", "mul"])
// CHECK: %[[T:.*]] = qg.tanh %[[F]] {{.*}}loc("lone")
func.func @split(%x: tensor<4x64xf32>, %b: tensor<64xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %s = qg.add %x, %b : tensor<4x64xf32>, tensor<64xf32> -> tensor<4x64xf32> loc("shared")
  %sm = qg.softmax %s {axis = 1} : tensor<4x64xf32> loc("softmax")
  %r = qg.relu %sm : tensor<4x64xf32> loc("relu")
  %m = qg.mul %r, %s : tensor<4x64xf32>, tensor<4x64xf32> -> tensor<4x64xf32> loc("mul")
  %t = qg.tanh %m : tensor<4x64xf32> loc("lone")
  %u = qg.add %m, %x : tensor<4x64xf32>, tensor<4x64xf32> -> tensor<4x64xf32> loc("other")
  return %t, %u : tensor<4x64xf32>, tensor<4x64xf32>
}
