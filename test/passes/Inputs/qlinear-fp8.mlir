// Input of qg-fuse-quantized-layers.mlir: an FP8 E4M3 layer, fused, then
// run by qrun --reference. x = [1, 2] quantizes with scale 0.5 to the FP8
// values [2, 4]; W is [K = 2, N = 3] FP8 with scales [0.5, 0.25, 0.125]
// along N, so
//   y0 = (2 * 1.5 + 4 * 0.25)   * 0.5 * 0.5   + 1 = 2
//   y1 = (2 * -2 + 4 * 3)       * 0.5 * 0.25  + 2 = 3
//   y2 = (2 * 448 + 4 * -0.125) * 0.5 * 0.125 + 3 = 58.96875
// (448 is E4M3's largest value), then ReLU changes nothing. The quantize
// after it (FP8 again, scale 1) stays a separate op, as FP8 layers end in
// f32: it rounds 58.96875 to 60, E4M3's nearest value (steps of 4 between
// 32 and 64), so z = [2, 3, 60].
func.func @main(%x: tensor<1x2xf32> {qg.name = "x"}) -> (tensor<1x3xf32> {qg.name = "z"}) {
  %xq = qg.quantize %x : tensor<1x2xf32> -> tensor<1x2x!qg.quant<f8e4m3fn, scale = 0.5>>
  %xd = qg.dequantize %xq : tensor<1x2x!qg.quant<f8e4m3fn, scale = 0.5>> -> tensor<1x2xf32>
  %wq = qg.constant dense<[[1.5, -2.0, 448.0], [0.25, 3.0, -0.125]]> : tensor<2x3xf8E4M3FN> as tensor<2x3x!qg.quant<f8e4m3fn, axis = 1, scales = [0.5, 0.25, 0.125]>>
  %wd = qg.dequantize %wq : tensor<2x3x!qg.quant<f8e4m3fn, axis = 1, scales = [0.5, 0.25, 0.125]>> -> tensor<2x3xf32>
  %m = qg.matmul %xd, %wd : tensor<1x2xf32>, tensor<2x3xf32> -> tensor<1x3xf32> loc("mm")
  %b = qg.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %y = qg.add %m, %b : tensor<1x3xf32>, tensor<3xf32> -> tensor<1x3xf32> loc("bias")
  %r = qg.relu %y : tensor<1x3xf32> loc("act")
  %q = qg.quantize %r : tensor<1x3xf32> -> tensor<1x3x!qg.quant<f8e4m3fn, scale = 1.0>>
  %z = qg.dequantize %q : tensor<1x3x!qg.quant<f8e4m3fn, scale = 1.0>> -> tensor<1x3xf32>
  return %z : tensor<1x3xf32>
}
