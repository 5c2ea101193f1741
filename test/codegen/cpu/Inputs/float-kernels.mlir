// Float kernels the CPU backend vectorizes: GELU (erf), softmax (exp, then
// a reassociable sum) and a matmul whose result rows are walked by vectors.
func.func @main(%x: tensor<4x64xf32> {qg.name = "x"}, %w: tensor<64x48xf32> {qg.name = "w"})
    -> (tensor<4x64xf32> {qg.name = "g"}, tensor<4x64xf32> {qg.name = "s"}, tensor<4x48xf32> {qg.name = "y"}) {
  %g = qg.gelu %x : tensor<4x64xf32>
  %s = qg.softmax %x {axis = 1} : tensor<4x64xf32>
  %y = qg.matmul %x, %w : tensor<4x64xf32>, tensor<64x48xf32> -> tensor<4x48xf32>
  return %g, %s, %y : tensor<4x64xf32>, tensor<4x64xf32>, tensor<4x48xf32>
}
