#!/usr/bin/env bash
# Configures and builds qcc in ./build (Release, Ninja, ccache and lld when
# present). Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${QCC_BUILD_DIR:-build}
# The tests' Python is the one scripts/setup.sh prepared, when present.
# With nanobind there (scripts/setup.sh installs it), the Python package's
# extension is built too, so that `pip install .` afterwards only packages it.
PYTHON_ARGS=()
if [ -x .venv/bin/python3 ]; then
  PYTHON_ARGS=(-DPython3_EXECUTABLE="$(pwd)/.venv/bin/python3"
               -DPython_EXECUTABLE="$(pwd)/.venv/bin/python3")
  if .venv/bin/python3 -c "import nanobind" 2>/dev/null; then
    PYTHON_ARGS+=(-DQCC_BUILD_PYTHON=ON)
  fi
fi
if [ ! -f "$BUILD_DIR/build.ninja" ] || [ "$#" -gt 0 ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${PYTHON_ARGS[@]}" "$@"
fi
cmake --build "$BUILD_DIR"
