// Integer layers with an activation in the epilogue and a quantized result:
// a matmul with a bias and GELU's tanh form, and a convolution with SiLU.
func.func @main(%x: tensor<3x2xf32> {qg.name = "x"}, %img: tensor<1x1x3x3xf32> {qg.name = "img"})
    -> (tensor<3x2x!qg.quant<u8, scale = 0.05, zero_point = 3>> {qg.name = "y"},
        tensor<1x2x2x2x!qg.quant<i8, scale = 0.1, zero_point = -5>> {qg.name = "z"}) {
  %xq = qg.quantize %x : tensor<3x2xf32> -> tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>>
  %xd = qg.dequantize %xq : tensor<3x2x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<3x2xf32>
  %wq = qg.constant dense<[[4, -8], [8, 16]]> : tensor<2x2xi8> as tensor<2x2x!qg.quant<i8, scale = 0.25>>
  %wd = qg.dequantize %wq : tensor<2x2x!qg.quant<i8, scale = 0.25>> -> tensor<2x2xf32>
  %y = qg.matmul %xd, %wd : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
  %b = qg.constant dense<[0.5, -1.0]> : tensor<2xf32>
  %yb = qg.add %y, %b : tensor<3x2xf32>, tensor<2xf32> -> tensor<3x2xf32>
  %g = qg.gelu %yb {approximate = "tanh"} : tensor<3x2xf32>
  %gq = qg.quantize %g : tensor<3x2xf32> -> tensor<3x2x!qg.quant<u8, scale = 0.05, zero_point = 3>>
  %iq = qg.quantize %img : tensor<1x1x3x3xf32> -> tensor<1x1x3x3x!qg.quant<u8, scale = 0.5, zero_point = 10>>
  %id = qg.dequantize %iq : tensor<1x1x3x3x!qg.quant<u8, scale = 0.5, zero_point = 10>> -> tensor<1x1x3x3xf32>
  %kq = qg.constant dense<1> : tensor<2x1x2x2xi8> as tensor<2x1x2x2x!qg.quant<i8, scale = 0.25>>
  %kd = qg.dequantize %kq : tensor<2x1x2x2x!qg.quant<i8, scale = 0.25>> -> tensor<2x1x2x2xf32>
  %c = qg.conv2d %id, %kd : tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32> -> tensor<1x2x2x2xf32>
  %cs = qg.silu %c : tensor<1x2x2x2xf32>
  %cq = qg.quantize %cs : tensor<1x2x2x2xf32> -> tensor<1x2x2x2x!qg.quant<i8, scale = 0.1, zero_point = -5>>
  return %gq, %cq : tensor<3x2x!qg.quant<u8, scale = 0.05, zero_point = 3>>, tensor<1x2x2x2x!qg.quant<i8, scale = 0.1, zero_point = -5>>
}
