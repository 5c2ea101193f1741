// The timing harness of the instruction-peak probes: runs an assembly loop
// of 12 independent chains (enough to cover any latency) and returns
// multiply-accumulates per second, best of three.
#ifndef QCC_BENCHMARKS_PROBELOOP_H
#define QCC_BENCHMARKS_PROBELOOP_H

#include "benchmarks/BenchUtil.h"

#include <algorithm>
#include <cstdint>

// Registers the probe loops write: zmm0-11 accumulate, zmm12-23 hold
// products; zmm29-31 are inputs whose values do not matter for timing.
#define QCC_PROBE_CLOBBERS                                                     \
  "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",        \
      "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",    \
      "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23"

namespace qcc::bench {

template <typename Loop> double probeRate(double macsPerIteration, Loop loop) {
  const int64_t iterations = 10'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double start = seconds();
    loop(iterations);
    best = std::max(best, iterations * macsPerIteration / (seconds() - start));
  }
  return best;
}

} // namespace qcc::bench

#endif
