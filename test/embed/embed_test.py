#!/usr/bin/env python3
"""The installed tree, used as a project outside qcc would use it:
`cmake --install` into a fresh prefix, examples/embed configured against it
with find_package(qcc) and built, a package compiled by the installed qcc,
and the example's outputs (two threads, one context each) compared with the
installed qrun's on the same input. Standard library only."""
import argparse
import ast
import os
import struct
import subprocess
import sys
import tempfile


def npy_floats(path):
    data = open(path, "rb").read()
    length_size = 2 if data[6] == 1 else 4
    (header_len,) = struct.unpack_from("<H" if length_size == 2 else "<I", data, 8)
    header = ast.literal_eval(data[8 + length_size:8 + length_size + header_len].decode())
    assert header["descr"] == "<f4", header
    return data[8 + length_size + header_len:]


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, check=True, **kw)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--build", required=True, help="qcc's build directory")
    parser.add_argument("--source", required=True, help="qcc's source directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "prefix")
        run(["cmake", "--install", args.build, "--prefix", prefix],
            stdout=subprocess.DEVNULL)
        for path in ("include/qcc/runtime.h", "include/qcc/runtime.hpp",
                     "lib/cmake/qcc/qccConfig.cmake", "bin/qcc", "bin/qrun"):
            if not os.path.exists(os.path.join(prefix, path)):
                sys.exit(f"FAILED: the install has no {path}")
        example = os.path.join(tmp, "embed-build")
        run(["cmake", "-S", os.path.join(args.source, "examples", "embed"), "-B", example,
             "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={prefix}"], stdout=subprocess.DEVNULL)
        run(["cmake", "--build", example], stdout=subprocess.DEVNULL)

        writer = os.path.join(args.source, "test", "passes", "Inputs", "write_npy.py")
        calib, x = os.path.join(tmp, "calib.npy"), os.path.join(tmp, "x.npy")
        run([sys.executable, writer, calib, "8x1x1x28x28", "random:5"])
        run([sys.executable, writer, x, "1x1x28x28", "random:9"])
        package = os.path.join(tmp, "cnn.qpkg")
        run([os.path.join(prefix, "bin", "qcc"), "compile",
             os.path.join(args.source, "examples", "fashion_mnist_cnn.onnx"),
             f"--calib={calib}", "--input-shape=input=1x1x28x28", "--holdout=0",
             "--quiet", "-o", package], stdout=subprocess.DEVNULL)
        raw = os.path.join(tmp, "x.f32")
        open(raw, "wb").write(npy_floats(x))
        run([os.path.join(prefix, "bin", "qrun"), package, f"--input=input={x}",
             f"--output-dir={tmp}/out"], stdout=subprocess.DEVNULL)
        want = [v for (v,) in struct.iter_unpack("<f", npy_floats(f"{tmp}/out/logits.npy"))]
        got = run([os.path.join(example, "embed"), package, raw],
                  capture_output=True, text=True).stdout.split()
        got = [struct.unpack("<f", struct.pack("<f", float(v)))[0] for v in got]
        if got != want:
            sys.exit(f"FAILED: the embedded runtime gives {got}, qrun {want}")
        print(f"embedded runtime from the installed tree: {len(got)} logits equal "
              "to qrun's, from two threads")


if __name__ == "__main__":
    main()
