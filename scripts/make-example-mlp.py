#!/usr/bin/env python3
"""Writes examples/quantize-weights.mlir: a two-layer MLP whose weights are
deterministic pseudo-random Gaussians with two outlier input channels, as
trained transformer weights have. The output is committed; rerun this only to
change the example."""
import random
import struct
import sys

rng = random.Random(20261122)


def gauss_matrix(rows, cols, std, outlier_rows=()):
    values = []
    for r in range(rows):
        s = std * (8.0 if r in outlier_rows else 1.0)
        values.extend(rng.gauss(0.0, s) for _ in range(cols))
    return values


def blob(values):
    # dense_resource blobs: a little-endian u32 alignment, then the data.
    data = struct.pack('<I', 4) + b''.join(struct.pack('<f', v) for v in values)
    return '0x' + data.hex().upper()


w1 = gauss_matrix(128, 64, 0.05, outlier_rows=(3, 77))
w2 = gauss_matrix(64, 16, 0.08)
b1 = [rng.uniform(-0.1, 0.1) for _ in range(64)]
text = f'''// A small two-layer MLP (128 -> 64 -> 16) with Gaussian weights and two
// outlier input channels in the first layer, the shape of trouble that real
// transformer weights give quantizers. scripts/run.sh quantizes its weights
// in several formats with qopt and prints each one's error and size.
func.func @mlp(%x: tensor<1x128xf32>) -> tensor<1x16xf32> {{
  %w1 = qg.constant dense_resource<fc1_weight> : tensor<128x64xf32> loc("fc1")
  %b1 = qg.constant dense_resource<fc1_bias> : tensor<64xf32> loc("fc1.bias")
  %h = qg.matmul %x, %w1 : tensor<1x128xf32>, tensor<128x64xf32> -> tensor<1x64xf32> loc("fc1")
  %hb = qg.add %h, %b1 : tensor<1x64xf32>, tensor<64xf32> -> tensor<1x64xf32> loc("fc1.add")
  %a = qg.gelu %hb : tensor<1x64xf32> loc("act")
  %w2 = qg.constant dense_resource<fc2_weight> : tensor<64x16xf32> loc("fc2")
  %y = qg.matmul %a, %w2 : tensor<1x64xf32>, tensor<64x16xf32> -> tensor<1x16xf32> loc("fc2")
  return %y : tensor<1x16xf32>
}}

{{-#
  dialect_resources: {{
    builtin: {{
      fc1_weight: "{blob(w1)}",
      fc1_bias: "{blob(b1)}",
      fc2_weight: "{blob(w2)}"
    }}
  }}
#-}}
'''
out = sys.argv[1] if len(sys.argv) > 1 else 'examples/quantize-weights.mlir'
with open(out, 'w') as f:
    f.write(text)
