// The written-out GELU of BERT-like exports followed by a quantize:
// qg-fuse-elementwise makes one kernel of it.
func.func @main(%x: tensor<2x8xf32> {qg.name = "x"}) -> (tensor<2x8x!qg.quant<u8, scale = 0.05, zero_point = 20>> {qg.name = "y"}) {
  %c1 = qg.constant dense<0.707106769> : tensor<f32>
  %c2 = qg.constant dense<1.0> : tensor<f32>
  %c3 = qg.constant dense<0.5> : tensor<f32>
  %a = qg.mul %x, %c1 : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32> loc("mul1")
  %e = qg.erf %a : tensor<2x8xf32> loc("erf")
  %p = qg.add %e, %c2 : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32> loc("add")
  %h = qg.mul %x, %p : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32> loc("mul2")
  %g = qg.mul %h, %c3 : tensor<2x8xf32>, tensor<f32> -> tensor<2x8xf32> loc("mul3")
  %q = qg.quantize %g : tensor<2x8xf32> -> tensor<2x8x!qg.quant<u8, scale = 0.05, zero_point = 20>> loc("quantize")
  return %q : tensor<2x8x!qg.quant<u8, scale = 0.05, zero_point = 20>>
}
