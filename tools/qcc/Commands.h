// The qcc driver's subcommands, one translation unit each.
#ifndef QCC_TOOLS_QCC_COMMANDS_H
#define QCC_TOOLS_QCC_COMMANDS_H

#include "llvm/Support/CommandLine.h"

namespace qcc {

extern llvm::cl::SubCommand quantizeCommand;
/// qcc quantize: returns the process exit code.
int runQuantize();

} // namespace qcc

#endif // QCC_TOOLS_QCC_COMMANDS_H
