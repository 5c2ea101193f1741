#!/usr/bin/env python3
"""int8 static quantization of the bundled Fashion-MNIST CNN, end to end.

qcc quantize calibrates on 500 training images (32 more held out for the
report) with per-channel int8 weights and u8 static activations, and writes
both qg IR and a QDQ ONNX model. Then, on all 10,000 test images:
  - the quantized IR run by qcc's reference interpreter must keep top-1
    within --max-drop (0.5 points) of the FP32 model run by ONNX Runtime;
  - the QDQ model run by ONNX Runtime must agree with the reference
    interpreter on at least --min-agreement (99.9%) of the argmaxes.
ONNX Runtime runs the QDQ graph as written (basic graph optimizations); its
default fused int8 kernels are also measured and printed, not asserted.
The quantized IR is also compiled for this CPU (qcc compile) and the package
run by qrun on the 10,000 images: its top-1 must equal the reference
interpreter's within --max-cpu-diff and its argmaxes agree on at least
--min-agreement.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fashion_mnist import load  # noqa: E402  (the same data loading as the FP32 test)

def ort_logits(model, images, level):
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: images[s:s + 1000]})[0]
                           for s in range(0, len(images), 1000)])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--qrun", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--calib-images", type=int, default=500)
    parser.add_argument("--calib-method", default="minmax")
    parser.add_argument("--max-drop", type=float, default=0.005)
    parser.add_argument("--min-agreement", type=float, default=0.999)
    parser.add_argument("--max-cpu-diff", type=float, default=0.0005)
    parser.add_argument("--keep", help="keep the outputs in this directory")
    parser.add_argument("--ptxas", help="also compile the int8 model for CUDA "
                        "and check the PTX with this ptxas")
    args = parser.parse_args()

    info = json.load(open(args.model.replace(".onnx", ".json")))
    calib, _ = load("train", info["mean"], info["std"], args.calib_images + 32)
    test, labels = load("test", info["mean"], info["std"])
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or tmp
        os.makedirs(work, exist_ok=True)
        np.save(os.path.join(work, "calib.npy"), calib)
        np.save(os.path.join(work, "test.npy"), test)
        common = [args.model, f"--calib={work}/calib.npy", "--scheme=int8",
                  "--input-shape=input=1x1x28x28", "--holdout=32",
                  f"--calib-method={args.calib_method}", "--quiet"]
        subprocess.run([args.qcc, "quantize", *common, "-o", f"{work}/int8.mlir",
                        f"--report={work}/report.json"], check=True)
        subprocess.run([args.qcc, "quantize", *common, "-o", f"{work}/int8.onnx"],
                       check=True, stdout=subprocess.DEVNULL)
        print("  running the quantized IR on 10,000 images (reference interpreter)",
              flush=True)
        subprocess.run([args.qrun, "--reference", f"{work}/int8.mlir", "--stacked",
                        f"--input=input={work}/test.npy", f"--output-dir={work}/out"],
                       check=True, stdout=subprocess.DEVNULL)
        ours = np.load(f"{work}/out/logits.npy").reshape(len(test), -1)
        print("  compiling it for this CPU and running the package", flush=True)
        subprocess.run([args.qcc, "compile", f"{work}/int8.mlir", "-o",
                        f"{work}/int8.qpkg"], check=True)
        subprocess.run([args.qrun, f"{work}/int8.qpkg", "--stacked",
                        f"--input=input={work}/test.npy", f"--output-dir={work}/cpu"],
                       check=True, stdout=subprocess.DEVNULL)
        cpu = np.load(f"{work}/cpu/logits.npy").reshape(len(test), -1)
        if args.ptxas:
            from cuda_ptx import check_cuda_ptx
            check_cuda_ptx(args.qcc, args.ptxas, f"{work}/int8.mlir", work,
                           "fashion-mnist int8")
        report = json.load(open(f"{work}/report.json"))
        fp32 = ort_logits(args.model, test, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
        qdq = ort_logits(f"{work}/int8.onnx", test,
                         ort.GraphOptimizationLevel.ORT_ENABLE_BASIC)
        fused = ort_logits(f"{work}/int8.onnx", test,
                           ort.GraphOptimizationLevel.ORT_ENABLE_ALL)

    fp32_top1 = float((fp32.argmax(1) == labels).mean())
    int8_top1 = float((ours.argmax(1) == labels).mean())
    qdq_top1 = float((qdq.argmax(1) == labels).mean())
    fused_top1 = float((fused.argmax(1) == labels).mean())
    agreement = float((qdq.argmax(1) == ours.argmax(1)).mean())
    fused_agreement = float((fused.argmax(1) == ours.argmax(1)).mean())
    cpu_top1 = float((cpu.argmax(1) == labels).mean())
    cpu_agreement = float((cpu.argmax(1) == ours.argmax(1)).mean())
    cpu_diff = float(np.abs(cpu - ours).max())
    diff = float(np.abs(qdq - ours).max())
    print(f"fashion-mnist int8 static ({args.calib_method}, {args.calib_images} "
          f"calibration images): {report['bytes_fp32']} -> {report['bytes_quantized']} "
          f"bytes ({report['bytes_fp32'] / report['bytes_quantized']:.2f}x)")
    print(f"  top-1 FP32 (ONNX Runtime)        {fp32_top1:.4f}")
    print(f"  top-1 int8 (qcc reference)       {int8_top1:.4f}  "
          f"(drop {100 * (fp32_top1 - int8_top1):+.2f} points)")
    print(f"  top-1 int8 (qcc CPU package)     {cpu_top1:.4f}  argmax agreement with "
          f"the reference {cpu_agreement:.4f}, max |logit diff| {cpu_diff:.2e}")
    print(f"  top-1 int8 QDQ (ONNX Runtime)    {qdq_top1:.4f}  argmax agreement with "
          f"qcc {agreement:.4f}, max |logit diff| {diff:.2e}")
    print(f"  top-1 int8 QDQ (ORT fused int8)  {fused_top1:.4f}  argmax agreement with "
          f"qcc {fused_agreement:.4f} (not asserted)")
    for layer in report["layers"]:
        print(f"    {layer['name']:<32} {layer['format']:<4} {layer['granularity']:<8} "
              f"{layer['activations']:<10} SQNR {layer['sqnr_db']} dB")
    failures = []
    if fp32_top1 - int8_top1 > args.max_drop:
        failures.append(f"top-1 dropped {fp32_top1 - int8_top1:.4f} > {args.max_drop}")
    if agreement < args.min_agreement:
        failures.append(f"argmax agreement {agreement:.4f} < {args.min_agreement}")
    if abs(cpu_top1 - int8_top1) > args.max_cpu_diff:
        failures.append(f"CPU package top-1 {cpu_top1:.4f} differs from the reference "
                        f"{int8_top1:.4f} by more than {args.max_cpu_diff}")
    if cpu_agreement < args.min_agreement:
        failures.append(f"CPU package argmax agreement {cpu_agreement:.4f} < "
                        f"{args.min_agreement}")
    for failure in failures:
        print("FAILED:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
