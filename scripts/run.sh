#!/usr/bin/env bash
# The main job: installs what is missing, builds qcc, then takes the bundled
# Fashion-MNIST CNN, calibrates it on 500 training images, quantizes it to
# int8 and compiles it for this CPU (and compiles the FP32 model too), runs
# both on the 10,000 test images, and prints one table beside ONNX Runtime
# FP32 and ONNX Runtime's own int8 quantization on the same inputs: top-1
# accuracy, size, batch-1 latency p50 and throughput (scripts/cnn-table.py).
# It writes qcc's HTML report and says where. Once installed and built, a
# run takes well under a minute; the deeper checks (the reference
# interpreter on all images, the QDQ export in ONNX Runtime, MiniLM) are in
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
echo
echo "== The product: the CNN compiled by qcc in FP32 and int8 for this CPU, beside ONNX Runtime FP32 and int8"
.venv/bin/python3 scripts/cnn-table.py --qcc build/bin/qcc --qrun build/bin/qrun \
  --out build/examples/main-job
