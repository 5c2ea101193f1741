// Folders of the qg ops. Expected codes are worked out by hand from
// saturate(round_half_to_even(x / scale) + zero_point) and the format tables.
// RUN: qopt %s -split-input-file -canonicalize | FileCheck %s

// quantize of a constant folds to a quantized constant:
// 0.5/0.5+1 = 2; -1.25/0.5 = -2.5 -> -2 (tie to even), +1 = -1; 100/0.5+1
// saturates to 127; -1000 saturates to -128.
// CHECK-LABEL: func @fold_quantize_i8
// CHECK: %[[C:.*]] = qg.constant dense<[2, -1, 127, -128]> : tensor<4xi8> as tensor<4x!qg.quant<i8, scale = 5.000000e-01, zero_point = 1>>
// CHECK-NOT: qg.quantize
// CHECK: return %[[C]]
func.func @fold_quantize_i8() -> tensor<4x!qg.quant<i8, scale = 0.5, zero_point = 1>> {
  %x = qg.constant dense<[0.5, -1.25, 100.0, -1000.0]> : tensor<4xf32>
  %q = qg.quantize %x : tensor<4xf32> -> tensor<4x!qg.quant<i8, scale = 0.5, zero_point = 1>>
  return %q : tensor<4x!qg.quant<i8, scale = 0.5, zero_point = 1>>
}

// -----

// Per-axis on axis 1: column c uses scales[c] and zero_points[c].
// Row 0: 1/0.5+0 = 2, 1/0.25+10 = 14; row 1: 3/0.5 = 6, -1/0.25+10 = 6.
// CHECK-LABEL: func @fold_quantize_per_axis
// CHECK: qg.constant dense<{{\[\[}}2, 14], [6, 6]]> : tensor<2x2xui8>
func.func @fold_quantize_per_axis() -> tensor<2x2x!qg.quant<u8, axis = 1, scales = [0.5, 0.25], zero_points = [0, 10]>> {
  %x = qg.constant dense<[[1.0, 1.0], [3.0, -1.0]]> : tensor<2x2xf32>
  %q = qg.quantize %x : tensor<2x2xf32> -> tensor<2x2x!qg.quant<u8, axis = 1, scales = [0.5, 0.25], zero_points = [0, 10]>>
  return %q : tensor<2x2x!qg.quant<u8, axis = 1, scales = [0.5, 0.25], zero_points = [0, 10]>>
}

// -----

// Per-block i4, blocks of 2 along axis 1 with scales 1 and 4:
// [3, -9 -> -8] in block 0, [8/4 = 2, 30/4 = 7.5 -> 8 -> saturates to 7].
// CHECK-LABEL: func @fold_quantize_per_block
// CHECK: qg.constant dense<{{\[\[}}3, -8, 2, 7]]> : tensor<1x4xi4>
func.func @fold_quantize_per_block() -> tensor<1x4x!qg.quant<i4, axis = 1, block = 2, scales = dense<[[1.0, 4.0]]> : tensor<1x2xf32>>> {
  %x = qg.constant dense<[[3.0, -9.0, 8.0, 30.0]]> : tensor<1x4xf32>
  %q = qg.quantize %x : tensor<1x4xf32> -> tensor<1x4x!qg.quant<i4, axis = 1, block = 2, scales = dense<[[1.0, 4.0]]> : tensor<1x2xf32>>>
  return %q : tensor<1x4x!qg.quant<i4, axis = 1, block = 2, scales = dense<[[1.0, 4.0]]> : tensor<1x2xf32>>>
}

// -----

// FP8 E4M3FN: 1.0625 lies halfway between 1.0 and 1.125 and goes to the
// even mantissa (1.0); 500 saturates to 448; 0.001953125 = 2^-9 is the
// smallest subnormal.
// CHECK-LABEL: func @fold_quantize_fp8
// CHECK: qg.constant dense<[1.000000e+00, 4.480000e+02, -4.480000e+02, 1.953130e-03]> : tensor<4xf8E4M3FN>
func.func @fold_quantize_fp8() -> tensor<4x!qg.quant<f8e4m3fn, scale = 1.0>> {
  %x = qg.constant dense<[1.0625, 500.0, -1.0e9, 0.001953125]> : tensor<4xf32>
  %q = qg.quantize %x : tensor<4xf32> -> tensor<4x!qg.quant<f8e4m3fn, scale = 1.0>>
  return %q : tensor<4x!qg.quant<f8e4m3fn, scale = 1.0>>
}

// -----

// NF4 with absmax 2: x/2 = 0 -> level 7 (exact zero), 1 -> 15, -1 -> 0, and
// 0.1/2 = 0.05 is past the midpoint 0.0398 between 0 and 0.0796 -> 8.
// CHECK-LABEL: func @fold_quantize_nf4
// CHECK: qg.constant dense<{{\[\[}}7, 15, 0, 8]]> : tensor<1x4xui4>
func.func @fold_quantize_nf4() -> tensor<1x4x!qg.quant<nf4, axis = 1, block = 4, scales = dense<2.0> : tensor<1x1xf32>>> {
  %x = qg.constant dense<[[0.0, 2.0, -2.0, 0.1]]> : tensor<1x4xf32>
  %q = qg.quantize %x : tensor<1x4xf32> -> tensor<1x4x!qg.quant<nf4, axis = 1, block = 4, scales = dense<2.0> : tensor<1x1xf32>>>
  return %q : tensor<1x4x!qg.quant<nf4, axis = 1, block = 4, scales = dense<2.0> : tensor<1x1xf32>>>
}

// -----

// quantize(dequantize(%q)) with one type returns %q: every code round-trips.
// CHECK-LABEL: func @fold_requantize_roundtrip
// CHECK-SAME: (%[[Q:.*]]: tensor
// CHECK-NEXT: return %[[Q]]
func.func @fold_requantize_roundtrip(%q: tensor<8x!qg.quant<u8, scale = 0.1, zero_point = 7>>) -> tensor<8x!qg.quant<u8, scale = 0.1, zero_point = 7>> {
  %x = qg.dequantize %q : tensor<8x!qg.quant<u8, scale = 0.1, zero_point = 7>> -> tensor<8xf32>
  %r = qg.quantize %x : tensor<8xf32> -> tensor<8x!qg.quant<u8, scale = 0.1, zero_point = 7>>
  return %r : tensor<8x!qg.quant<u8, scale = 0.1, zero_point = 7>>
}

// -----

// With different types the pair changes values and stays.
// CHECK-LABEL: func @keep_requantize_other_type
// CHECK: qg.dequantize
// CHECK: qg.quantize
func.func @keep_requantize_other_type(%q: tensor<8x!qg.quant<i8, scale = 0.1>>) -> tensor<8x!qg.quant<i8, scale = 0.3>> {
  %x = qg.dequantize %q : tensor<8x!qg.quant<i8, scale = 0.1>> -> tensor<8xf32>
  %r = qg.quantize %x : tensor<8xf32> -> tensor<8x!qg.quant<i8, scale = 0.3>>
  return %r : tensor<8x!qg.quant<i8, scale = 0.3>>
}

// -----

// dequantize(quantize(%x)) rounds %x and is never folded away.
// CHECK-LABEL: func @keep_fake_quant
// CHECK: %[[Q:.*]] = qg.quantize
// CHECK: %[[X:.*]] = qg.dequantize %[[Q]]
// CHECK: return %[[X]]
func.func @keep_fake_quant(%x: tensor<4xf32>) -> tensor<4xf32> {
  %q = qg.quantize %x : tensor<4xf32> -> tensor<4x!qg.quant<i8, scale = 0.5>>
  %y = qg.dequantize %q : tensor<4x!qg.quant<i8, scale = 0.5>> -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// dequantize of a quantized constant stays, so weights stay quantized.
// CHECK-LABEL: func @keep_dequantized_weight
// CHECK: %[[C:.*]] = qg.constant dense<[1, 2]> : tensor<2xi8>
// CHECK: qg.dequantize %[[C]]
func.func @keep_dequantized_weight() -> tensor<2xf32> {
  %c = qg.constant dense<[1, 2]> : tensor<2xi8> as tensor<2x!qg.quant<i8, scale = 0.5>>
  %y = qg.dequantize %c : tensor<2x!qg.quant<i8, scale = 0.5>> -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// requantize to its own type folds; two requantizes do not merge.
// CHECK-LABEL: func @requantize
// CHECK-SAME: (%[[Q:.*]]: tensor
// CHECK: %[[A:.*]] = qg.requantize %[[Q]] : {{.*}} -> tensor<4x!qg.quant<i8, scale = 2.000000e+00>>
// CHECK: %[[B:.*]] = qg.requantize %[[A]] : {{.*}} -> tensor<4x!qg.quant<i8, scale = 3.000000e+00>>
// CHECK: return %[[B]]
func.func @requantize(%q: tensor<4x!qg.quant<i8, scale = 1.0>>) -> tensor<4x!qg.quant<i8, scale = 3.0>> {
  %same = qg.requantize %q : tensor<4x!qg.quant<i8, scale = 1.0>> -> tensor<4x!qg.quant<i8, scale = 1.0>>
  %a = qg.requantize %same : tensor<4x!qg.quant<i8, scale = 1.0>> -> tensor<4x!qg.quant<i8, scale = 2.0>>
  %b = qg.requantize %a : tensor<4x!qg.quant<i8, scale = 2.0>> -> tensor<4x!qg.quant<i8, scale = 3.0>>
  return %b : tensor<4x!qg.quant<i8, scale = 3.0>>
}

// -----

// A reshape to the same type folds.
// CHECK-LABEL: func @reshape_identity
// CHECK-NOT: qg.reshape
func.func @reshape_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %y = qg.reshape %x : tensor<2x3xf32> -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// A storage_cast round trip folds away.
// CHECK-LABEL: func @storage_cast_roundtrip
// CHECK-SAME: (%[[X:.*]]: tensor<4xi8>)
// CHECK-NEXT: return %[[X]]
func.func @storage_cast_roundtrip(%x: tensor<4xi8>) -> tensor<4xi8> {
  %q = qg.storage_cast %x : tensor<4xi8> -> tensor<4x!qg.quant<i8, scale = 0.5>>
  %y = qg.storage_cast %q : tensor<4x!qg.quant<i8, scale = 0.5>> -> tensor<4xi8>
  return %y : tensor<4xi8>
}
