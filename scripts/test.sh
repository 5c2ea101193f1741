#!/usr/bin/env bash
# The whole test suite from a fresh clone: installs what is missing, builds,
# runs every unit and lit test, then the unit tests again under ASan/UBSan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
echo "== unit and lit tests"
ctest --test-dir build --output-on-failure --timeout 900

echo "== the Python package: pip install . (reusing ./build), then its tests"
# The build requirements (scikit-build-core, nanobind) are in .venv already;
# without isolation pip uses them and the same ninja, so only the extension
# is packaged. A plain `pip install .` works too (it rebuilds ./build with
# the tools of its own build environment).
.venv/bin/python3 -m pip install -q --disable-pip-version-check --no-build-isolation .
# From python/tests, so that `import qcc` finds the installed package.
(cd python/tests && QCC_BIN="$(pwd)/../../build/bin" ../../.venv/bin/python3 -m pytest -q -p no:cacheprovider .)

echo "== unit tests under AddressSanitizer and UndefinedBehaviorSanitizer"
# The numeric core and runtime have no MLIR dependency, so the sanitizer
# build leaves the compiler out and stays small.
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DQCC_BUILD_COMPILER=OFF -DQCC_ENABLE_SANITIZERS=ON \
  -DPython3_EXECUTABLE="$(pwd)/.venv/bin/python3" > /dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 900
