#!/usr/bin/env python3
"""The main job's table: the bundled Fashion-MNIST CNN in FP32 and int8
compiled by qcc for this CPU, beside ONNX Runtime running the FP32 model and
its own int8 quantization of it (quantize_static: QDQ, per-channel i8
weights, u8 activations, the same calibration images), all on the 10,000
test images and measured in this run. Rows: top-1 accuracy, file size,
batch-1 latency p50 and throughput (qcc: qrun --bench; ONNX Runtime: its
session; both with --threads threads). Writes qcc's int8 report (JSON and
HTML) into --out and says where.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
from onnxruntime import quantization as ortq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "benchmarks"))
sys.path.insert(0, os.path.join(HERE, "..", "test", "models"))
from bench_models import Reader, ort_latency, ort_session, qrun_latency  # noqa: E402
from fashion_mnist import load  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qcc", default="build/bin/qcc")
    parser.add_argument("--qrun", default="build/bin/qrun")
    parser.add_argument("--model", default=os.path.join(HERE, "..", "examples",
                                                        "fashion_mnist_cnn.onnx"))
    parser.add_argument("--out", default="build/examples/main-job")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--calib-images", type=int, default=500)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    out = args.out

    info = json.load(open(args.model.replace(".onnx", ".json")))
    calib, _ = load("train", info["mean"], info["std"], args.calib_images)
    test, labels = load("test", info["mean"], info["std"])
    np.save(os.path.join(out, "calib.npy"), calib)
    np.save(os.path.join(out, "test.npy"), test)

    print(f"compiling FP32 and int8 ({len(calib)} calibration images) with qcc, "
          "and ONNX Runtime's int8 with quantize_static", flush=True)
    packages = {"qcc FP32": os.path.join(out, "cnn-fp32.qpkg"),
                "qcc int8": os.path.join(out, "cnn-int8.qpkg")}
    fp32_ir = os.path.join(out, "cnn.mlir")
    subprocess.run([args.qcc, "import", args.model, "--input-shape=input=1x1x28x28",
                    "-o", fp32_ir], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([args.qcc, "compile", fp32_ir, "-o", packages["qcc FP32"]],
                   check=True, stdout=subprocess.DEVNULL)
    report = os.path.join(out, "report.json")
    subprocess.run([args.qcc, "compile", args.model, f"--calib={out}/calib.npy",
                    "--scheme=int8", "--input-shape=input=1x1x28x28", "--holdout=0",
                    f"--report={report}", "--quiet", "-o", packages["qcc int8"]],
                   check=True, stdout=subprocess.DEVNULL)
    ort_int8 = os.path.join(out, "cnn-ort-int8.onnx")
    ortq.quantize_static(args.model, ort_int8, Reader("input", calib),
                         quant_format=ortq.QuantFormat.QDQ, per_channel=True,
                         activation_type=ortq.QuantType.QUInt8,
                         weight_type=ortq.QuantType.QInt8)
    files = {**packages, "ORT FP32": args.model, "ORT int8": ort_int8}

    print(f"running the {len(test)} test images through each", flush=True)
    accuracy = {}
    for label, package in packages.items():
        result = os.path.join(out, label.replace(" ", "-"))
        subprocess.run([args.qrun, package, "--stacked", f"--input=input={out}/test.npy",
                        f"--output-dir={result}"], check=True, stdout=subprocess.DEVNULL)
        logits = np.load(os.path.join(result, "logits.npy"))
        accuracy[label] = (logits.argmax(1) == labels).mean()
    for label in ("ORT FP32", "ORT int8"):
        session = ort_session(files[label], args.threads)
        logits = np.concatenate([session.run(None, {"input": test[s:s + 1000]})[0]
                                 for s in range(0, len(test), 1000)])
        accuracy[label] = (logits.argmax(1) == labels).mean()

    print(f"timing batch 1, {args.runs} runs each, {args.threads} thread(s)", flush=True)
    sample = {"input": test[:1]}
    timing = {label: qrun_latency(args.qrun, packages[label], sample, args.threads,
                                  args.runs, out) for label in packages}
    for label in ("ORT FP32", "ORT int8"):
        timing[label] = ort_latency(files[label], sample, args.threads, args.runs)

    columns = ("qcc FP32", "qcc int8", "ORT FP32", "ORT int8")
    print()
    print(f"Fashion-MNIST CNN, {len(test)} test images; batch 1, "
          f"{args.threads} thread(s), measured in this run")
    print(f"  {'':<22}" + "".join(f"{c:>12}" for c in columns))
    rows = (("top-1 accuracy", lambda c: f"{accuracy[c]:.4f}"),
            ("size (bytes)", lambda c: f"{os.path.getsize(files[c])}"),
            ("latency p50 (ms)", lambda c: f"{timing[c][0]:.4f}"),
            ("throughput (runs/s)", lambda c: f"{timing[c][2]:.0f}"))
    for name, cell in rows:
        print(f"  {name:<22}" + "".join(f"{cell(c):>12}" for c in columns))
    print()
    print(f"qcc's int8 report: {report.replace('.json', '.html')} (JSON: {report})")


if __name__ == "__main__":
    main()
