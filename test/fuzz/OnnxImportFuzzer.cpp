// libFuzzer target: arbitrary bytes through the ONNX reader and, when they
// parse, the importer. Any crash, sanitizer report or hang is a bug; errors
// are the expected outcome for almost every input.
#include "importers/onnx/OnnxImporter.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char *>(data), size);
  qcc::onnx::Result<qcc::onnx::Model> model =
      qcc::onnx::parseModel(bytes, /*baseDir=*/"", "fuzz.onnx");
  if (!model)
    return 0;
  static mlir::MLIRContext *context = [] {
    auto *ctx = new mlir::MLIRContext();
    // Swallow diagnostics: they are the expected result, not output.
    ctx->getDiagEngine().registerHandler(
        [](mlir::Diagnostic &) { return mlir::success(); });
    return ctx;
  }();
  qcc::onnx::ImportOptions options;
  (void)qcc::onnx::importModel(*model, *context, options);
  return 0;
}
