// Calibration statistics feed static activation ranges. Two samples in one
// batched .npy: x = [0, 1, 2, 3] and [-1, 0.5, 0.25, 4], so min-max gives
// [-1, 4]: u8 scale 5/255 = 0.0196078..., zero point round(1 / scale) = 51.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/write_npy.py %t/x.npy 2x1x4 "0,1,2,3,-1,0.5,0.25,4"
// RUN: qopt %s --qg-calibrate="data=%t/x.npy save=%t/stats.bin progress=false" | FileCheck %s --check-prefix=SAME
// RUN: qopt %s --qg-calibrate="data=%t/x.npy save=%t/stats.bin progress=false" --qg-quantize-activations="stats=%t/stats.bin" | FileCheck %s
// RUN: qopt %s --qg-calibrate="data=%t/x.npy save=%t/stats.bin" -o /dev/null 2>&1 | FileCheck %s --check-prefix=PROGRESS
// RUN: not qopt %s --qg-calibrate="data=%t/missing save=%t/s.bin" 2>&1 | FileCheck %s --check-prefix=MISSING
// RUN: %python %S/Inputs/write_npy.py %t/bad.npy 1x3 "1,2,3"
// RUN: not qopt %s --qg-calibrate="data=%t/bad.npy save=%t/s.bin" 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not qopt %s --qg-quantize-activations 2>&1 | FileCheck %s --check-prefix=NOSTATS

// The observers are gone again and the function is unchanged.
// SAME-LABEL: func @main
// SAME-NOT: qg.observe
// SAME: qg.matmul %arg0

// CHECK-LABEL: func @main
// CHECK: %[[Q:.*]] = qg.quantize %arg0 : tensor<1x4xf32> -> tensor<1x4x!qg.quant<u8, scale = 0.01960784{{[0-9]*}}, zero_point = 51>>
// CHECK: %[[D:.*]] = qg.dequantize %[[Q]]
// CHECK: qg.matmul %[[D]], %{{.*}}
// The second layer reads the same tensor and shares the pair.
// CHECK-NOT: qg.quantize
// CHECK: qg.matmul %[[D]], %{{.*}}

// PROGRESS: calibrating [{{#+}}] 2 samples (1/1 files), {{.*}} samples/s
// MISSING: error: qg-calibrate: {{.*}}missing: no such file or directory
// SHAPE: bad.npy: input 'x' has shape 1x3, expected 1x4 (or a batch of those along the first axis)
// NOSTATS: mode=static needs stats=<file> from qg-calibrate
func.func @main(%x: tensor<1x4xf32> {qg.name = "x"}) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = qg.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %y = qg.matmul %x, %w : tensor<1x4xf32>, tensor<4x2xf32> -> tensor<1x2xf32>
  %z = qg.matmul %x, %w : tensor<1x4xf32>, tensor<4x2xf32> -> tensor<1x2xf32>
  return %y, %z : tensor<1x2xf32>, tensor<1x2xf32>
}
