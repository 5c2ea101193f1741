#!/usr/bin/env python3
"""Writes real-model cases for qcc-check-package to run on a GPU machine.

The machine with the GPU cannot run qcc's MLIR tools, so the packages and
the reference outputs are made here: each case folder holds model.qpkg (the
CUDA package), input_<i>.npy and expected_<o>.npy, the outputs of qcc's
reference interpreter (qrun --reference) on the same quantized IR, and
tolerance.txt. The models are the bundled Fashion-MNIST CNN quantized to
int8 (static, min-max calibration on 500 training images), to w8a16 (int8
weights, float activations) and to fp8 (E4M3), run on test images, and any quantized MiniLM IR given with --minilm NAME=IR (inputs from
--ids and --mask).

  make_cases.py --qcc build/bin/qcc --qrun build/bin/qrun --out DIR \
      [--fashion-images 8] [--minilm int8=/tmp/int8.mlir --ids ids.npy --mask mask.npy]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "models"))
import fashion_mnist  # noqa: E402  (its loader of the bundled data)


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def write_case(folder, package, inputs, expected, atol, rtol):
    os.makedirs(folder, exist_ok=True)
    shutil.copy(package, os.path.join(folder, "model.qpkg"))
    for i, x in enumerate(inputs):
        np.save(os.path.join(folder, f"input_{i}.npy"), x)
    for o, y in enumerate(expected):
        np.save(os.path.join(folder, f"expected_{o}.npy"), y)
    with open(os.path.join(folder, "tolerance.txt"), "w") as f:
        f.write(f"{atol} {rtol}\n")


def fashion_cases(args, work):
    root = os.path.join(HERE, "..", "..", "examples")
    model = os.path.join(root, "fashion_mnist_cnn.onnx")
    import json
    info = json.load(open(model.replace(".onnx", ".json")))
    calib, _ = fashion_mnist.load("train", info["mean"], info["std"], 500)
    test, _ = fashion_mnist.load("test", info["mean"], info["std"],
                                 args.fashion_images)
    np.save(f"{work}/calib.npy", calib)
    # int8 (static activations, integer kernels), w8a16 (int8 weights per
    # channel read by the weight-only kernels, float activations; no
    # calibration) and fp8 (E4M3 weights and static activations: the FP8
    # GEMM, on tensor cores from sm_89).
    for scheme in ("int8", "w8a16", "fp8"):
        ir, package = f"{work}/{scheme}.mlir", f"{work}/{scheme}.qpkg"
        calibration = ([] if scheme == "w8a16"
                       else [f"--calib={work}/calib.npy"])
        run([args.qcc, "quantize", model, *calibration, f"--scheme={scheme}",
             "--input-shape=input=1x1x28x28", "--quiet", "-o", ir])
        run([args.qcc, "compile", ir, "--target=cuda", "-o", package])
        for i in range(args.fashion_images):
            x = test[i:i + 1].astype(np.float32)
            np.save(f"{work}/x.npy", x)
            run([args.qrun, "--reference", ir, f"--input=input={work}/x.npy",
                 f"--output-dir={work}/ref"])
            y = np.load(f"{work}/ref/logits.npy")
            write_case(os.path.join(args.out, f"fashion_{scheme}_{i}"),
                       package, [x], [y], 1e-3, 1e-3)


def minilm_cases(args, work):
    ids, mask = np.load(args.ids), np.load(args.mask)
    for spec in args.minilm:
        name, ir = spec.split("=", 1)
        run([args.qcc, "compile", ir, "--target=cuda", "-o",
             f"{work}/{name}.qpkg"])
        run([args.qrun, "--reference", ir, f"--input=input_ids={args.ids}",
             f"--input=attention_mask={args.mask}",
             f"--output-dir={work}/{name}-ref"])
        outs = sorted(os.listdir(f"{work}/{name}-ref"))
        expected = [np.load(f"{work}/{name}-ref/{o}") for o in outs]
        # Float ops (softmax, layer norm, GELU) use the GPU's exp/erf, and a
        # value that lands on a rounding boundary can requantize one code
        # away: compare within 2% of the embedding scale.
        write_case(os.path.join(args.out, f"minilm_{name}"),
                   f"{work}/{name}.qpkg", [ids, mask], expected, 2e-2, 2e-2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--qrun", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--fashion-images", type=int, default=8)
    parser.add_argument("--minilm", action="append", default=[])
    parser.add_argument("--ids")
    parser.add_argument("--mask")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        if args.fashion_images:
            fashion_cases(args, work)
        if args.minilm:
            minilm_cases(args, work)


if __name__ == "__main__":
    main()
