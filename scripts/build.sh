#!/usr/bin/env bash
# Configures and builds qcc in ./build (Release, Ninja, ccache and lld when
# present). Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${QCC_BUILD_DIR:-build}
# The tests' Python is the one scripts/setup.sh prepared, when present.
PYTHON_ARGS=()
if [ -x .venv/bin/python3 ]; then
  PYTHON_ARGS=(-DPython3_EXECUTABLE="$(pwd)/.venv/bin/python3")
fi
if [ ! -f "$BUILD_DIR/build.ninja" ] || [ "$#" -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${PYTHON_ARGS[@]}" "$@"
fi
cmake --build "$BUILD_DIR"
