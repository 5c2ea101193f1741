// qrun's package mode: runs a .qpkg through the runtime C API.
#ifndef QCC_TOOLS_QRUN_RUNPACKAGE_H
#define QCC_TOOLS_QRUN_RUNPACKAGE_H

#include <string>
#include <utility>
#include <vector>

namespace qcc::tools {

struct PackageRunOptions {
  std::string path;
  std::vector<std::pair<std::string, std::string>> inputs; // name, .npy file
  std::string outputDir;
  bool stacked = false;
  int bench = 0;      // timed runs after warm-up; 0 for none
  int threads = 0;    // 0: one per CPU
  std::string device; // "cpu" or "cuda": the package must run there; "": any
};

/// Returns the process exit code; errors are printed to stderr.
int runPackage(const PackageRunOptions &options);

} // namespace qcc::tools

#endif // QCC_TOOLS_QRUN_RUNPACKAGE_H
