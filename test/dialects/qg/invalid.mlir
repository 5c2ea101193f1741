// Every diagnostic of the qg types and ops, each triggered once.
// RUN: qopt %s -split-input-file -verify-diagnostics

// Unknown storage format.
// expected-error@+1 {{unknown quantized format 'i3'; expected i8, u8, i4, u4, i16, u16, nf4, f8e4m3fn or f8e5m2}}
func.func private @f(tensor<4x!qg.quant<i3, scale = 1.0>>)

// -----

// A key given twice.
// expected-error@+1 {{'axis' is given twice}}
func.func private @f(tensor<4x!qg.quant<i8, axis = 0, axis = 0, scales = [1.0]>>)

// -----

// A key the type does not know.
// expected-error@+1 {{unknown key 'zp'; expected axis, block, scale(s), zero_point(s), dq_block or dq_scales}}
func.func private @f(tensor<4x!qg.quant<i8, scale = 1.0, zp = 3>>)

// -----

// Both spellings of the scale.
// expected-error@+1 {{give either 'scale' or 'scales', not both}}
func.func private @f(tensor<4x!qg.quant<i8, scale = 1.0, scales = [1.0]>>)

// -----

// Both spellings of the zero point.
// expected-error@+1 {{give either 'zero_point' or 'zero_points', not both}}
func.func private @f(tensor<4x!qg.quant<u8, scale = 1.0, zero_point = 1, zero_points = [1]>>)

// -----

// No scale at all.
// expected-error@+1 {{quantized type needs 'scale' or 'scales'}}
func.func private @f(tensor<4x!qg.quant<i8>>)

// -----

// A zero point beyond 32 bits.
// expected-error@+1 {{zero point does not fit in 32 bits}}
func.func private @f(tensor<4x!qg.quant<u8, scale = 1.0, zero_point = 99999999999>>)

// -----

// A table that is neither a list nor an elements attribute.
// expected-error@+1 {{expected a list or an elements attribute}}
func.func private @f(tensor<4x!qg.quant<i8, axis = 0, scales = "x">>)

// -----

// Negative axis.
// expected-error@+1 {{axis must be non-negative, got -2}}
func.func private @f(tensor<4x!qg.quant<i8, axis = -2, scales = [1.0]>>)

// -----

// Negative block size.
// expected-error@+1 {{block size must be positive, got -4}}
func.func private @f(tensor<4x!qg.quant<i8, axis = 0, block = -4, scales = [1.0]>>)

// -----

// A block size without an axis to block along.
// expected-error@+1 {{block size 4 needs an axis to block along}}
func.func private @f(tensor<4x!qg.quant<i8, block = 4, scales = [1.0]>>)

// -----

// NF4 is always per-block.
// expected-error@+1 {{nf4 needs per-block absmax scales: give axis and block}}
func.func private @f(tensor<4x!qg.quant<nf4, scale = 1.0>>)

// -----

// Per-tensor takes a scalar.
// expected-error@+1 {{per-tensor quantization takes one scalar scale, got a table of shape [2]}}
func.func private @f(tensor<4x!qg.quant<i8, scales = [1.0, 2.0]>>)

// -----

// Per-axis takes a 1-D table.
// expected-error@+1 {{per-axis quantization takes a 1-D scale table, got shape [2, 2]}}
func.func private @f(tensor<2x2x!qg.quant<i8, axis = 0, scales = dense<1.0> : tensor<2x2xf32>>>)

// -----

// A per-block table too small for its axis.
// expected-error@+1 {{per-block scale table of rank 1 has no axis 1}}
func.func private @f(tensor<2x8x!qg.quant<i8, axis = 1, block = 4, scales = [1.0, 2.0]>>)

// -----

// Negative double-quantization block.
// expected-error@+1 {{dq_block must be positive, got -1}}
func.func private @f(tensor<1x64x!qg.quant<nf4, axis = 1, block = 64, scales = dense<1> : tensor<1x1xui8>, dq_block = -1, dq_scales = [1.0]>>)

// -----

// Double quantization half given.
// expected-error@+1 {{double quantization needs both dq_block and dq_scales}}
func.func private @f(tensor<1x64x!qg.quant<nf4, axis = 1, block = 64, scales = dense<1> : tensor<1x1xui8>, dq_block = 256>>)

// -----

// Double quantization of an integer format.
// expected-error@+1 {{double quantization applies to nf4 absmax tables only, not i8}}
func.func private @f(tensor<1x64x!qg.quant<i8, axis = 1, block = 64, scales = dense<1> : tensor<1x1xui8>, dq_block = 256, dq_scales = [1.0]>>)

// -----

// Double-quantized scales are u8 codes.
// expected-error@+1 {{double-quantized scales must be ui8 codes, got 'f32'}}
func.func private @f(tensor<1x64x!qg.quant<nf4, axis = 1, block = 64, scales = dense<1.0> : tensor<1x1xf32>, dq_block = 256, dq_scales = [1.0]>>)

// -----

// One dq scale per group of codes.
// expected-error@+1 {{dq_scales must hold 1 values (one per 256 scales), got shape [2]}}
func.func private @f(tensor<1x64x!qg.quant<nf4, axis = 1, block = 64, scales = dense<1> : tensor<1x1xui8>, dq_block = 256, dq_scales = [1.0, 2.0]>>)

// -----

// Scales are f32.
// expected-error@+1 {{scales must be f32, got 'i32'}}
func.func private @f(tensor<4x!qg.quant<i8, axis = 0, scales = dense<1> : tensor<4xi32>>>)

// -----

// A negative scale.
// expected-error@+1 {{scale must be positive and finite, got -5.000000e-01 at index 1}}
func.func private @f(tensor<2x!qg.quant<i8, axis = 0, scales = [1.0, -0.5]>>)

// -----

// A zero scale.
// expected-error@+1 {{scale must be positive and finite, got 0.000000e+00 at index 0}}
func.func private @f(tensor<2x!qg.quant<i8, scale = 0.0>>)

// -----

// An infinite scale.
// expected-error@+1 {{scale must be positive and finite, got INF at index 0}}
func.func private @f(tensor<2x!qg.quant<i8, scales = dense<0x7F800000> : tensor<f32>>>)

// -----

// A non-positive second-level scale.
// expected-error@+1 {{dq_scales must be positive and finite, got 0.000000e+00 at index 0}}
func.func private @f(tensor<1x64x!qg.quant<nf4, axis = 1, block = 64, scales = dense<1> : tensor<1x1xui8>, dq_block = 256, dq_scales = [0.0]>>)

// -----

// Symmetric formats take no zero point.
// expected-error@+1 {{f8e4m3fn is symmetric and takes no zero points}}
func.func private @f(tensor<2x!qg.quant<f8e4m3fn, scale = 1.0, zero_point = 1>>)

// -----

// Zero points are integers.
// expected-error@+1 {{zero points must be integers, got 'f32'}}
func.func private @f(tensor<2x!qg.quant<u8, axis = 0, scales = [1.0, 1.0], zero_points = dense<1.0> : tensor<2xf32>>>)

// -----

// One zero point per scale.
// expected-error@+1 {{zero point table shape [3] does not match scale table shape [2]}}
func.func private @f(tensor<2x!qg.quant<u8, axis = 0, scales = [1.0, 1.0], zero_points = [1, 2, 3]>>)

// -----

// Zero points inside the storage range.
// expected-error@+1 {{zero point 300 at index 0 is outside the u8 range [0, 255]}}
func.func private @f(tensor<2x!qg.quant<u8, scale = 1.0, zero_point = 300>>)

// -----

// Zero points inside the 4-bit range too.
// expected-error@+1 {{zero point -9 at index 1 is outside the i4 range [-8, 7]}}
func.func private @f(tensor<2x!qg.quant<i4, axis = 0, scales = [1.0, 1.0], zero_points = [0, -9]>>)

// -----

// The quantization axis must exist in the tensor.
func.func @f(%x: tensor<4xf32>) {
  // expected-error@+1 {{'qg.quantize' op result #0: quantization axis 1 is out of range for a tensor of rank 1}}
  %q = qg.quantize %x : tensor<4xf32> -> tensor<4x!qg.quant<i8, axis = 1, scales = [1.0]>>
  return
}

// -----

// One per-axis scale per index of the axis.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'qg.quantize' op result #0: per-axis scale count 2 does not match dimension 1 of size 3}}
  %q = qg.quantize %x : tensor<2x3xf32> -> tensor<2x3x!qg.quant<i8, axis = 1, scales = [1.0, 2.0]>>
  return
}

// -----

// The block size divides the blocked dimension.
func.func @f(%x: tensor<2x6xf32>) {
  // expected-error@+1 {{'qg.quantize' op result #0: block size 4 does not divide dimension 1 of size 6}}
  %q = qg.quantize %x : tensor<2x6xf32> -> tensor<2x6x!qg.quant<i4, axis = 1, block = 4, scales = dense<1.0> : tensor<2x2xf32>>>
  return
}

// -----

// The scale table has the tensor's shape with the block axis divided.
func.func @f(%q: tensor<2x8x!qg.quant<i4, axis = 1, block = 4, scales = dense<1.0> : tensor<3x2xf32>>>) {
  // expected-error@+1 {{'qg.dequantize' op operand #0: scale table shape [3, 2] does not match [2, 2], the tensor shape [2, 8] with blocks of 4 on axis 1}}
  %x = qg.dequantize %q : tensor<2x8x!qg.quant<i4, axis = 1, block = 4, scales = dense<1.0> : tensor<3x2xf32>>> -> tensor<2x8xf32>
  return
}

// -----

// A float constant's value has the result type.
func.func @f() {
  // expected-error@+1 {{'qg.constant' op value type 'tensor<2xf32>' differs from result type 'tensor<2xf16>'}}
  %0 = qg.constant dense<[1.0, 2.0]> : tensor<2xf32> as tensor<2xf16>
  return
}

// -----

// A quantized constant's codes have the result shape.
func.func @f() {
  // expected-error@+1 {{'qg.constant' op value shape 'tensor<2xi8>' differs from the result shape 'tensor<3x!qg.quant<i8, scale = 1.000000e+00>>'}}
  %0 = qg.constant dense<[1, 2]> : tensor<2xi8> as tensor<3x!qg.quant<i8, scale = 1.0>>
  return
}

// -----

// A quantized constant stores codes in the format's storage type.
func.func @f() {
  // expected-error@+1 {{'qg.constant' op a u4 constant stores codes of type 'ui4', got 'i8'}}
  %0 = qg.constant dense<[1, 2]> : tensor<2xi8> as tensor<2x!qg.quant<u4, scale = 1.0>>
  return
}

// -----

// A 4-bit resource holds the packed byte count.
func.func @f() {
  // expected-error@+1 {{'qg.constant' op resource holds 3 bytes; a 'tensor<2x3xi4>' needs 4}}
  %0 = qg.constant dense_resource<short> : tensor<2x3xi4> as tensor<2x3x!qg.quant<i4, scale = 1.0>>
  return
}
{-#
  dialect_resources: {
    builtin: {
      short: "0x01000000214365"
    }
  }
#-}

// -----

// Quantize keeps the shape.
func.func @f(%x: tensor<4xf32>) {
  // expected-error@+1 {{'qg.quantize' op input shape 'tensor<4xf32>' and result shape 'tensor<3x!qg.quant<i8, scale = 1.000000e+00>>' differ}}
  %q = qg.quantize %x : tensor<4xf32> -> tensor<3x!qg.quant<i8, scale = 1.0>>
  return
}

// -----

// Dequantize keeps the shape.
func.func @f(%q: tensor<4x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{'qg.dequantize' op input shape}}
  %x = qg.dequantize %q : tensor<4x!qg.quant<i8, scale = 1.0>> -> tensor<2x2xf32>
  return
}

// -----

// Requantize keeps the shape.
func.func @f(%q: tensor<4x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{'qg.requantize' op input shape}}
  %r = qg.requantize %q : tensor<4x!qg.quant<i8, scale = 1.0>> -> tensor<5x!qg.quant<u8, scale = 1.0>>
  return
}

// -----

// Quantize produces a quantized tensor.
func.func @f(%x: tensor<4xf32>) {
  // expected-error@+1 {{'qg.quantize' op result #0 must be ranked tensor of Quantized element type with its scales, zero points and granularity values, but got 'tensor<4xi8>'}}
  %q = "qg.quantize"(%x) : (tensor<4xf32>) -> tensor<4xi8>
  return
}

// -----

// Gelu's approximation is none or tanh.
func.func @f(%x: tensor<4xf32>) {
  // expected-error@+1 {{'qg.gelu' op approximate must be "none" or "tanh", got "erf"}}
  %y = qg.gelu %x {approximate = "erf"} : tensor<4xf32>
  return
}

// -----

// Softmax's axis is inside the rank.
func.func @f(%x: tensor<4xf32>) {
  // expected-error@+1 {{'qg.softmax' op axis -2 is out of range for rank 1}}
  %y = qg.softmax %x {axis = -2} : tensor<4xf32>
  return
}

// -----

// Layer norm's axis is inside the rank.
func.func @f(%x: tensor<2x4xf32>, %g: tensor<4xf32>) {
  // expected-error@+1 {{'qg.layer_norm' op axis 2 is out of range for rank 2}}
  %y = qg.layer_norm %x, %g {axis = 2} : tensor<2x4xf32>, tensor<4xf32>
  return
}

// -----

// Layer norm's scale covers the normalized dimensions.
func.func @f(%x: tensor<2x4xf32>, %g: tensor<2x4xf32>) {
  // expected-error@+1 {{'qg.layer_norm' op scale and bias must have shape [4] (the normalized dimensions), got [2, 4]}}
  %y = qg.layer_norm %x, %g : tensor<2x4xf32>, tensor<2x4xf32>
  return
}

// -----

// Layer norm's parameters share the input's element type.
func.func @f(%x: tensor<2x4xf32>, %g: tensor<4xf16>) {
  // expected-error@+1 {{'qg.layer_norm' op scale and bias must have the input's element type}}
  %y = qg.layer_norm %x, %g : tensor<2x4xf32>, tensor<4xf16>
  return
}

// -----

// Batch norm needs a channel dimension.
func.func @f(%x: tensor<4xf32>, %c: tensor<4xf32>) {
  // expected-error@+1 {{'qg.batch_norm' op input must have rank >= 2 (N, C, ...), got rank 1}}
  %y = qg.batch_norm %x, %c, %c, %c, %c : tensor<4xf32>, tensor<4xf32>
  return
}

// -----

// Batch norm's parameters have one entry per channel.
func.func @f(%x: tensor<1x3x2x2xf32>, %c: tensor<4xf32>) {
  // expected-error@+1 {{'qg.batch_norm' op scale, bias, mean and variance must be 1-D of size 3 (the channel count), got [4]}}
  %y = qg.batch_norm %x, %c, %c, %c, %c : tensor<1x3x2x2xf32>, tensor<4xf32>
  return
}

// -----

// Broadcasting needs compatible shapes.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error@+2 {{shapes [2, 3] and [4] do not broadcast}}
  // expected-error@+1 {{'qg.add' op failed to infer returned types}}
  %y = qg.add %a, %b : tensor<2x3xf32>, tensor<4xf32> -> tensor<2x3xf32>
  return
}

// -----

// Binary operands share an element type.
func.func @f(%a: tensor<2xf32>, %b: tensor<2xf16>) {
  // expected-error@+2 {{operand element types differ: f32 and f16}}
  // expected-error@+1 {{'qg.mul' op failed to infer returned types}}
  %y = qg.mul %a, %b : tensor<2xf32>, tensor<2xf16> -> tensor<2xf32>
  return
}

// -----

// A result type that disagrees with shape inference.
func.func @f(%a: tensor<2x3xf32>) {
  // expected-error@+2 {{'qg.add' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x2xf32>'}}
  // expected-error@+1 {{'qg.add' op failed to infer returned types}}
  %y = qg.add %a, %a : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<3x2xf32>
  return
}

// -----

// Matmul contraction sizes agree.
func.func @f(%a: tensor<2x4xf32>, %b: tensor<5x3xf32>) {
  // expected-error@+2 {{contraction dimensions differ: lhs [2, 4] has 4, rhs [5, 3] has 5}}
  // expected-error@+1 {{'qg.matmul' op failed to infer returned types}}
  %y = qg.matmul %a, %b : tensor<2x4xf32>, tensor<5x3xf32> -> tensor<2x3xf32>
  return
}

// -----

// Matmul batch dimensions broadcast.
func.func @f(%a: tensor<2x2x4xf32>, %b: tensor<3x4x3xf32>) {
  // expected-error@+2 {{batch dimensions of [2, 2, 4] and [3, 4, 3] do not broadcast}}
  // expected-error@+1 {{'qg.matmul' op failed to infer returned types}}
  %y = qg.matmul %a, %b : tensor<2x2x4xf32>, tensor<3x4x3xf32> -> tensor<2x2x3xf32>
  return
}

// -----

// Matmul needs at least vectors.
func.func @f(%a: tensor<f32>, %b: tensor<4xf32>) {
  // expected-error@+2 {{matmul operands must have rank >= 1}}
  // expected-error@+1 {{'qg.matmul' op failed to infer returned types}}
  %y = qg.matmul %a, %b : tensor<f32>, tensor<4xf32> -> tensor<f32>
  return
}

// -----

// Matmul operands share an element type.
func.func @f(%a: tensor<2x4xf32>, %b: tensor<4x3xf16>) {
  // expected-error@+2 {{operand element types differ}}
  // expected-error@+1 {{'qg.matmul' op failed to infer returned types}}
  %y = qg.matmul %a, %b : tensor<2x4xf32>, tensor<4x3xf16> -> tensor<2x3xf32>
  return
}

// -----

// Gemm takes matrices.
func.func @f(%a: tensor<4xf32>, %b: tensor<4x3xf32>) {
  // expected-error@+2 {{gemm operands A and B must be 2-D, got [4] and [4, 3]}}
  // expected-error@+1 {{'qg.gemm' op failed to infer returned types}}
  %y = qg.gemm %a, %b : tensor<4xf32>, tensor<4x3xf32> -> tensor<3xf32>
  return
}

// -----

// Gemm's contraction sizes agree after transposition.
func.func @f(%a: tensor<2x4xf32>, %b: tensor<4x3xf32>) {
  // expected-error@+2 {{contraction dimensions differ: op(A) has K = 4, op(B) has K = 3}}
  // expected-error@+1 {{'qg.gemm' op failed to infer returned types}}
  %y = qg.gemm %a, %b {trans_b = true} : tensor<2x4xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
  return
}

// -----

// Gemm's C broadcasts to the output.
func.func @f(%a: tensor<2x4xf32>, %b: tensor<4x3xf32>, %c: tensor<4xf32>) {
  // expected-error@+2 {{C of shape [4] does not broadcast to [2, 3]}}
  // expected-error@+1 {{'qg.gemm' op failed to infer returned types}}
  %y = qg.gemm %a, %b, %c : tensor<2x4xf32>, tensor<4x3xf32>, tensor<4xf32> -> tensor<2x3xf32>
  return
}

// -----

// Gemm operands share an element type.
func.func @f(%a: tensor<2x4xf32>, %b: tensor<4x3xf16>) {
  // expected-error@+2 {{operand element types differ}}
  // expected-error@+1 {{'qg.gemm' op failed to infer returned types}}
  %y = qg.gemm %a, %b : tensor<2x4xf32>, tensor<4x3xf16> -> tensor<2x3xf32>
  return
}

// -----

// Convolution takes NCHW and OIHW.
func.func @f(%x: tensor<3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{conv2d needs a 4-D NCHW input and 4-D OIHW weight, got [3, 8, 8] and [4, 3, 3, 3]}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w : tensor<3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

// Convolution channel counts agree.
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error@+2 {{input has 3 channels but the weight expects 2 x group 1}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w : tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

// Grouped convolution splits output channels evenly.
func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error@+2 {{output channels 3 are not divisible by group 2}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w {group = 2 : i64} : tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32> -> tensor<1x3x6x6xf32>
  return
}

// -----

// The group is positive.
func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error@+2 {{group must be positive, got 0}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w {group = 0 : i64} : tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

// Convolution bias has one entry per output channel.
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+2 {{bias must be 1-D of size 4, got [3]}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w, %b : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

// The kernel fits in the padded input.
func.func @f(%x: tensor<1x3x2x2xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{the kernel does not fit in the padded input [1, 3, 2, 2]}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w : tensor<1x3x2x2xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x1x1xf32>
  return
}

// -----

// Window attributes have the right arity.
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{conv2d needs 2 kernel dims, 2 strides, 4 pads and 2 dilations}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w {pads = array<i64: 1, 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

// Strides are positive.
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+2 {{conv2d: kernel sizes, strides and dilations must be positive}}
  // expected-error@+1 {{'qg.conv2d' op failed to infer returned types}}
  %y = qg.conv2d %x, %w {strides = array<i64: 0, 1>} : tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32> -> tensor<1x4x6x6xf32>
  return
}

// -----

// Pads are non-negative.
func.func @f(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+2 {{max_pool: pads must be non-negative}}
  // expected-error@+1 {{'qg.max_pool' op failed to infer returned types}}
  %y = qg.max_pool %x {kernel_shape = array<i64: 2, 2>, pads = array<i64: -1, 0, 0, 0>} : tensor<1x3x8x8xf32> -> tensor<1x3x7x7xf32>
  return
}

// -----

// Pooling's input has N, C and one dimension per kernel entry.
func.func @f(%x: tensor<3x8x8xf32>) {
  // expected-error@+2 {{avg_pool: a 2-D kernel needs an input of rank 4, got [3, 8, 8]}}
  // expected-error@+1 {{'qg.avg_pool' op failed to infer returned types}}
  %y = qg.avg_pool %x {kernel_shape = array<i64: 2, 2>} : tensor<3x8x8xf32> -> tensor<3x4x4xf32>
  return
}

// -----

// The pooling window fits in the padded input.
func.func @f(%x: tensor<1x3x2x2xf32>) {
  // expected-error@+2 {{the pooling window does not fit in the padded input [1, 3, 2, 2]}}
  // expected-error@+1 {{'qg.max_pool' op failed to infer returned types}}
  %y = qg.max_pool %x {kernel_shape = array<i64: 3, 3>} : tensor<1x3x2x2xf32> -> tensor<1x3x1x1xf32>
  return
}

// -----

// Global pooling needs spatial dimensions.
func.func @f(%x: tensor<1x3xf32>) {
  // expected-error@+2 {{global_avg_pool needs rank >= 3 (N, C, spatial...), got [1, 3]}}
  // expected-error@+1 {{'qg.global_avg_pool' op failed to infer returned types}}
  %y = qg.global_avg_pool %x : tensor<1x3xf32> -> tensor<1x3xf32>
  return
}

// -----

// Reshape keeps the element count.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'qg.reshape' op element counts differ: [2, 3] has 6, [4] has 4}}
  %y = qg.reshape %x : tensor<2x3xf32> -> tensor<4xf32>
  return
}

// -----

// Reshape keeps the element type.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'qg.reshape' op reshape cannot change the element type}}
  %y = qg.reshape %x : tensor<2x3xf32> -> tensor<6xf16>
  return
}

// -----

// Transpose's perm covers every dimension.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{perm has 3 entries for a rank-2 operand}}
  // expected-error@+1 {{'qg.transpose' op failed to infer returned types}}
  %y = qg.transpose %x {perm = array<i64: 1, 0, 2>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return
}

// -----

// Transpose's perm is a permutation.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{perm is not a permutation of 0..1}}
  // expected-error@+1 {{'qg.transpose' op failed to infer returned types}}
  %y = qg.transpose %x {perm = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<3x3xf32>
  return
}

// -----

// A folded operand layout of matmul is a permutation of the operand's dims.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error@+2 {{rhs_perm is not a permutation of 0..1}}
  // expected-error@+1 {{'qg.matmul' op failed to infer returned types}}
  %y = qg.matmul %a, %b {rhs_perm = array<i64: 0, 0>} : tensor<2x3xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
  return
}

// -----

// The product reads rhs through rhs_perm, so K must match after it.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+2 {{contraction dimensions differ: lhs [2, 3] has 3, rhs [4, 3] has 4}}
  // expected-error@+1 {{'qg.matmul' op failed to infer returned types}}
  %y = qg.matmul %a, %b {rhs_perm = array<i64: 1, 0>} : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
  return
}

// -----

// Concat's axis is inside the rank.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{axis 2 is out of range for rank 2}}
  // expected-error@+1 {{'qg.concat' op failed to infer returned types}}
  %y = qg.concat %x, %x {axis = 2 : i64} : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<4x3xf32>
  return
}

// -----

// Concat inputs agree off the axis.
func.func @f(%x: tensor<2x3xf32>, %z: tensor<2x4xf32>) {
  // expected-error@+2 {{concat inputs differ in dimension 1: [2, 3] and [2, 4]}}
  // expected-error@+1 {{'qg.concat' op failed to infer returned types}}
  %y = qg.concat %x, %z {axis = 0 : i64} : tensor<2x3xf32>, tensor<2x4xf32> -> tensor<4x3xf32>
  return
}

// -----

// Concat inputs share rank and element type.
func.func @f(%x: tensor<2x3xf32>, %z: tensor<2x3xf16>) {
  // expected-error@+2 {{concat inputs must share element type and rank}}
  // expected-error@+1 {{'qg.concat' op failed to infer returned types}}
  %y = qg.concat %x, %z {axis = 0 : i64} : tensor<2x3xf32>, tensor<2x3xf16> -> tensor<4x3xf32>
  return
}

// -----

// Slice has one bound per dimension.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{starts, ends and steps need one entry per dimension (2)}}
  // expected-error@+1 {{'qg.slice' op failed to infer returned types}}
  %y = qg.slice %x {starts = array<i64: 0>, ends = array<i64: 1>, steps = array<i64: 1>} : tensor<2x3xf32> -> tensor<1x3xf32>
  return
}

// -----

// Slice steps are non-zero.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{step of dimension 1 is 0; it must be non-zero and below 2^40}}
  // expected-error@+1 {{'qg.slice' op failed to infer returned types}}
  %y = qg.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 2, 3>, steps = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

// Slice bounds are normalized into the dimension.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{slice bounds [0, 5) with step 1 are out of range for dimension 1 of size 3}}
  // expected-error@+1 {{'qg.slice' op failed to infer returned types}}
  %y = qg.slice %x {starts = array<i64: 0, 0>, ends = array<i64: 2, 5>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

// Gather's axis is inside the rank.
func.func @f(%x: tensor<2x3xf32>, %i: tensor<4xi64>) {
  // expected-error@+2 {{axis -3 is out of range for rank 2}}
  // expected-error@+1 {{'qg.gather' op failed to infer returned types}}
  %y = qg.gather %x, %i {axis = -3 : i64} : tensor<2x3xf32>, tensor<4xi64> -> tensor<4x3xf32>
  return
}

// -----

// Gather needs data with a dimension to index.
func.func @f(%x: tensor<f32>, %i: tensor<4xi64>) {
  // expected-error@+2 {{gather data must have rank >= 1}}
  // expected-error@+1 {{'qg.gather' op failed to infer returned types}}
  %y = qg.gather %x, %i : tensor<f32>, tensor<4xi64> -> tensor<4xf32>
  return
}

// -----

// Reduction axes are listed once.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{axis -1 is listed twice}}
  // expected-error@+1 {{'qg.reduce_sum' op failed to infer returned types}}
  %y = qg.reduce_sum %x {axes = array<i64: 1, -1>} : tensor<2x3xf32> -> tensor<2x1xf32>
  return
}

// -----

// Reduction axes are inside the rank.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+2 {{axis 5 is out of range for rank 2}}
  // expected-error@+1 {{'qg.reduce_mean' op failed to infer returned types}}
  %y = qg.reduce_mean %x {axes = array<i64: 5>} : tensor<2x3xf32> -> tensor<2x1xf32>
  return
}

// -----

// Cast keeps the shape.
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{'qg.cast' op cast cannot change the shape: [2, 3] to [6]}}
  %y = qg.cast %x : tensor<2x3xf32> -> tensor<6xi64>
  return
}

// -----

// Where's branches share an element type.
func.func @f(%c: tensor<2xi1>, %x: tensor<2xf32>, %y: tensor<2xi64>) {
  // expected-error@+2 {{x and y element types differ: f32 and i64}}
  // expected-error@+1 {{'qg.where' op failed to infer returned types}}
  %z = qg.where %c, %x, %y : tensor<2xi1>, tensor<2xf32>, tensor<2xi64> -> tensor<2xf32>
  return
}

// -----

// Where's operands broadcast together.
func.func @f(%c: tensor<3xi1>, %x: tensor<2xf32>) {
  // expected-error@+2 {{shapes [3], [2] and [2] do not broadcast}}
  // expected-error@+1 {{'qg.where' op failed to infer returned types}}
  %z = qg.where %c, %x, %x : tensor<3xi1>, tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return
}

// -----

// Expand broadcasts to the result shape.
func.func @f(%x: tensor<3xf32>) {
  // expected-error@+1 {{'qg.expand' op input shape [3] does not broadcast to [2, 4]}}
  %y = qg.expand %x : tensor<3xf32> -> tensor<2x4xf32>
  return
}

// -----

// Expand keeps the element type.
func.func @f(%x: tensor<3xf32>) {
  // expected-error@+1 {{'qg.expand' op expand cannot change the element type}}
  %y = qg.expand %x : tensor<3xf32> -> tensor<2x3xf16>
  return
}

// -----

// storage_cast has exactly one quantized side.
func.func @f(%x: tensor<2xi8>) {
  // expected-error@+1 {{'qg.storage_cast' op casts between a quantized tensor and its storage type; exactly one side must be quantized}}
  %y = qg.storage_cast %x : tensor<2xi8> -> tensor<2xi8>
  return
}

// -----

// storage_cast keeps the shape.
func.func @f(%x: tensor<2xi8>) {
  // expected-error@+1 {{'qg.storage_cast' op input shape 'tensor<2xi8>' and result shape 'tensor<3x!qg.quant<i8, scale = 1.000000e+00>>' differ}}
  %y = qg.storage_cast %x : tensor<2xi8> -> tensor<3x!qg.quant<i8, scale = 1.0>>
  return
}

// -----

// storage_cast uses the format's storage type.
func.func @f(%x: tensor<2xi8>) {
  // expected-error@+1 {{'qg.storage_cast' op the storage type of u8 is 'ui8', not 'i8'}}
  %y = qg.storage_cast %x : tensor<2xi8> -> tensor<2x!qg.quant<u8, scale = 1.0>>
  return
}

// -----

// dynamic_quantize's scale and zero point are scalars.
func.func @f(%x: tensor<2xf32>) {
  // expected-error@+1 {{'qg.dynamic_quantize' op scale and zero point are scalars (rank-0 tensors)}}
  %y, %s, %z = qg.dynamic_quantize %x : tensor<2xf32> -> tensor<2xui8>, tensor<1xf32>, tensor<ui8>
  return
}

// -----

// dynamic_quantize keeps the shape.
func.func @f(%x: tensor<2xf32>) {
  // expected-error@+1 {{'qg.dynamic_quantize' op input shape 'tensor<2xf32>' and result shape 'tensor<3xui8>' differ}}
  %y, %s, %z = qg.dynamic_quantize %x : tensor<2xf32> -> tensor<3xui8>, tensor<f32>, tensor<ui8>
  return
}

// -----

// Pooling strides and pads match the kernel's rank.
func.func @f(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+2 {{max_pool needs 2 strides and 4 pads}}
  // expected-error@+1 {{'qg.max_pool' op failed to infer returned types}}
  %y = qg.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 1>} : tensor<1x3x8x8xf32> -> tensor<1x3x7x7xf32>
  return
}

// -----

// Pooling kernels and strides are positive.
func.func @f(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+2 {{max_pool: kernel sizes and strides must be positive}}
  // expected-error@+1 {{'qg.max_pool' op failed to infer returned types}}
  %y = qg.max_pool %x {kernel_shape = array<i64: 0, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x7x7xf32>
  return
}

// -----

// Per-row dynamic quantization keeps one scale per row.
func.func @dynamic_per_row_shape(%x: tensor<3x4xf32>) {
  // expected-error@+1 {{per_row scale and zero point must have shape [3, 1] (the input's with a last dimension of 1)}}
  %q, %s, %z = qg.dynamic_quantize %x {per_row = true} : tensor<3x4xf32> -> tensor<3x4xui8>, tensor<f32>, tensor<ui8>
  return
}

// -----

// qg.qlinear: per-tensor 8-bit activations only.
func.func @qlinear_input(%x: tensor<2x4x!qg.quant<u8, axis = 1, scales = [1.0, 1.0, 1.0, 1.0]>>, %w: tensor<3x4x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{input must be per-tensor u8, i8 or f8e4m3fn}}
  %y = qg.qlinear %x, %w : tensor<2x4x!qg.quant<u8, axis = 1, scales = [1.0, 1.0, 1.0, 1.0]>>, tensor<3x4x!qg.quant<i8, scale = 1.0>> -> tensor<2x3xf32>
  return
}

// -----

// An FP8 input takes an FP8 weight.
func.func @f(%x: tensor<2x4x!qg.quant<f8e4m3fn, scale = 0.5>>) -> tensor<2x3xf32> {
  %w = qg.constant dense<1> : tensor<3x4xi8> as tensor<3x4x!qg.quant<i8, scale = 1.0>>
  // expected-error@+1 {{weight must be [N, K] f8e4m3fn (with an f8e4m3fn input), per tensor or per row (axis 0)}}
  %y = qg.qlinear %x, %w : tensor<2x4x!qg.quant<f8e4m3fn, scale = 0.5>>, tensor<3x4x!qg.quant<i8, scale = 1.0>> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// An FP8 layer's result is f32.
func.func @f(%x: tensor<2x4x!qg.quant<f8e4m3fn, scale = 0.5>>) -> tensor<2x3x!qg.quant<u8, scale = 0.1>> {
  %w = qg.constant dense<1.0> : tensor<3x4xf8E4M3FN> as tensor<3x4x!qg.quant<f8e4m3fn, scale = 1.0>>
  // expected-error@+1 {{an f8e4m3fn layer has an f32 result}}
  %y = qg.qlinear %x, %w : tensor<2x4x!qg.quant<f8e4m3fn, scale = 0.5>>, tensor<3x4x!qg.quant<f8e4m3fn, scale = 1.0>> -> tensor<2x3x!qg.quant<u8, scale = 0.1>>
  return %y : tensor<2x3x!qg.quant<u8, scale = 0.1>>
}

// -----

// qg.qlinear: weights are [N, K] with scales per row, not per column.
func.func @qlinear_weight_axis(%x: tensor<2x4x!qg.quant<u8, scale = 1.0>>, %w: tensor<3x4x!qg.quant<i8, axis = 1, scales = [1.0, 1.0, 1.0, 1.0]>>) {
  // expected-error@+1 {{weight must be [N, K] i8, per tensor or per row (axis 0)}}
  %y = qg.qlinear %x, %w : tensor<2x4x!qg.quant<u8, scale = 1.0>>, tensor<3x4x!qg.quant<i8, axis = 1, scales = [1.0, 1.0, 1.0, 1.0]>> -> tensor<2x3xf32>
  return
}

// -----

// qg.qlinear: the epilogue activations are GELU (both forms) and SiLU.
func.func @qlinear_activation(%x: tensor<2x4x!qg.quant<u8, scale = 1.0>>, %w: tensor<3x4x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{activation must be "gelu", "gelu_tanh" or "silu", not "tanh"}}
  %y = qg.qlinear %x, %w {activation = "tanh"} : tensor<2x4x!qg.quant<u8, scale = 1.0>>, tensor<3x4x!qg.quant<i8, scale = 1.0>> -> tensor<2x3xf32>
  return
}

// -----

// qg.qlinear: with an activation the bias is f32 even for a quantized
// result (the activation reads the float value).
func.func @qlinear_activation_bias(%x: tensor<2x4x!qg.quant<u8, scale = 1.0>>, %w: tensor<3x4x!qg.quant<i8, scale = 1.0>>, %b: tensor<3xi32>) {
  // expected-error@+1 {{bias must be 'tensor<3xf32>' for this result}}
  %y = qg.qlinear %x, %w, %b {activation = "gelu"} : tensor<2x4x!qg.quant<u8, scale = 1.0>>, tensor<3x4x!qg.quant<i8, scale = 1.0>>, tensor<3xi32> -> tensor<2x3x!qg.quant<u8, scale = 0.5>>
  return
}

// -----

// qg.qlinear: K must agree.
func.func @qlinear_k(%x: tensor<2x5x!qg.quant<u8, scale = 1.0>>, %w: tensor<3x4x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{input's last dimension 5 is not the weight's K 4}}
  %y = qg.qlinear %x, %w : tensor<2x5x!qg.quant<u8, scale = 1.0>>, tensor<3x4x!qg.quant<i8, scale = 1.0>> -> tensor<2x3xf32>
  return
}

// -----

// qg.qlinear: the result is the input's shape with N last.
func.func @qlinear_shape(%x: tensor<2x4x!qg.quant<u8, scale = 1.0>>, %w: tensor<3x4x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{result shape must be [..., 3]}}
  %y = qg.qlinear %x, %w : tensor<2x4x!qg.quant<u8, scale = 1.0>>, tensor<3x4x!qg.quant<i8, scale = 1.0>> -> tensor<2x4xf32>
  return
}

// -----

// qg.qlinear: a quantized result takes an i32 bias (units of the accumulator).
func.func @qlinear_bias(%x: tensor<2x4x!qg.quant<u8, scale = 1.0>>, %w: tensor<3x4x!qg.quant<i8, scale = 1.0>>, %b: tensor<3xf32>) {
  // expected-error@+1 {{bias must be 'tensor<3xi32>' for this result}}
  %y = qg.qlinear %x, %w, %b : tensor<2x4x!qg.quant<u8, scale = 1.0>>, tensor<3x4x!qg.quant<i8, scale = 1.0>>, tensor<3xf32> -> tensor<2x3x!qg.quant<u8, scale = 1.0>>
  return
}

// -----

// qg.qlinear: clip bounds are ordered.
func.func @qlinear_clip(%x: tensor<2x4x!qg.quant<u8, scale = 1.0>>, %w: tensor<3x4x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{clip_min must not exceed clip_max}}
  %y = qg.qlinear %x, %w {clip_min = 1.0 : f32, clip_max = 0.0 : f32} : tensor<2x4x!qg.quant<u8, scale = 1.0>>, tensor<3x4x!qg.quant<i8, scale = 1.0>> -> tensor<2x3xf32>
  return
}

// -----

// qg.qconv2d: the result shape follows from the input, kernel and pads.
func.func @qconv_shape(%x: tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, %w: tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{result shape must be [1, 4, 3, 3]}}
  %y = qg.qconv2d %x, %w : tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>> -> tensor<1x4x5x5xf32>
  return
}

// -----

// qg.qconv2d: input and weight channels agree.
func.func @qconv_channels(%x: tensor<1x3x5x5x!qg.quant<u8, scale = 1.0>>, %w: tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{input has 3 channels, the weight 2}}
  %y = qg.qconv2d %x, %w : tensor<1x3x5x5x!qg.quant<u8, scale = 1.0>>, tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>> -> tensor<1x4x3x3xf32>
  return
}

// -----

// qg.qconv2d: the weight is per tensor or per filter, never per channel.
func.func @qconv_axis(%x: tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, %w: tensor<4x2x3x3x!qg.quant<i8, axis = 1, scales = [1.0, 2.0]>>) {
  // expected-error@+1 {{weight must be [F, C, KH, KW] i8, per tensor or per filter (axis 0)}}
  %y = qg.qconv2d %x, %w : tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, tensor<4x2x3x3x!qg.quant<i8, axis = 1, scales = [1.0, 2.0]>> -> tensor<1x4x3x3xf32>
  return
}

// -----

// qg.qconv2d: an i32 bias goes with a quantized result only.
func.func @qconv_bias(%x: tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, %w: tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>>, %b: tensor<4xi32>) {
  // expected-error@+1 {{bias must be 'tensor<4xf32>' for this result, not 'tensor<4xi32>'}}
  %y = qg.qconv2d %x, %w, %b : tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>>, tensor<4xi32> -> tensor<1x4x3x3xf32>
  return
}

// -----

// qg.qconv2d: strides are positive.
func.func @qconv_strides(%x: tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, %w: tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>>) {
  // expected-error@+1 {{needs 2 positive strides, 2 positive dilations and 4 non-negative pads}}
  %y = qg.qconv2d %x, %w {strides = array<i64: 0, 1>} : tensor<1x2x5x5x!qg.quant<u8, scale = 1.0>>, tensor<4x2x3x3x!qg.quant<i8, scale = 1.0>> -> tensor<1x4x3x3xf32>
  return
}

// -----

// A fused_elementwise body holds elementwise ops only.
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = qg.fused_elementwise %x : (tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%a: tensor<2x3xf32>):
    // expected-error@+1 {{'qg.softmax' op is not an elementwise op that can be fused}}
    %s = qg.softmax %a {axis = 1} : tensor<2x3xf32>
    qg.yield %s : tensor<2x3xf32>
  }
  return %y : tensor<2x3xf32>
}

// -----

// What the body yields is the result.
func.func @f(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{'qg.fused_elementwise' op yields 'tensor<3xf32>' for a result of type 'tensor<2x3xf32>'}}
  %y = qg.fused_elementwise %x : (tensor<2x3xf32>) -> tensor<2x3xf32> {
  ^bb0(%a: tensor<2x3xf32>):
    %c = qg.constant dense<1.0> : tensor<3xf32>
    qg.yield %c : tensor<3xf32>
  }
  return %y : tensor<2x3xf32>
}

// -----

// dequant_matmul's weight is blocked along K, not along N.
func.func @f(%x: tensor<2x32xf32>) -> tensor<2x16xf32> {
  %w = qg.constant dense<7> : tensor<32x16xui4> as tensor<32x16x!qg.quant<u4, axis = 1, block = 16, scales = dense<0.5> : tensor<32x1xf32>>>
  // expected-error@+1 {{'qg.dequant_matmul' op weight must be 2-D and quantized per tensor, per output channel (axis 1) or in blocks along K (axis 0)}}
  %y = qg.dequant_matmul %x, %w : tensor<2x32xf32>, tensor<32x16x!qg.quant<u4, axis = 1, block = 16, scales = dense<0.5> : tensor<32x1xf32>>> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

// A per-channel weight has its scales along N, not along K.
func.func @f(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %w = qg.constant dense<7> : tensor<4x3xi8> as tensor<4x3x!qg.quant<i8, axis = 0, scales = dense<0.5> : tensor<4xf32>>>
  // expected-error@+1 {{'qg.dequant_matmul' op weight must be 2-D and quantized per tensor, per output channel (axis 1) or in blocks along K (axis 0)}}
  %y = qg.dequant_matmul %x, %w : tensor<2x4xf32>, tensor<4x3x!qg.quant<i8, axis = 0, scales = dense<0.5> : tensor<4xf32>>> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// 4-bit weights are blocked along K.
func.func @f(%x: tensor<2x32xf32>) -> tensor<2x3xf32> {
  %w = qg.constant dense<7> : tensor<32x3xui4> as tensor<32x3x!qg.quant<u4, axis = 1, scales = dense<0.5> : tensor<3xf32>>>
  // expected-error@+1 {{'qg.dequant_matmul' op a 4-bit weight is quantized in blocks along K (axis 0)}}
  %y = qg.dequant_matmul %x, %w : tensor<2x32xf32>, tensor<32x3x!qg.quant<u4, axis = 1, scales = dense<0.5> : tensor<3xf32>>> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}
