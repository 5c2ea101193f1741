// qcc: the compiler driver. `qcc import` turns an ONNX model into qg IR.
#include "importers/onnx/OnnxImporter.h"
#include "passes/Registration.h"
#include "qcc/compiler.hpp"
#include "tools/common/ToolSupport.h"
#include "tools/qcc/Commands.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

using namespace llvm;

namespace {
cl::SubCommand importCommand("import",
                             "Import an ONNX model into the qg dialect");
cl::opt<std::string> importModelPath(cl::Positional, cl::desc("<model.onnx>"),
                                     cl::Required, cl::sub(importCommand));
cl::opt<std::string>
    importOutput("o", cl::desc("Output file; - for standard output"),
                 cl::value_desc("file"), cl::init("-"), cl::sub(importCommand));
cl::opt<std::string>
    emitFormat("emit",
               cl::desc("Output format: mlir (text, default) or bytecode"),
               cl::init("mlir"), cl::sub(importCommand));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Fix an input's shape, e.g. --input-shape input=1x3x224x224 "
             "(repeatable; ? keeps a dimension symbolic)"),
    cl::value_desc("name=shape"), cl::sub(importCommand));
cl::opt<int64_t> inlineLimit(
    "inline-limit",
    cl::desc("Float weights with more elements go into dense_resource blobs "
             "(default 64)"),
    cl::init(64), cl::sub(importCommand));

int runImport() {
  qcc::onnx::ImportOptions options;
  options.inlineLimit = inlineLimit;
  qcc::compiler::ImportOptions shapes;
  for (const std::string &spec : inputShapes)
    if (qcc::compiler::Status s =
            qcc::compiler::setOption(shapes, "input-shape", spec);
        !s) {
      errs() << s.error().describe();
      return 2;
    }
  options.inputShapes = shapes.inputShapes;
  if (emitFormat != "mlir" && emitFormat != "bytecode") {
    errs() << "error: --emit must be mlir or bytecode, got '" << emitFormat
           << "'\n";
    return 2;
  }
  qcc::onnx::Result<qcc::onnx::Model> model =
      qcc::onnx::loadModel(importModelPath);
  if (!model) {
    errs() << "error: " << model.error().message << "\n";
    return 1;
  }
  mlir::DialectRegistry registry;
  qcc::registerDialects(registry);
  mlir::MLIRContext context(registry);
  qcc::tools::DiagnosticPrinter printer(context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      qcc::onnx::importModel(*model, context, options);
  if (!module)
    return 1;
  std::string error;
  bool ok = qcc::tools::writeOutputAtomically(
      importOutput,
      [&](raw_ostream &os) {
        if (emitFormat == "bytecode")
          return succeeded(mlir::writeBytecodeToFile(*module, os));
        // Locations carry the ONNX node names; keep them in the text.
        module->print(os, mlir::OpPrintingFlags().enableDebugInfo());
        return true;
      },
      error);
  if (!ok) {
    errs() << "error: " << error << "\n";
    return 1;
  }
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  // LLVM's libraries register hundreds of their own options at the top
  // level; `qcc --help` lists the commands, and each command's --help its
  // options.
  for (auto &[name, option] : cl::getRegisteredOptions())
    if (name != "help" && name != "help-list" && name != "version")
      option->setHiddenFlag(cl::ReallyHidden);
  cl::ParseCommandLineOptions(
      argc, argv,
      "qcc: a compiler for quantized neural networks\n\n"
      "  qcc import MODEL.onnx -o MODEL.mlir   import an ONNX model into qg "
      "IR\n"
      "  qcc quantize MODEL.onnx --calib DIR --scheme int8 -o "
      "OUT.onnx|OUT.mlir\n"
      "                                       calibrate and quantize it\n"
      "  qcc compile MODEL.onnx|MODEL.mlir [quantize options] --target cpu "
      "-o MODEL.qpkg\n"
      "                                       compile it into a package that "
      "qrun and the runtime run\n\n"
      "Run 'qcc <command> --help' for a command's options.\n");
  if (importCommand)
    return runImport();
  // Both go through the compiler API, which registers qcc's passes.
  if (qcc::compileCommand())
    return qcc::runCompile();
  if (qcc::quantizeCommand)
    return qcc::runQuantize();
  errs() << "error: no command given; run 'qcc --help'\n";
  return 2;
}
