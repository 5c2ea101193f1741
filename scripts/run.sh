#!/usr/bin/env bash
# The main job: installs what is missing, builds qcc, imports the bundled
# Fashion-MNIST CNN and runs it on the 10,000 test images with the reference
# interpreter (beside ONNX Runtime), then quantizes the weights of the CNN and
# of a small MLP in several formats with qopt, printing each weight's error
# (MSE, SQNR, max error) and size.
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
build/bin/qcc import examples/fashion_mnist_cnn.onnx --input-shape input=1x1x28x28 \
  -o "$OUT/fashion_mnist_cnn.mlir"
echo
echo "== Quantizing the CNN's weights (int8 per channel, then int4 in blocks of 16)"
build/bin/qopt "$OUT/fashion_mnist_cnn.mlir" \
  --qg-quantize-weights="format=i8 granularity=channel report=true" -o "$OUT/cnn-i8.mlir"
echo
build/bin/qopt "$OUT/fashion_mnist_cnn.mlir" \
  --qg-quantize-weights="format=i4 granularity=block block-size=16 report=true" -o "$OUT/cnn-i4.mlir"

MODEL=examples/quantize-weights.mlir
echo
echo "== Quantizing the weights of $MODEL"
for config in \
    "format=i8 granularity=channel" \
    "format=i4 granularity=block block-size=32" \
    "format=nf4 granularity=block block-size=64" \
    "format=f8e4m3fn granularity=channel"; do
  name=$(echo "$config" | sed -e 's/format=//' -e 's/granularity=//' -e 's/block-size=/b/' -e 's/ /-/g')
  echo
  build/bin/qopt "$MODEL" --qg-quantize-weights="$config report=true" -o "$OUT/mlp-$name.mlir"
  echo "wrote $OUT/mlp-$name.mlir"
done
