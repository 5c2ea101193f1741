#!/usr/bin/env python3
"""End-to-end benchmark: the real models compiled int8 by qcc for this CPU
against ONNX Runtime running the FP32 model and its own int8 quantization of
it, all measured in this run on the same inputs. For the CNN, ONNX Runtime's
int8 is quantize_static (QDQ, per-channel i8 weights, u8 activations, the
same calibration images); for MiniLM it is quantize_dynamic, because its
quantize_static model loses most of the accuracy (mean cosine 0.44, see
scripts/eval-minilm-quant.py).

For each model it prints accuracy, file size, and batch-1 latency (p50, p99)
and throughput with 1 and 2 threads (--threads), and the ratio of each p50
to qcc int8's (above 1: qcc int8 is faster).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from onnxruntime import quantization as ortq

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "test", "models"))
from fashion_mnist import load  # noqa: E402


def ort_session(model, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def ort_latency(model, feeds, threads, runs):
    session = ort_session(model, threads)
    for _ in range(min(runs, 50)):
        session.run(None, feeds)
    times = []
    start = time.perf_counter()
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1e3)
    total = time.perf_counter() - start
    return np.percentile(times, 50), np.percentile(times, 99), runs / total


def qrun_latency(qrun, package, feeds, threads, runs, work):
    args = []
    for name, value in feeds.items():
        path = os.path.join(work, f"feed_{name}.npy")
        np.save(path, value)
        args.append(f"--input={name}={path}")
    out = subprocess.run([qrun, package, *args, f"--bench={runs}",
                          f"--threads={threads}"], check=True, capture_output=True,
                         text=True).stdout
    m = re.search(r"p50 ([0-9.]+) ms, p90 [0-9.]+ ms, p99 ([0-9.]+) ms; "
                  r"throughput ([0-9.]+)", out)
    if not m:
        sys.exit("cannot read qrun's --bench line:\n" + out)
    return float(m.group(1)), float(m.group(2)), float(m.group(3))


class Reader(ortq.CalibrationDataReader):
    def __init__(self, name, samples):
        self.items = iter([{name: s[None]} for s in samples])

    def get_next(self):
        return next(self.items, None)


def cnn(args, work):
    model = os.path.join(HERE, "..", "examples", "fashion_mnist_cnn.onnx")
    info = json.load(open(model.replace(".onnx", ".json")))
    calib, _ = load("train", info["mean"], info["std"], args.calib_images)
    test, labels = load("test", info["mean"], info["std"])
    np.save(os.path.join(work, "calib.npy"), calib)
    np.save(os.path.join(work, "test.npy"), test)

    package = os.path.join(work, "cnn.qpkg")
    subprocess.run([args.qcc, "compile", model, f"--calib={work}/calib.npy",
                    "--scheme=int8", "--input-shape=input=1x1x28x28", "--holdout=0",
                    "--quiet", "-o", package], check=True, stdout=subprocess.DEVNULL)
    ort_int8 = os.path.join(work, "cnn_ort_int8.onnx")
    ortq.quantize_static(model, ort_int8, Reader("input", calib),
                         quant_format=ortq.QuantFormat.QDQ, per_channel=True,
                         activation_type=ortq.QuantType.QUInt8,
                         weight_type=ortq.QuantType.QInt8)

    subprocess.run([args.qrun, package, "--stacked", f"--input=input={work}/test.npy",
                    f"--output-dir={work}/out"], check=True, stdout=subprocess.DEVNULL)
    accuracy = {"qcc int8": (np.load(f"{work}/out/logits.npy").argmax(1) == labels).mean()}
    for label, path in (("ORT FP32", model), ("ORT int8", ort_int8)):
        session = ort_session(path, 2)
        logits = np.concatenate([session.run(None, {"input": test[s:s + 1000]})[0]
                                 for s in range(0, len(test), 1000)])
        accuracy[label] = (logits.argmax(1) == labels).mean()
    sizes = {"ORT FP32": os.path.getsize(model), "ORT int8": os.path.getsize(ort_int8),
             "qcc int8": os.path.getsize(package)}

    rows = []
    for threads in args.threads:
        sample = test[:1]
        ours = qrun_latency(args.qrun, package, {"input": sample}, threads, args.runs,
                            work)
        fp32 = ort_latency(model, {"input": sample}, threads, args.runs)
        int8 = ort_latency(ort_int8, {"input": sample}, threads, args.runs)
        rows.append((threads, {"qcc int8": ours, "ORT FP32": fp32, "ORT int8": int8}))
    print_table("Fashion-MNIST CNN (batch 1, 10,000 test images)", accuracy, sizes, rows)


def minilm(args, work):
    """MiniLM: qcc int8 (static, calibrated on the test module's calibration
    sentences) and FP32 packages against ONNX Runtime FP32 and ONNX Runtime's
    own int8 (quantize_dynamic); accuracy is the mean cosine similarity of
    the embeddings to FP32 over the test sentences."""
    import importlib.util
    import onnx

    def load_module(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    builder = load_module("make_minilm", os.path.join(HERE, "..", "scripts", "make-minilm-onnx.py"))
    sentences = load_module("minilm_test", os.path.join(HERE, "..", "test", "models", "minilm.py"))
    seq = 16
    model = os.path.join(work, "minilm.onnx")
    onnx.save(builder.build(1, seq), model)
    tokenizer = builder.WordPiece(os.path.join(builder.model_dir(), "vocab.txt"))
    calib = os.path.join(work, "minilm-calib")
    os.makedirs(calib, exist_ok=True)
    cids, cmask = tokenizer.batch(sentences.CALIBRATION, seq)
    for i in range(len(cids)):
        np.savez(os.path.join(calib, f"{i:03d}.npz"), input_ids=cids[i:i + 1],
                 attention_mask=cmask[i:i + 1])
    packages = {}
    mlir = os.path.join(work, "minilm.mlir")
    subprocess.run([args.qcc, "import", model, "-o", mlir], check=True)
    packages["qcc FP32"] = os.path.join(work, "minilm-fp32.qpkg")
    subprocess.run([args.qcc, "compile", mlir, "-o", packages["qcc FP32"]], check=True,
                   stdout=subprocess.DEVNULL)
    packages["qcc int8"] = os.path.join(work, "minilm-int8.qpkg")
    subprocess.run([args.qcc, "compile", model, f"--calib={calib}", "--holdout=4",
                    "--scheme=int8", "--quiet", "-o", packages["qcc int8"]], check=True,
                   stdout=subprocess.DEVNULL)
    packages["qcc w4"] = os.path.join(work, "minilm-w4.qpkg")
    subprocess.run([args.qcc, "compile", model, f"--calib={calib}", "--holdout=4",
                    "--scheme=w4a16", "--group-size=128", "--method=rtn", "--quiet",
                    "-o", packages["qcc w4"]], check=True, stdout=subprocess.DEVNULL)
    ort_int8 = os.path.join(work, "minilm_ort_int8.onnx")
    ortq.quantize_dynamic(model, ort_int8, weight_type=ortq.QuantType.QInt8)
    # ONNX Runtime's own 4-bit weights (MatMulNBits, groups of 128).
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    ort_w4 = os.path.join(work, "minilm_ort_w4.onnx")
    quantizer = MatMulNBitsQuantizer(onnx.load(model), block_size=128, is_symmetric=True)
    quantizer.process()
    quantizer.model.save_model_to_file(ort_w4)

    # Accuracy: every test sentence, one at a time (batch 1).
    ids, mask = tokenizer.batch(sentences.SENTENCES, seq)
    np.save(os.path.join(work, "minilm-ids.npy"), ids)
    np.save(os.path.join(work, "minilm-mask.npy"), mask)

    def ort_embed(path):
        session = ort_session(path, 1)
        return np.concatenate([session.run(None, {"input_ids": ids[i:i + 1],
                                                  "attention_mask": mask[i:i + 1]})[0]
                               for i in range(len(ids))])

    def qcc_embed(package, name):
        out = os.path.join(work, name)
        subprocess.run([args.qrun, package, "--stacked",
                        f"--input=input_ids={work}/minilm-ids.npy",
                        f"--input=attention_mask={work}/minilm-mask.npy",
                        f"--output-dir={out}"], check=True, stdout=subprocess.DEVNULL)
        return np.load(os.path.join(out, "embedding.npy"))

    reference = ort_embed(model)

    def cosine(e):
        return float(((e * reference).sum(1) / (np.linalg.norm(e, axis=1) *
                                                np.linalg.norm(reference, axis=1))).mean())
    accuracy = {"ORT FP32": 1.0, "ORT int8": cosine(ort_embed(ort_int8)),
                "ORT w4": cosine(ort_embed(ort_w4)),
                "qcc int8": cosine(qcc_embed(packages["qcc int8"], "int8-out")),
                "qcc w4": cosine(qcc_embed(packages["qcc w4"], "w4-out")),
                "qcc FP32": cosine(qcc_embed(packages["qcc FP32"], "fp32-out"))}
    paths = {"ORT FP32": model, "ORT int8": ort_int8, "ORT w4": ort_w4, **packages}
    sizes = {label: os.path.getsize(path) for label, path in paths.items()}
    feeds = {"input_ids": ids[:1], "attention_mask": mask[:1]}
    runs = max(args.runs // 10, 20)
    rows = []
    for threads in args.threads:
        rows.append((threads, {
            "ORT FP32": ort_latency(model, feeds, threads, runs),
            "ORT int8": ort_latency(ort_int8, feeds, threads, runs),
            "ORT w4": ort_latency(ort_w4, feeds, threads, runs),
            "qcc int8": qrun_latency(args.qrun, packages["qcc int8"], feeds, threads, runs, work),
            "qcc w4": qrun_latency(args.qrun, packages["qcc w4"], feeds, threads, runs, work),
            "qcc FP32": qrun_latency(args.qrun, packages["qcc FP32"], feeds, threads,
                                     max(runs // 10, 10), work)}))
    print_table(f"all-MiniLM-L6-v2 (batch 1, {seq} tokens; accuracy: mean cosine to FP32 "
                f"over {len(ids)} sentences; ORT int8 is quantize_dynamic, w4 is 4-bit "
                f"weights in groups of 128: ORT MatMulNBits, qcc RTN)",
                accuracy, sizes, rows,
                ("ORT FP32", "ORT int8", "ORT w4", "qcc int8", "qcc w4", "qcc FP32"))


def print_table(title, accuracy, sizes, rows,
                labels=("ORT FP32", "ORT int8", "qcc int8")):
    print(title)
    print(f"  {'':<10} {'accuracy':>9} {'bytes':>10}")
    for label in labels:
        print(f"  {label:<10} {accuracy[label]:>9.4f} {sizes[label]:>10}")
    print(f"  {'threads':<8} {'runtime':<10} {'p50 ms':>9} {'p99 ms':>9} "
          f"{'runs/s':>9} {'p50 / qcc int8 p50':>19}")
    for threads, measured in rows:
        qcc_p50 = measured["qcc int8"][0]
        for label in labels:
            p50, p99, tput = measured[label]
            ratio = "" if label == "qcc int8" else f"{p50 / qcc_p50:.2f}x"
            print(f"  {threads:<8} {label:<10} {p50:>9.4f} {p99:>9.4f} {tput:>9.1f} "
                  f"{ratio:>19}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qcc", default="build/bin/qcc")
    parser.add_argument("--qrun", default="build/bin/qrun")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--calib-images", type=int, default=500)
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    with tempfile.TemporaryDirectory() as work:
        cnn(args, work)
        print()
        minilm(args, work)


if __name__ == "__main__":
    main()
