// Input of qg-fuse-quantized-layers.mlir: fused, then run by qrun --reference.
// x = [1, 2] quantizes to u8 codes [12, 14] (scale 0.5, zero point 10);
// W = [[1, -2], [1, 2]] is stored as codes [[4, -8], [8, 16]] with row
// scales [0.25, 0.125]. acc = [2*4 + 4*-8, 2*8 + 4*16] = [-24, 80], the
// i32 bias is [0.5 / 0.125, -1 / 0.0625] = [4, -16], so the codes are
// round([-20 * 0.25, 64 * 0.125]) + 3 = [-2, 11], and ReLU raises -2 to the
// zero point 3. Dequantized: [0, 4].
func.func @main(%x: tensor<1x2xf32> {qg.name = "x"}) -> (tensor<1x2xf32> {qg.name = "y"}) {
  %xq = qg.quantize %x : tensor<1x2xf32> -> tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>
  %xd = qg.dequantize %xq : tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<1x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>> -> tensor<2x2xf32>
  %b = qg.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %y = qg.gemm %xd, %wd, %b {trans_b = true} : tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<1x2xf32>
  %r = qg.relu %y : tensor<1x2xf32>
  %q = qg.quantize %r : tensor<1x2xf32> -> tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 3>>
  %d = qg.dequantize %q : tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 3>> -> tensor<1x2xf32>
  return %d : tensor<1x2xf32>
}
