// An FP8 E4M3 layer: x [4, 32] quantized to E4M3 (scale 0.05) times the
// E4M3 weight [8, 32] (gemm with trans_b, per-row scales), plus C, then
// GELU. qg-fuse makes one FP8 qg.qlinear with an f32 result; K = 32 rows
// load 16 bytes at a time.
func.func @main(%x: tensor<4x32xf32> {qg.name = "x"}) -> (tensor<4x8xf32> {qg.name = "y"}) {
  %xq = qg.quantize %x : tensor<4x32xf32> -> tensor<4x32x!qg.quant<f8e4m3fn, scale = 0.05>>
  %xd = qg.dequantize %xq : tensor<4x32x!qg.quant<f8e4m3fn, scale = 0.05>> -> tensor<4x32xf32>
  %wq = qg.constant dense<1.5> : tensor<8x32xf8E4M3FN> as tensor<8x32x!qg.quant<f8e4m3fn, axis = 0, scales = [0.5, 0.25, 0.125, 1.0, 2.0, 0.5, 0.25, 0.125]>>
  %wd = qg.dequantize %wq : tensor<8x32x!qg.quant<f8e4m3fn, axis = 0, scales = [0.5, 0.25, 0.125, 1.0, 2.0, 0.5, 0.25, 0.125]>> -> tensor<8x32xf32>
  %c = qg.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  %y = qg.gemm %xd, %wd, %c {trans_b = true} : tensor<4x32xf32>, tensor<8x32xf32>, tensor<8xf32> -> tensor<4x8xf32> loc("fc")
  %g = qg.gelu %y : tensor<4x8xf32> loc("act")
  return %g : tensor<4x8xf32>
}
