#!/usr/bin/env python3
"""The installed tree, used as a project outside qcc would use it:
`cmake --install` into a fresh prefix, then

- examples/embed configured against it with find_package(qcc) and built, a
  package compiled by the installed qcc, and the example's outputs (two
  threads, one context each) compared with the installed qrun's on the same
  input;
- examples/compile (the compiler API from C++ and from C) built the same
  way: the C++ program quantizes with samples in memory, compiles and runs;
  its outputs must equal the installed qrun's on the package the installed
  qcc makes from the same samples read from a file. The C program's report
  must show the scheme and formats it asked for, and its errors must reach
  the caller as diagnostics.

Standard library only."""
import argparse
import ast
import json
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
                     "include/qcc/compiler.h", "include/qcc/compiler.hpp",
                     "include/qcc/report.hpp",
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
        check_compiler_api(args, prefix, tmp, calib)


def check_compiler_api(args, prefix, tmp, calib):
    example = os.path.join(tmp, "compile-build")
    run(["cmake", "-S", os.path.join(args.source, "examples", "compile"), "-B", example,
         "-G", "Ninja", f"-DCMAKE_PREFIX_PATH={prefix}"], stdout=subprocess.DEVNULL)
    run(["cmake", "--build", example], stdout=subprocess.DEVNULL)
    model = os.path.join(args.source, "examples", "fashion_mnist_cnn.onnx")

    # The same 8 samples: in memory for the example, in a file for qcc.
    samples = os.path.join(tmp, "calib.f32")
    open(samples, "wb").write(npy_floats(calib))
    # The first of those samples: the generator's first 784 values.
    first = os.path.join(tmp, "first.npy")
    run([sys.executable, os.path.join(args.source, "test", "passes", "Inputs", "write_npy.py"),
         first, "1x1x28x28", "random:5"])
    api_package = os.path.join(tmp, "api.qpkg")
    got = run([os.path.join(example, "quantize-and-run"), model, samples, "8", api_package],
              capture_output=True, text=True).stdout.split()
    cli_package = os.path.join(tmp, "cli.qpkg")
    run([os.path.join(prefix, "bin", "qcc"), "compile", model, f"--calib={calib}",
         "--input-shape=input=1x1x28x28", "--holdout=0", "--quiet", "-o", cli_package],
        stdout=subprocess.DEVNULL)
    run([os.path.join(prefix, "bin", "qrun"), cli_package, f"--input=input={first}",
         f"--output-dir={tmp}/cli-out"], stdout=subprocess.DEVNULL)
    want = [v for (v,) in struct.iter_unpack("<f", npy_floats(f"{tmp}/cli-out/logits.npy"))]
    got = [struct.unpack("<f", struct.pack("<f", float(v)))[0] for v in got]
    if len(want) != 10 or got != want:
        sys.exit(f"FAILED: the C++ API program (samples in memory) gives {got}; the "
                 f"installed qcc and qrun (samples in a file) give {want}")
    print("compiler API from C++: quantized with samples in memory, compiled and "
          f"run; {len(got)} logits equal to the qcc/qrun pipeline on the same samples")

    # C: options by name, the report as JSON, and an error.
    c_package = os.path.join(tmp, "c.qpkg")
    result = run([os.path.join(example, "quantize-c"), model, calib, c_package,
                  "input-shape=input=1x1x28x28", "method=gptq", "calib-method=percentile"], capture_output=True, text=True)
    report = json.loads(result.stdout)
    formats = {layer["format"] for layer in report["layers"]}
    if (report["method"] != "gptq" or not report["calibration"].startswith("percentile")
            or formats != {"i8"} or not os.path.getsize(c_package)):
        sys.exit(f"FAILED: the C API's report: method {report['method']}, calibration "
                 f"{report['calibration']}, formats {formats}")
    bad = subprocess.run([os.path.join(example, "quantize-c"), model, calib,
                          os.path.join(tmp, "bad.qpkg"), "input-shape=input=1x1x28x28", "scheme=int3"],
                         capture_output=True, text=True)
    if (bad.returncode != 1 or "--scheme must be int8" not in bad.stderr
            or os.path.exists(os.path.join(tmp, "bad.qpkg"))):
        sys.exit(f"FAILED: a bad scheme through the C API: rc {bad.returncode}, "
                 f"stderr {bad.stderr!r}")
    print(f"compiler API from C: a GPTQ report ({report['calibration']}, formats "
          f"{sorted(formats)}), and a bad scheme reported as a diagnostic")


if __name__ == "__main__":
    main()
