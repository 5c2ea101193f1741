#!/usr/bin/env bash
# Runs qcc-bench-cuda on a GPU machine that has neither MLIR nor the build.
#
#   run_on_gpu.sh DIR
#
# DIR holds the tool (qcc-bench-cuda, built here by ninja; it needs only
# libc/libstdc++) and the packages compressed as *.qpkg.xz or *.qpkg.gz, made
# on the build machine by:
#   python3 benchmarks/cuda/make_models.py models
#   for m in models/*.mlir; do
#     qcc compile $m --target cuda -o DIR/$(basename ${m%.mlir}).qpkg
#   done
#   xz -T2 -1 DIR/*.qpkg     # the weights are a tiled 4 KiB block: ~100 KB
# The packages are decompressed into a temporary folder; the table goes to
# stdout and, with $OUT set, to $OUT/bench_cuda.txt and $OUT/bench_cuda.json.
# cuBLAS is looked up as $QCC_CUBLAS, then in the nvidia-cublas Python
# package, then by the loader (libcublas.so.13/.12); without it the cuBLAS
# rows are skipped.
set -euo pipefail
dir=${1:?usage: run_on_gpu.sh DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unxz() { # xz, or Python's lzma where the xz tool is missing
  if command -v xz >/dev/null; then xz -dc "$1"
  else python3 -c 'import lzma, sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$1"; fi
}
for f in "$dir"/*.qpkg.xz; do [ -e "$f" ] && unxz "$f" > "$work/$(basename "${f%.xz}")"; done
for f in "$dir"/*.qpkg.gz; do [ -e "$f" ] && gzip -dc "$f" > "$work/$(basename "${f%.gz}")"; done
for f in "$dir"/*.qpkg; do [ -e "$f" ] && cp "$f" "$work/"; done

args=()
if [ -z "${QCC_CUBLAS:-}" ]; then
  # nvidia-cublas (CUDA 12: nvidia/cublas/lib, CUDA 13: nvidia/cu13/lib).
  root=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])' 2>/dev/null || true)
  lib=$( [ -n "$root" ] && find "$root" -name 'libcublas.so.*' ! -name '*Lt*' 2>/dev/null | sort | tail -1 || true)
  if [ -n "$lib" ]; then
    args=(--cublas "$lib")
    export LD_LIBRARY_PATH=$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  fi
fi
json=${OUT:+$OUT/bench_cuda.json}
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv 2>/dev/null || true
"$dir/qcc-bench-cuda" ${args[@]+"${args[@]}"} ${json:+--json "$json"} "$work"/*.qpkg |
  tee ${OUT:+"$OUT/bench_cuda.txt"}
