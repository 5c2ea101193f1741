// W8A16 layers: x [1, 256] times int8 W [4, 256] per output channel in the
// transposed layout (MatMulNBits' [N, K]), x times uint8 W [256, 4] in
// blocks of 64 along K with zero points, and z [12, 256] (more rows than a
// GEMV takes) times the int8 weight again. qg-fuse-weight-only makes each a
// qg.dequant_matmul.
func.func @main(%x: tensor<1x256xf32> {qg.name = "x"}, %z: tensor<12x256xf32> {qg.name = "z"}) -> (tensor<1x4xf32> {qg.name = "y"}, tensor<1x4xf32> {qg.name = "u"}, tensor<12x4xf32> {qg.name = "v"}) {
  %w = qg.constant dense<-3> : tensor<4x256xi8> as tensor<4x256x!qg.quant<i8, axis = 0, scales = dense<[0.5, 0.25, 0.125, 1.0]> : tensor<4xf32>>>
  %d = qg.dequantize %w : tensor<4x256x!qg.quant<i8, axis = 0, scales = dense<[0.5, 0.25, 0.125, 1.0]> : tensor<4xf32>>> -> tensor<4x256xf32> loc("dq")
  %y = qg.matmul %x, %d {rhs_perm = array<i64: 1, 0>} : tensor<1x256xf32>, tensor<4x256xf32> -> tensor<1x4xf32> loc("mm")
  %wu = qg.constant dense<200> : tensor<256x4xui8> as tensor<256x4x!qg.quant<u8, axis = 0, block = 64, scales = dense<0.5> : tensor<4x4xf32>, zero_points = dense<128> : tensor<4x4xi32>>>
  %du = qg.dequantize %wu : tensor<256x4x!qg.quant<u8, axis = 0, block = 64, scales = dense<0.5> : tensor<4x4xf32>, zero_points = dense<128> : tensor<4x4xi32>>> -> tensor<256x4xf32> loc("dqu")
  %u = qg.matmul %x, %du : tensor<1x256xf32>, tensor<256x4xf32> -> tensor<1x4xf32> loc("mmu")
  %v = qg.matmul %z, %d {rhs_perm = array<i64: 1, 0>} : tensor<12x256xf32>, tensor<4x256xf32> -> tensor<12x4xf32> loc("mmv")
  return %y, %u, %v : tensor<1x4xf32>, tensor<1x4xf32>, tensor<12x4xf32>
}
