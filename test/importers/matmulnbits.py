#!/usr/bin/env python3
"""com.microsoft MatMulNBits, the 4-bit weight format ONNX Runtime's
quantizer writes: qcc's import, its reference interpreter and the model
compiled for the CPU against ONNX Runtime's own kernel on randomly packed
weights, with and without zero points and bias, for several block sizes."""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper


def pack_nibbles(codes):
    """Two 4-bit codes per byte along the last axis, lower index low."""
    return (codes[..., 0::2] | (codes[..., 1::2] << 4)).astype(np.uint8)


def make_case(rng, m, k, n, block, zero_points, bias):
    blocks = k // block
    codes = rng.integers(0, 16, size=(n, blocks, block), dtype=np.uint8)
    b = pack_nibbles(codes)  # [N, blocks, block / 2]
    scales = rng.uniform(0.01, 0.1, size=(n * blocks,)).astype(np.float32)
    inputs = ["A", "B", "scales"]
    inits = [numpy_helper.from_array(b, "B"), numpy_helper.from_array(scales, "scales")]
    if zero_points or bias:
        inputs.append("zp" if zero_points else "")
    if zero_points:
        zps = rng.integers(0, 16, size=(n, blocks + blocks % 2), dtype=np.uint8)
        inits.append(numpy_helper.from_array(pack_nibbles(zps), "zp"))
    if bias:
        inputs += ["", "bias"]
        inits.append(numpy_helper.from_array(
            rng.standard_normal(n).astype(np.float32), "bias"))
    node = helper.make_node("MatMulNBits", inputs, ["Y"], domain="com.microsoft",
                            name="mm4", K=k, N=n, bits=4, block_size=block)
    graph = helper.make_graph(
        [node], "matmulnbits",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model, rng.standard_normal((m, k)).astype(np.float32)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--qrun", required=True)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    cases = [(1, 64, 16, 16, False, False), (3, 128, 24, 32, True, False),
             (2, 256, 8, 64, True, True), (4, 128, 40, 128, False, True)]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for m, k, n, block, zp, bias in cases:
            model, a = make_case(rng, m, k, n, block, zp, bias)
            path = os.path.join(tmp, "model.onnx")
            onnx.save(model, path)
            expected = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
                None, {"A": a})[0]
            mlir = os.path.join(tmp, "model.mlir")
            subprocess.run([args.qcc, "import", path, "-o", mlir], check=True)
            np.save(os.path.join(tmp, "a.npy"), a)
            out = os.path.join(tmp, "out")
            subprocess.run([args.qrun, "--reference", mlir, "--input=A=" + os.path.join(tmp, "a.npy"),
                            "--output-dir=" + out], check=True, stdout=subprocess.DEVNULL)
            ours = np.load(os.path.join(out, "Y.npy"))
            # Compiled for the CPU: the runtime's weight-only 4-bit kernel.
            package = os.path.join(tmp, "model.qpkg")
            subprocess.run([args.qcc, "compile", mlir, "-o", package], check=True,
                           stdout=subprocess.DEVNULL)
            cpu_out = os.path.join(tmp, "cpu")
            subprocess.run([args.qrun, package, "--input=A=" + os.path.join(tmp, "a.npy"),
                            "--output-dir=" + cpu_out], check=True, stdout=subprocess.DEVNULL)
            cpu = np.load(os.path.join(cpu_out, "Y.npy"))
            diff = float(np.abs(ours - expected).max())
            cpu_diff = float(np.abs(cpu - expected).max())
            ok = (np.allclose(ours, expected, rtol=1e-4, atol=1e-4) and
                  np.allclose(cpu, expected, rtol=1e-4, atol=1e-4))
            name = f"M={m} K={k} N={n} block={block} zero_points={zp} bias={bias}"
            print(f"{'ok' if ok else 'FAILED'}: {name}: max |diff| reference {diff:.2e}, "
                  f"CPU package {cpu_diff:.2e}")
            passed += ok
            failed += not ok
    print(f"matmulnbits: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
