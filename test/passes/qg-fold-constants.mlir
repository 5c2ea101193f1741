// Constant folding through the reference interpreter.
// RUN: qopt %s -split-input-file --qg-fold-constants | FileCheck %s

// 2 * 3 + 1 = 7, element by element.
// CHECK-LABEL: func @arithmetic
// CHECK: %[[C:.*]] = qg.constant dense<7.000000e+00> : tensor<2xf32>
// CHECK-NOT: qg.mul
// CHECK: qg.add %arg0, %[[C]]
func.func @arithmetic(%x: tensor<2xf32>) -> tensor<2xf32> {
  %a = qg.constant dense<2.0> : tensor<2xf32>
  %b = qg.constant dense<3.0> : tensor<2xf32>
  %c = qg.constant dense<1.0> : tensor<2xf32>
  %ab = qg.mul %a, %b : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %abc = qg.add %ab, %c : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  %y = qg.add %x, %abc : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// A dequantized weight stays quantized: folding it would undo quantization.
// CHECK-LABEL: func @dequantize
// CHECK: qg.dequantize
func.func @dequantize() -> tensor<2xf32> {
  %q = qg.constant dense<[2, 4]> : tensor<2xi8> as tensor<2x!qg.quant<i8, scale = 0.5>>
  %d = qg.dequantize %q : tensor<2x!qg.quant<i8, scale = 0.5>> -> tensor<2xf32>
  return %d : tensor<2xf32>
}
