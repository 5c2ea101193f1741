// An op the CPU backend does not lower yet.
func.func @main(%x: tensor<1x4xf32> {qg.name = "x"}) -> (tensor<2x4xf32> {qg.name = "y"}) {
  %y = qg.concat %x, %x {axis = 0} : tensor<1x4xf32>, tensor<1x4xf32> -> tensor<2x4xf32> loc("joined")
  return %y : tensor<2x4xf32>
}
