// The qcc driver's subcommands, one translation unit each.
#ifndef QCC_TOOLS_QCC_COMMANDS_H
#define QCC_TOOLS_QCC_COMMANDS_H

#include "qcc/compiler.hpp"

#include "llvm/Support/CommandLine.h"

#include <string>

namespace qcc {

extern llvm::cl::SubCommand quantizeCommand;
/// The compile subcommand, created on first use: the quantize options
/// register with it too, from another translation unit.
llvm::cl::SubCommand &compileCommand();
/// qcc quantize: returns the process exit code.
int runQuantize();

/// qcc compile: a .mlir model is compiled as it is; an .onnx model goes
/// through runQuantize (whose options compile shares), which then calls
/// compileAndWrite instead of writing the quantized model.
int runCompile();
int compileMlirFile(const std::string &modelPath,
                    const std::string &outputPath);
/// Takes its string by value: compiling resets LLVM's command-line options
/// (lld does), so callers must not pass references to option values they
/// read again afterwards either.
int compileAndWrite(const compiler::Model &model, std::string outputPath);
/// Prints warnings on stderr as the diagnostics of a failure are printed.
void printWarnings(const std::vector<compiler::Diagnostic> &warnings);
/// Whether --emit asks for a package (the default).
bool emittingPackage();

} // namespace qcc

#endif // QCC_TOOLS_QCC_COMMANDS_H
