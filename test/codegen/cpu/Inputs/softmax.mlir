// An op the CPU backend does not lower yet.
func.func @main(%x: tensor<1x4xf32> {qg.name = "x"}) -> (tensor<1x4xf32> {qg.name = "y"}) {
  %y = qg.softmax %x : tensor<1x4xf32> loc("probs")
  return %y : tensor<1x4xf32>
}
