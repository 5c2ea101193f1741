// An op the CPU backend does not lower yet.
func.func @main(%x: tensor<1x4xf32> {qg.name = "x"}) -> (tensor<1x4xui8> {qg.name = "y"}, tensor<f32> {qg.name = "s"}, tensor<ui8> {qg.name = "z"}) {
  %y, %s, %z = qg.dynamic_quantize %x : tensor<1x4xf32> -> tensor<1x4xui8>, tensor<f32>, tensor<ui8> loc("dq")
  return %y, %s, %z : tensor<1x4xui8>, tensor<f32>, tensor<ui8>
}
