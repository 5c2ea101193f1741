#!/usr/bin/env bash
# The main job: installs what is missing, builds qcc, imports the bundled
# Fashion-MNIST CNN and runs it on the 10,000 test images with the reference
# interpreter (beside ONNX Runtime), then quantizes it to int8 with qcc
# quantize (accuracy on the 10,000 images, per-layer report, QDQ export run by
# ONNX Runtime) and to a mixed int8/int4/f32 assignment under a size budget,
# and ends with one table: qcc FP32 and int8 packages beside ONNX Runtime FP32
# and int8 (accuracy, size, latency p50, throughput; scripts/cnn-table.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
echo
echo "== Importing the Fashion-MNIST CNN and running it on the 10,000 test images"
.venv/bin/python3 test/models/fashion_mnist.py --qcc build/bin/qcc --qrun build/bin/qrun \
  --model examples/fashion_mnist_cnn.onnx

OUT=build/examples
mkdir -p "$OUT"
echo
echo "== int8 static quantization of the CNN (500 calibration images), on the 10,000 test images"
.venv/bin/python3 test/models/fashion_mnist_int8.py --qcc build/bin/qcc --qrun build/bin/qrun \
  --model examples/fashion_mnist_cnn.onnx --keep "$OUT/cnn-int8"
echo "report: $OUT/cnn-int8/report.html (JSON beside it); QDQ model: $OUT/cnn-int8/int8.onnx"

echo
echo "== Mixed precision: int8 / int4 (groups of 32) / f32 per layer under 6 bits per weight"
build/bin/qcc quantize examples/fashion_mnist_cnn.onnx --calib "$OUT/cnn-int8/calib.npy" \
  --input-shape input=1x1x28x28 --scheme mixed --group-size 32 --size-budget 6bits \
  --quiet -o "$OUT/cnn-mixed.onnx" --report "$OUT/cnn-mixed.json"

echo
echo "== The product: the CNN compiled by qcc in FP32 and int8 for this CPU, beside ONNX Runtime FP32 and int8"
.venv/bin/python3 scripts/cnn-table.py --qcc build/bin/qcc --qrun build/bin/qrun \
  --out "$OUT/main-job"
