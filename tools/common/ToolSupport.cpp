// Diagnostics and output files for the command-line tools.
#include "tools/common/ToolSupport.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;

namespace qcc::tools {

std::string describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    std::string where = describeLocation(name.getChildLoc());
    return (where.empty() ? "" : where + ": ") + "node '" +
           name.getName().str() + "'";
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    std::string where = file.getFilename().str();
    if (file.getLine() > 0)
      where += ":" + std::to_string(file.getLine()) + ":" +
               std::to_string(file.getColumn());
    return where;
  }
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string where;
    for (Location inner : fused.getLocations())
      where += (where.empty() ? "" : " + ") + describeLocation(inner);
    return where;
  }
  return "";
}

const char *severityName(DiagnosticSeverity severity) {
  switch (severity) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Remark:
    return "remark";
  case DiagnosticSeverity::Note:
    break;
  }
  return "note";
}

DiagnosticPrinter::DiagnosticPrinter(MLIRContext &context)
    : handler(&context, [this](Diagnostic &diag) {
        const char *severity = severityName(diag.getSeverity());
        errors += diag.getSeverity() == DiagnosticSeverity::Error;
        std::string where = describeLocation(diag.getLocation());
        llvm::errs() << severity << ": " << (where.empty() ? "" : where + ": ")
                     << diag.str() << "\n";
        for (Diagnostic &note : diag.getNotes())
          llvm::errs() << "note: " << note.str() << "\n";
        return success();
      }) {}

bool writeOutputAtomically(
    llvm::StringRef path, const std::function<bool(llvm::raw_ostream &)> &write,
    std::string &error) {
  if (path == "-") {
    bool ok = write(llvm::outs());
    llvm::outs().flush();
    return ok;
  }
  llvm::SmallString<256> model(path);
  model += ".tmp-%%%%%%";
  int fd;
  llvm::SmallString<256> temporary;
  if (std::error_code ec =
          llvm::sys::fs::createUniqueFile(model, fd, temporary)) {
    error = (path + ": cannot create output: " + ec.message()).str();
    return false;
  }
  bool ok;
  {
    llvm::raw_fd_ostream stream(fd, /*shouldClose=*/true);
    ok = write(stream);
    stream.flush();
    if (stream.has_error()) {
      error = (path + ": write failed: " + stream.error().message()).str();
      stream.clear_error();
      ok = false;
    }
  }
  if (!ok) {
    llvm::sys::fs::remove(temporary);
    return false;
  }
  if (std::error_code ec = llvm::sys::fs::rename(temporary, path)) {
    llvm::sys::fs::remove(temporary);
    error = (path + ": cannot write: " + ec.message()).str();
    return false;
  }
  return true;
}

} // namespace qcc::tools
