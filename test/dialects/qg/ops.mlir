// The graph ops parse, verify and print; result types are checked against
// ONNX shape inference (a wrong result type is an error, see invalid.mlir).
// RUN: qopt %s -split-input-file | FileCheck %s
// RUN: qopt %s -split-input-file | qopt -split-input-file | FileCheck %s

// Broadcasting binary ops follow numpy rules.
// CHECK-LABEL: func @binary
// CHECK: qg.add %{{.*}}, %{{.*}} : tensor<2x1x4xf32>, tensor<3x1xf32> -> tensor<2x3x4xf32>
// CHECK: qg.sub {{.*}} -> tensor<4xf32>
// CHECK: qg.mul {{.*}} -> tensor<?x4xf32>
// CHECK: qg.div
// CHECK: qg.pow
// CHECK: qg.max
// CHECK: qg.min
func.func @binary(%a: tensor<2x1x4xf32>, %b: tensor<3x1xf32>, %c: tensor<4xf32>, %d: tensor<?x4xf32>) {
  %0 = qg.add %a, %b : tensor<2x1x4xf32>, tensor<3x1xf32> -> tensor<2x3x4xf32>
  %1 = qg.sub %c, %c : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %2 = qg.mul %d, %c : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %3 = qg.div %c, %c : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %4 = qg.pow %c, %c : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %5 = qg.max %c, %c : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %6 = qg.min %c, %c : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return
}

// -----

// Unary activations keep the operand type.
// CHECK-LABEL: func @unary
// CHECK: qg.relu
// CHECK: qg.gelu %{{.*}} {approximate = "tanh"}
// CHECK: qg.silu
// CHECK: qg.sigmoid
// CHECK: qg.tanh
// CHECK: qg.clip %{{.*}} {max = 6.000000e+00 : f32, min = 0.000000e+00 : f32}
// CHECK: qg.leaky_relu %{{.*}} {alpha = 2.000000e-01 : f32}
// CHECK: qg.exp
// CHECK: qg.sqrt
// CHECK: qg.erf
// CHECK: qg.neg
// CHECK: qg.abs
func.func @unary(%x: tensor<2x3xf32>) {
  %0 = qg.relu %x : tensor<2x3xf32>
  %1 = qg.gelu %x {approximate = "tanh"} : tensor<2x3xf32>
  %2 = qg.silu %x : tensor<2x3xf32>
  %3 = qg.sigmoid %x : tensor<2x3xf32>
  %4 = qg.tanh %x : tensor<2x3xf32>
  %5 = qg.clip %x {min = 0.0 : f32, max = 6.0 : f32} : tensor<2x3xf32>
  %6 = qg.leaky_relu %x {alpha = 0.2 : f32} : tensor<2x3xf32>
  %7 = qg.exp %x : tensor<2x3xf32>
  %8 = qg.sqrt %x : tensor<2x3xf32>
  %9 = qg.erf %x : tensor<2x3xf32>
  %10 = qg.neg %x : tensor<2x3xf32>
  %11 = qg.abs %x : tensor<2x3xf32>
  return
}

// -----

// Softmax and the normalizations of a transformer and a CNN.
// CHECK-LABEL: func @norms
// CHECK: qg.softmax %{{.*}} {axis = 1 : i64} : tensor<2x8xf32>
// CHECK: qg.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {epsilon = 9.99999996E-13 : f32} : tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>
// CHECK: qg.batch_norm {{.*}} : tensor<1x3x4x4xf32>, tensor<3xf32>
func.func @norms(%x: tensor<2x8xf32>, %g: tensor<8xf32>, %img: tensor<1x3x4x4xf32>, %c: tensor<3xf32>) {
  %0 = qg.softmax %x {axis = 1} : tensor<2x8xf32>
  %1 = qg.layer_norm %x, %g, %g {epsilon = 1.0e-12 : f32} : tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>
  %2 = qg.batch_norm %img, %c, %c, %c, %c : tensor<1x3x4x4xf32>, tensor<3xf32>
  return
}

// -----

// Matmul follows numpy: 1-D promotion, batch broadcasting.
// CHECK-LABEL: func @matmul
// CHECK: -> tensor<2x5xf32>
// CHECK: -> tensor<3x2x5xf32>
// CHECK: -> tensor<5xf32>
// CHECK: -> tensor<2xf32>
func.func @matmul(%a: tensor<2x4xf32>, %b: tensor<4x5xf32>, %c: tensor<3x1x2x4xf32>, %v: tensor<4xf32>, %bb: tensor<3x4x5xf32>) {
  %0 = qg.matmul %a, %b : tensor<2x4xf32>, tensor<4x5xf32> -> tensor<2x5xf32>
  %1 = qg.matmul %a, %bb : tensor<2x4xf32>, tensor<3x4x5xf32> -> tensor<3x2x5xf32>
  %2 = qg.matmul %v, %b : tensor<4xf32>, tensor<4x5xf32> -> tensor<5xf32>
  %3 = qg.matmul %a, %v : tensor<2x4xf32>, tensor<4xf32> -> tensor<2xf32>
  return
}

// -----

// Gemm with transposed B and a broadcast bias: the linear layer.
// CHECK-LABEL: func @gemm
// CHECK: qg.gemm %{{.*}}, %{{.*}}, %{{.*}} {trans_b = true} : tensor<2x4xf32>, tensor<5x4xf32>, tensor<5xf32> -> tensor<2x5xf32>
func.func @gemm(%a: tensor<2x4xf32>, %w: tensor<5x4xf32>, %b: tensor<5xf32>) -> tensor<2x5xf32> {
  %0 = qg.gemm %a, %w, %b {trans_b = true} : tensor<2x4xf32>, tensor<5x4xf32>, tensor<5xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

// Convolution and pooling output sizes (pooling in 1, 2 and 3 dimensions).
// CHECK-LABEL: func @conv_pool
// CHECK: qg.conv2d {{.*}} -> tensor<1x8x14x14xf32>
// CHECK: qg.conv2d {{.*}} -> tensor<1x8x28x28xf32>
// CHECK: qg.conv2d {{.*}} -> tensor<1x8x7x7xf32>
// CHECK: qg.max_pool {{.*}} -> tensor<1x8x14x14xf32>
// CHECK: qg.avg_pool {{.*}} -> tensor<1x8x10x10xf32>
// CHECK: qg.global_avg_pool {{.*}} -> tensor<1x8x1x1xf32>
// CHECK: qg.max_pool {{.*}} -> tensor<1x8x4x5x6xf32>
// CHECK: qg.avg_pool {{.*}} -> tensor<1x8x7xf32>
func.func @conv_pool(%x: tensor<1x4x28x28xf32>, %w: tensor<8x4x3x3xf32>, %dw: tensor<8x1x3x3xf32>, %b: tensor<8xf32>, %y: tensor<1x8x28x28xf32>, %v: tensor<1x8x8x10x12xf32>, %l: tensor<1x8x14xf32>) {
  %0 = qg.conv2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>} : tensor<1x4x28x28xf32>, tensor<8x4x3x3xf32>, tensor<8xf32> -> tensor<1x8x14x14xf32>
  %1 = qg.conv2d %y, %dw {group = 8 : i64, pads = array<i64: 1, 1, 1, 1>} : tensor<1x8x28x28xf32>, tensor<8x1x3x3xf32> -> tensor<1x8x28x28xf32>
  %2 = qg.conv2d %x, %w {strides = array<i64: 4, 4>, dilations = array<i64: 2, 2>, pads = array<i64: 2, 2, 1, 1>} : tensor<1x4x28x28xf32>, tensor<8x4x3x3xf32> -> tensor<1x8x7x7xf32>
  %3 = qg.max_pool %y {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x8x28x28xf32> -> tensor<1x8x14x14xf32>
  %4 = qg.avg_pool %y {kernel_shape = array<i64: 3, 3>, strides = array<i64: 3, 3>, ceil_mode = true} : tensor<1x8x28x28xf32> -> tensor<1x8x10x10xf32>
  %5 = qg.global_avg_pool %y : tensor<1x8x28x28xf32> -> tensor<1x8x1x1xf32>
  %6 = qg.max_pool %v {kernel_shape = array<i64: 2, 2, 2>, strides = array<i64: 2, 2, 2>} : tensor<1x8x8x10x12xf32> -> tensor<1x8x4x5x6xf32>
  %7 = qg.avg_pool %l {kernel_shape = array<i64: 3>, strides = array<i64: 2>, pads = array<i64: 1, 0>} : tensor<1x8x14xf32> -> tensor<1x8x7xf32>
  return
}

// -----

// Data movement.
// CHECK-LABEL: func @data
// CHECK: qg.reshape {{.*}} -> tensor<6x4xf32>
// CHECK: qg.transpose {{.*}} -> tensor<4x2x3xf32>
// CHECK: qg.concat {{.*}} -> tensor<2x6x4xf32>
// CHECK: qg.slice {{.*}} -> tensor<1x2x2xf32>
// CHECK: qg.slice {{.*}} -> tensor<2x3x4xf32>
// CHECK: qg.gather {{.*}} -> tensor<2x5x7x4xf32>
// CHECK: qg.reduce_mean {{.*}} -> tensor<2x3x1xf32>
// CHECK: qg.reduce_sum {{.*}} -> tensor<3xf32>
// CHECK: qg.reduce_sum {{.*}} -> tensor<1x1x1xf32>
func.func @data(%x: tensor<2x3x4xf32>, %i: tensor<5x7xi64>) {
  %0 = qg.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = qg.transpose %x {perm = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %2 = qg.concat %x, %x {axis = -2 : i64} : tensor<2x3x4xf32>, tensor<2x3x4xf32> -> tensor<2x6x4xf32>
  %3 = qg.slice %x {starts = array<i64: 1, 0, 0>, ends = array<i64: 2, 3, 4>, steps = array<i64: 1, 2, 2>} : tensor<2x3x4xf32> -> tensor<1x2x2xf32>
  %4 = qg.slice %x {starts = array<i64: 1, 2, 3>, ends = array<i64: -1, -1, -1>, steps = array<i64: -1, -1, -1>} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  %5 = qg.gather %x, %i {axis = 1 : i64} : tensor<2x3x4xf32>, tensor<5x7xi64> -> tensor<2x5x7x4xf32>
  %6 = qg.reduce_mean %x {axes = array<i64: -1>} : tensor<2x3x4xf32> -> tensor<2x3x1xf32>
  %7 = qg.reduce_sum %x {axes = array<i64: 0, 2>, keepdims = false} : tensor<2x3x4xf32> -> tensor<3xf32>
  %8 = qg.reduce_sum %x : tensor<2x3x4xf32> -> tensor<1x1x1xf32>
  return
}

// -----

// Cast, where and expand.
// CHECK-LABEL: func @select_cast_expand
// CHECK: qg.cast %{{.*}} : tensor<2x3xf32> -> tensor<2x3xi64>
// CHECK: qg.where %{{.*}}, %{{.*}}, %{{.*}} : tensor<3xi1>, tensor<2x3xf32>, tensor<1xf32> -> tensor<2x3xf32>
// CHECK: qg.expand %{{.*}} : tensor<3x1xf32> -> tensor<2x3x4xf32>
func.func @select_cast_expand(%x: tensor<2x3xf32>, %c: tensor<3xi1>, %s: tensor<1xf32>, %e: tensor<3x1xf32>) {
  %0 = qg.cast %x : tensor<2x3xf32> -> tensor<2x3xi64>
  %1 = qg.where %c, %x, %s : tensor<3xi1>, tensor<2x3xf32>, tensor<1xf32> -> tensor<2x3xf32>
  %2 = qg.expand %e : tensor<3x1xf32> -> tensor<2x3x4xf32>
  return
}
