#!/usr/bin/env python3
"""Writes the qg models that qcc-bench-cuda runs (python3 + numpy only).

  gemv_int4_4096x4096.mlir   x[1, 4096] f32 @ int4 W, N = 4096
  gemv_int4_4096x14336.mlir  x[1, 4096] f32 @ int4 W, N = 14336
  gemv_int8_4096x4096.mlir   x[1, 4096] f32 @ int8 W, N = 4096 (W8A16)
  gemv_int8_4096x14336.mlir  x[1, 4096] f32 @ int8 W, N = 14336 (W8A16)
  gemm_int8_512x4096x4096.mlir  W8A8 qg.qlinear, M x K x N = 512 x 4096 x 4096

The 4-bit layers are qg.dequant_matmul with trans_b: W is [N, K] int4,
symmetric, blocked by 128 along K, f32 scales [N, K / 128]. The W8A16
layers are qg.dequant_matmul with trans_b too: W is [N, K] int8 with one
f32 scale per output channel. The int8 layer is
qg.qlinear: u8 input with a zero point, i8 weights [N, K] with one scale per
output row, f32 output.

The weights and scales are dense_resource blobs. Their values do not change
the memory traffic of the kernels, so each blob is one random 4 KiB block
tiled to the full size: the .mlir files are large (tens of MiB of hex), but
the compiled .qpkg files compress to almost nothing with `xz -T2 -1` (or
gzip), which is how run_on_gpu.sh expects them to travel to a GPU machine.

Usage: make_models.py OUTDIR
then:  qcc compile OUTDIR/X.mlir --target cuda -o X.qpkg && xz -T2 -1 X.qpkg
"""
import os
import sys

import numpy as np

BLOCK = 4096  # bytes of random data, tiled to each blob's size


def tiled(rng, nbytes, make_block):
    """`nbytes` bytes: one BLOCK-byte block from make_block, repeated."""
    block = make_block(rng).view(np.uint8)
    assert block.nbytes == BLOCK
    reps = -(-nbytes // BLOCK)
    return np.tile(block, reps)[:nbytes]


def blob(data, alignment):
    """A builtin dialect resource: little-endian alignment, then the bytes."""
    return '"0x' + alignment.to_bytes(4, "little").hex().upper() + \
        data.tobytes().hex().upper() + '"'


def write(path, body, resources):
    with open(path, "w") as f:
        f.write(body)
        f.write("{-#\n  dialect_resources: {\n    builtin: {\n")
        f.write(",\n".join("      %s: %s" % (name, text)
                           for name, text in resources))
        f.write("\n    }\n  }\n#-}\n")


def weight_only_gemv(outdir, k, n, name, storage, w, note, codes, scales):
    """Writes OUTDIR/NAME_KxN.mlir: x[1, K] @ W^T by qg.dequant_matmul with
    trans_b, W [N, K] of `storage` codes and quantized type `w`."""
    body = f"""// {note}: x[1, {k}] @ W^T, W [{n}, {k}].
func.func @gemv(%x: tensor<1x{k}xf32>) -> tensor<1x{n}xf32> {{
  %w = qg.constant dense_resource<codes> : tensor<{n}x{k}x{storage}> as {w}
  %y = qg.dequant_matmul %x, %w {{trans_b = true}} : tensor<1x{k}xf32>, {w} -> tensor<1x{n}xf32>
  return %y : tensor<1x{n}xf32>
}}
"""
    path = os.path.join(outdir, "%s_%dx%d.mlir" % (name, k, n))
    write(path, body, [("codes", blob(codes, 1)), ("scales", blob(scales, 4))])
    return path


def gemv_int4(outdir, rng, k, n, group=128):
    codes = tiled(rng, n * k // 2,
                  lambda r: r.integers(0, 256, BLOCK, dtype=np.uint8))
    scales = tiled(rng, n * (k // group) * 4,
                   lambda r: r.uniform(0.002, 0.02, BLOCK // 4)
                   .astype(np.float32))
    w = ("tensor<%dx%dx!qg.quant<i4, axis = 1, block = %d, scales = "
         "dense_resource<scales> : tensor<%dx%dxf32>>>"
         % (n, k, group, n, k // group))
    return weight_only_gemv(outdir, k, n, "gemv_int4", "i4", w,
                            "int4 weight-only GEMV, block %d" % group,
                            codes, scales)


def gemv_int8(outdir, rng, k, n):
    codes = tiled(rng, n * k,
                  lambda r: r.integers(0, 256, BLOCK, dtype=np.uint8))
    scales = tiled(rng, n * 4, lambda r: r.uniform(0.0005, 0.005, BLOCK // 4)
                   .astype(np.float32))
    w = ("tensor<%dx%dx!qg.quant<i8, axis = 0, scales = "
         "dense_resource<scales> : tensor<%dxf32>>>" % (n, k, n))
    return weight_only_gemv(outdir, k, n, "gemv_int8", "i8", w,
                            "int8 weight-only GEMV (W8A16), per channel",
                            codes, scales)


def gemm_int8(outdir, rng, m, k, n):
    w = tiled(rng, n * k, lambda r: r.integers(-127, 128, BLOCK, dtype=np.int8))
    scales = tiled(rng, n * 4, lambda r: r.uniform(0.001, 0.01, BLOCK // 4)
                   .astype(np.float32))
    wt = ("tensor<%dx%dx!qg.quant<i8, axis = 0, scales = dense_resource<"
          "scales> : tensor<%dxf32>>>" % (n, k, n))
    xt = "tensor<%dx%dx!qg.quant<u8, scale = 0.05, zero_point = 128>>" % (m, k)
    body = f"""// W8A8 layer: u8 x[{m}, {k}] (zero point 128) @ i8 W^T, W [{n}, {k}] per-row scales, f32 out.
func.func @gemm(%x: {xt}) -> tensor<{m}x{n}xf32> {{
  %w = qg.constant dense_resource<weights> : tensor<{n}x{k}xi8> as {wt}
  %y = qg.qlinear %x, %w : {xt}, {wt} -> tensor<{m}x{n}xf32>
  return %y : tensor<{m}x{n}xf32>
}}
"""
    path = os.path.join(outdir, "gemm_int8_%dx%dx%d.mlir" % (m, k, n))
    write(path, body, [("weights", blob(w, 1)), ("scales", blob(scales, 4))])
    return path


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    rng = np.random.default_rng(6)
    for path in (gemv_int4(outdir, rng, 4096, 4096),
                 gemv_int4(outdir, rng, 4096, 14336),
                 gemv_int8(outdir, rng, 4096, 4096),
                 gemv_int8(outdir, rng, 4096, 14336),
                 gemm_int8(outdir, rng, 512, 4096, 4096)):
        print(path)


if __name__ == "__main__":
    main()
