// dequantize -> conv2d (+bias) -> relu, fused into qg.qconv2d. Worked by
// hand: x = [[1,2,3],[4,5,6],[7,8,9]] quantizes exactly to codes 2x + 10;
// the weight codes [[1,2],[3,4]] at scale 0.25 are the float weight, so the
// integer result equals the float convolution: with one row of padding on
// top and one column on the left, y = sum(window * [[1,2],[3,4]]) / 4 + 0.5:
// [[1.5, 3.25, 5], [5, 9.75, 12.25], [9.5, 17.25, 19.75]].
func.func @main(%x: tensor<1x1x3x3xf32> {qg.name = "x"}) -> (tensor<1x1x3x3xf32> {qg.name = "y"}) {
  %xq = qg.quantize %x : tensor<1x1x3x3xf32> -> tensor<1x1x3x3x!qg.quant<u8, scale = 0.5, zero_point = 10>> loc("xq")
  %xd = qg.dequantize %xq : tensor<1x1x3x3x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<1x1x3x3xf32> loc("xd")
  %wq = qg.constant dense<[[[[1, 2], [3, 4]]]]> : tensor<1x1x2x2xi8> as tensor<1x1x2x2x!qg.quant<i8, axis = 0, scales = [0.25]>>
  %wd = qg.dequantize %wq : tensor<1x1x2x2x!qg.quant<i8, axis = 0, scales = [0.25]>> -> tensor<1x1x2x2xf32>
  %b = qg.constant dense<[0.5]> : tensor<1xf32>
  %y = qg.conv2d %xd, %wd, %b {pads = array<i64: 1, 1, 0, 0>} : tensor<1x1x3x3xf32>, tensor<1x1x2x2xf32>, tensor<1xf32> -> tensor<1x1x3x3xf32> loc("conv")
  %r = qg.relu %y : tensor<1x1x3x3xf32> loc("relu")
  return %r : tensor<1x1x3x3xf32>
}
