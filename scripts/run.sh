#!/usr/bin/env bash
# The main job: installs what is missing, builds qcc, and quantizes the
# weights of the bundled example model in four formats with qopt, printing
# each weight's error (MSE, SQNR, max error) and size.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
MODEL=examples/quantize-weights.mlir
OUT=build/examples
mkdir -p "$OUT"
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
