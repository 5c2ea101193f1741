#!/usr/bin/env bash
# The CPU benchmarks (issue 5): int8 GEMM against oneDNN and the int8 MAC
# peak, int4 weight-only GEMV against the memory bandwidth, each with 1 and 2
# threads (QCC_BENCH_THREADS=1,2,4 to change), then the real models compiled
# by qcc against ONNX Runtime FP32 and int8 (benchmarks/bench_models.py). Installs and builds what
# is missing first. Not part of the test suite: timings are not tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
echo "== int8 GEMM"
./build/benchmarks/bench-gemm-int8
echo
echo "== int4 weight-only GEMV"
./build/benchmarks/bench-gemv-int4
echo
echo "== end to end: the real models against ONNX Runtime FP32 and int8"
./.venv/bin/python3 benchmarks/bench_models.py --qcc build/bin/qcc --qrun build/bin/qrun
