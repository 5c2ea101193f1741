// concat, a reversing strided slice and expand, whose results are worked
// out by hand in data-movement.test.
func.func @main(%x: tensor<2x3xf32> {qg.name = "x"}, %r: tensor<1x3xf32> {qg.name = "r"})
    -> (tensor<2x6xf32> {qg.name = "joined"}, tensor<2x2xf32> {qg.name = "picked"},
        tensor<2x3xf32> {qg.name = "spread"}) {
  %j = qg.concat %x, %x {axis = 1} : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x6xf32>
  // Rows 1 then 0; columns 2 then 0.
  %p = qg.slice %x {starts = array<i64: 1, 2>, ends = array<i64: -1, -1>, steps = array<i64: -1, -2>} : tensor<2x3xf32> -> tensor<2x2xf32>
  %e = qg.expand %r : tensor<1x3xf32> -> tensor<2x3xf32>
  return %j, %p, %e : tensor<2x6xf32>, tensor<2x2xf32>, tensor<2x3xf32>
}
