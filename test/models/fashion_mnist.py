#!/usr/bin/env python3
"""The bundled Fashion-MNIST CNN on all 10,000 test images: qcc's reference
interpreter (qcc import + qrun --reference) against ONNX Runtime, an
independent FP32 executor. Fails if any logit differs by more than 1e-4 or
the top-1 accuracy falls below the floor."""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

DATA = "/usr/share/datasets/fashion-mnist"


def load(kind, mean, std, count=None):
    """The first `count` images of the "train" or "test" set, normalized as
    the model expects, and their labels."""
    prefix = "train" if kind == "train" else "t10k"
    with gzip.open(f"{DATA}/{prefix}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f"{DATA}/{prefix}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    images, labels = images[:count], labels[:count]
    return ((images.astype(np.float32) / 255.0 - mean) / std).astype(np.float32), labels


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--qrun", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--min-accuracy", type=float, default=0.85)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    info = json.load(open(args.model.replace(".onnx", ".json")))
    images, labels = load("test", info["mean"], info["std"])
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    qcc_logits, ort_logits = [], []
    with tempfile.TemporaryDirectory() as tmp:
        mlir = os.path.join(tmp, "model.mlir")
        subprocess.run([args.qcc, "import", args.model, "-o", mlir,
                        f"--input-shape=input={args.batch}x1x28x28"], check=True)
        for start in range(0, len(images), args.batch):
            batch = images[start:start + args.batch]
            if len(batch) != args.batch:
                sys.exit("the image count must be a multiple of --batch")
            path = os.path.join(tmp, "batch.npy")
            np.save(path, batch)
            out = os.path.join(tmp, "out")
            subprocess.run([args.qrun, "--reference", mlir, f"--input=input={path}",
                            f"--output-dir={out}"], check=True, stdout=subprocess.DEVNULL)
            qcc_logits.append(np.load(os.path.join(out, "logits.npy")))
            ort_logits.append(session.run(None, {"input": batch})[0])
            print(f"  {start + len(batch)}/{len(images)} images", flush=True)
    ours, theirs = np.concatenate(qcc_logits), np.concatenate(ort_logits)
    diff = float(np.abs(ours - theirs).max())
    accuracy = float((ours.argmax(1) == labels).mean())
    ort_accuracy = float((theirs.argmax(1) == labels).mean())
    agreement = float((ours.argmax(1) == theirs.argmax(1)).mean())
    print(f"fashion-mnist: top-1 {accuracy:.4f} (qcc reference), {ort_accuracy:.4f} "
          f"(ONNX Runtime), argmax agreement {agreement:.4f}, max |logit diff| "
          f"{diff:.2e} over {len(images)} images")
    failures = []
    if diff > args.tolerance:
        failures.append(f"logits differ by {diff:.2e} > {args.tolerance}")
    if accuracy < args.min_accuracy:
        failures.append(f"top-1 {accuracy:.4f} < {args.min_accuracy}")
    for failure in failures:
        print("FAILED:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
