// A 4-bit weight-only layer: x [1, 256] times uint4 W [256, 4] in blocks of
// 128 along K with a zero point, plus a bias: qg-fuse-weight-only makes it
// one qg.dequant_matmul.
func.func @main(%x: tensor<1x256xf32> {qg.name = "x"}) -> (tensor<1x4xf32> {qg.name = "y"}) {
  %w = qg.constant dense<3> : tensor<256x4xui4> as tensor<256x4x!qg.quant<u4, axis = 0, block = 128, scales = dense<0.5> : tensor<2x4xf32>, zero_points = dense<8> : tensor<2x4xi32>>>
  %d = qg.dequantize %w : tensor<256x4x!qg.quant<u4, axis = 0, block = 128, scales = dense<0.5> : tensor<2x4xf32>, zero_points = dense<8> : tensor<2x4xi32>>> -> tensor<256x4xf32> loc("dq")
  %m = qg.matmul %x, %d : tensor<1x256xf32>, tensor<256x4xf32> -> tensor<1x4xf32> loc("mm")
  %b = qg.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y = qg.add %m, %b : tensor<1x4xf32>, tensor<4xf32> -> tensor<1x4xf32> loc("bias")
  return %y : tensor<1x4xf32>
}
