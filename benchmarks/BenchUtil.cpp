// Thread counts for the benchmarks.
#include "benchmarks/BenchUtil.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace qcc::bench {

void exitOnError(const std::string &error, const char *program) {
  if (error.empty())
    return;
  std::fprintf(stderr, "%s: %s\n", program, error.c_str());
  std::exit(1);
}

std::vector<int> threadCounts() {
  std::vector<int> counts;
  if (const char *env = std::getenv("QCC_BENCH_THREADS")) {
    std::stringstream in(env);
    for (std::string item; std::getline(in, item, ',');)
      if (int n = std::atoi(item.c_str()); n > 0)
        counts.push_back(n);
  }
  if (counts.empty())
    counts = {1, 2};
  return counts;
}

} // namespace qcc::bench
