// Input of qg-fuse-quantized-layers.mlir: fused, then run by qrun --reference.
// The layer of qlinear-requant.mlir, y = [-3, 5] + bias [0.5, -1] =
// [-2.5, 4] exactly in f32, followed by GELU written out as PyTorch exports
// it. GELU(x) = x * Phi(x) with the published normal CDF values
// Phi(-2.5) = 0.0062096653257761 and Phi(4) = 0.9999683287581669, so the
// result is [-0.0155241633144, 3.9998733150327].
func.func @main(%x: tensor<1x2xf32> {qg.name = "x"}) -> (tensor<1x2xf32> {qg.name = "y"}) {
  %xq = qg.quantize %x : tensor<1x2xf32> -> tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>
  %xd = qg.dequantize %xq : tensor<1x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<1x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, axis = 0, scales = [0.25, 0.125]>> -> tensor<2x2xf32>
  %b = qg.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %y = qg.gemm %xd, %wd, %b {trans_b = true} : tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32> -> tensor<1x2xf32>
  %root2 = qg.constant dense<1.41421354> : tensor<1xf32>
  %one = qg.constant dense<1.0> : tensor<1xf32>
  %half = qg.constant dense<0.5> : tensor<1xf32>
  %0 = qg.div %y, %root2 : tensor<1x2xf32>, tensor<1xf32> -> tensor<1x2xf32>
  %1 = qg.erf %0 : tensor<1x2xf32>
  %2 = qg.add %1, %one : tensor<1x2xf32>, tensor<1xf32> -> tensor<1x2xf32>
  %3 = qg.mul %y, %2 : tensor<1x2xf32>, tensor<1x2xf32> -> tensor<1x2xf32>
  %4 = qg.mul %3, %half : tensor<1x2xf32>, tensor<1xf32> -> tensor<1x2xf32>
  return %4 : tensor<1x2xf32>
}
