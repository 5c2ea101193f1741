// Input of qg-fuse-quantized-layers.mlir: fused, then run by qrun --reference.
// The same product without bias into i8 with scale 2: acc * s / 2 is
// [-24 * 0.0625, 80 * 0.03125] = [-1.5, 2.5], which rounds half to even to
// [-2, 2] (half away from zero would give [-2, 3]). Dequantized: [-4, 4].
func.func @main(%x: tensor<1x2xf32> {qg.name = "x"}) -> (tensor<1x2xf32> {qg.name = "y"}) {
  %xq = qg.quantize %x : tensor<1x2xf32> -> tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>
  %xd = qg.dequantize %xq : tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<1x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>> -> tensor<2x2xf32>
  %y = qg.gemm %xd, %wd {trans_b = true} : tensor<1x2xf32>, tensor<2x2xf32> -> tensor<1x2xf32>
  %q = qg.quantize %y : tensor<1x2xf32> -> tensor<1x2x!qg.quant<i8, scale = 2.0>>
  %d = qg.dequantize %q : tensor<1x2x!qg.quant<i8, scale = 2.0>> -> tensor<1x2xf32>
  return %d : tensor<1x2xf32>
}
