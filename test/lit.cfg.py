# lit configuration for qcc's IR tests.
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "qcc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "unit", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.qcc_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["qopt"], [config.qcc_tools_dir])
llvm_config.add_tool_substitutions(["qcc", "qrun", "qcc-onnx-conformance"], [config.qcc_tools_dir])
# ONNX node tests from Debian's libonnx-testdata (installed by scripts/setup.sh).
config.substitutions.append(("%onnx_node", "/usr/share/libonnx-testdata/data/node"))
# The build tree, for files the build generates (the dialect reference).
config.substitutions.append(("%qcc_obj_root", config.qcc_obj_root))
# Test inputs are generated with the Python that runs lit (standard library only).
config.substitutions.append(("%python", sys.executable))
# The CUDA toolkit's ptxas checks the CUDA backend's PTX; without the
# toolkit those tests are unsupported.
if getattr(config, "ptxas", "") and not config.ptxas.endswith("NOTFOUND"):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas))
