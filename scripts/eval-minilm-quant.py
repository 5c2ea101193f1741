#!/usr/bin/env python3
"""all-MiniLM-L6-v2 quantized by qcc and by ONNX Runtime's own quantizers,
side by side on the same sentences.

qcc: W8A8 with SmoothQuant, int8 (RTN, u8 static activations), and 4-bit
weight-only with groups of 128 by RTN, GPTQ and AWQ (exported as
MatMulNBits). ONNX Runtime: quantize_dynamic and quantize_static (int8) and
MatMulNBitsQuantizer (4-bit, block 128). Every model runs in ONNX Runtime on
a fixed evaluation set of sentences, disjoint from the calibration
sentences; the figure is the cosine similarity of its sentence embeddings to
the FP32 model's. For GPTQ and AWQ the script also prints, layer by layer,
the output error on the calibration activations relative to RTN at the same
size (from qcc's report).

usage: scripts/eval-minilm-quant.py [--build build] [--keep DIR]
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# The sentences of the FP32 MiniLM test, then eight more.
_spec = importlib.util.spec_from_file_location(
    "minilm_test", os.path.join(ROOT, "test", "models", "minilm.py"))
_minilm_test = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_minilm_test)
# Calibration sentences are disjoint from the evaluation ones.
CALIBRATION = _minilm_test.CALIBRATION
EVALUATION = _minilm_test.SENTENCES + [
    "The weather forecast predicts sunshine for the weekend.",
    "She finished the marathon in under four hours.",
    "The bank raised interest rates again.",
    "A woman is slicing an onion in the kitchen.",
    "Machine translation makes mistakes with idioms.",
    "The library is quiet during exam season.",
    "Volcanoes can erupt without much warning.",
    "He is learning to play the guitar.",
]


def embeddings(model, ids, mask, level=ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"input_ids": ids[i:i + 1],
                                              "attention_mask": mask[i:i + 1]})[0]
                           for i in range(len(ids))])


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--seq", type=int, default=16)
    parser.add_argument("--keep", help="keep models and reports in this directory")
    args = parser.parse_args()
    qcc = os.path.join(args.build, "bin", "qcc")

    spec = importlib.util.spec_from_file_location(
        "make_minilm", os.path.join(ROOT, "scripts", "make-minilm-onnx.py"))
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    tokenizer = builder.WordPiece(os.path.join(builder.model_dir(), "vocab.txt"))
    calib_ids, calib_mask = tokenizer.batch(CALIBRATION, args.seq)
    eval_ids, eval_mask = tokenizer.batch(EVALUATION, args.seq)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or tmp
        os.makedirs(os.path.join(work, "calib"), exist_ok=True)
        fp32 = os.path.join(work, "minilm.onnx")
        onnx.save(builder.build(1, args.seq), fp32)
        for i in range(len(CALIBRATION)):
            np.savez(os.path.join(work, "calib", f"{i:03d}.npz"),
                     input_ids=calib_ids[i:i + 1], attention_mask=calib_mask[i:i + 1])
        reference = embeddings(fp32, eval_ids, eval_mask)
        results = []

        def run_qcc(name, *options):
            out = os.path.join(work, f"{name}.onnx")
            report = os.path.join(work, f"{name}.json")
            print(f"== qcc quantize {' '.join(options)}", flush=True)
            subprocess.run([qcc, "quantize", fp32, f"--calib={work}/calib", "--holdout=4",
                            "--quiet", *options, "-o", out, f"--report={report}"],
                           check=True, stdout=subprocess.DEVNULL)
            rep = json.load(open(report))
            results.append((f"qcc {name}", out, rep["bytes_quantized"]))
            return rep

        run_qcc("w8a8-smoothquant", "--scheme=w8a8", "--method=smoothquant")
        run_qcc("int8-rtn", "--scheme=int8")
        reports = {}
        for method in ("rtn", "gptq", "awq"):
            reports[method] = run_qcc(f"w4a16-{method}", "--scheme=w4a16",
                                      "--group-size=128", f"--method={method}")

        # ONNX Runtime's quantizers on the same model and calibration data.
        from onnxruntime.quantization import (CalibrationDataReader, QuantType,
                                              quantize_dynamic, quantize_static)
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.items = iter([{"input_ids": calib_ids[i:i + 1],
                                    "attention_mask": calib_mask[i:i + 1]}
                                   for i in range(len(CALIBRATION) - 4)])

            def get_next(self):
                return next(self.items, None)

        ort_dynamic = os.path.join(work, "ort-dynamic.onnx")
        quantize_dynamic(fp32, ort_dynamic, weight_type=QuantType.QInt8)
        ort_static = os.path.join(work, "ort-static.onnx")
        quantize_static(fp32, ort_static, Reader(), per_channel=True,
                        weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8)
        ort_nbits = os.path.join(work, "ort-matmulnbits.onnx")
        quantizer = MatMulNBitsQuantizer(onnx.load(fp32), block_size=128,
                                         is_symmetric=True)
        quantizer.process()
        quantizer.model.save_model_to_file(ort_nbits)

        def weight_bytes(path):
            model = onnx.load(path)
            return sum(onnx.numpy_helper.to_array(t).nbytes for t in model.graph.initializer)

        results += [("ORT quantize_dynamic int8", ort_dynamic, weight_bytes(ort_dynamic)),
                    ("ORT quantize_static int8", ort_static, weight_bytes(ort_static)),
                    ("ORT MatMulNBits 4-bit g128", ort_nbits, weight_bytes(ort_nbits))]

        print(f"\nall-MiniLM-L6-v2, {len(EVALUATION)} evaluation sentences (seq {args.seq}), "
              f"{len(CALIBRATION) - 4} calibration sentences; cosine similarity of "
              f"embeddings to FP32 ({weight_bytes(fp32)} weight bytes)")
        print(f"{'model':<30}{'weight bytes':>14}{'mean cos':>10}{'min cos':>10}")
        for name, path, size in results:
            c = cosines(embeddings(path, eval_ids, eval_mask), reference)
            print(f"{name:<30}{size:>14}{c.mean():>10.5f}{c.min():>10.5f}")

        print("\nlayer output error on calibration activations, relative to RTN "
              "(4-bit g128; below 1 is better):")
        print(f"{'layer':<34}{'GPTQ':>8}{'AWQ':>8}")
        worse = 0
        for gptq, awq in zip(reports["gptq"]["layers"], reports["awq"]["layers"]):
            def ratio(layer):
                e, r = layer.get("weight_output_error"), layer.get("rtn_weight_output_error")
                return e / r if e is not None and r else float("nan")
            g, a = ratio(gptq), ratio(awq)
            worse += (g > 1) + (a > 1)
            print(f"{gptq['name']:<34}{g:>8.3f}{a:>8.3f}")
        print(f"layers where GPTQ or AWQ is worse than RTN: {worse}")


if __name__ == "__main__":
    main()
