// The VNNI probe, compiled with -mavx512vnni; called only on CPUs with it.
#include "benchmarks/ProbeLoop.h"
#include "benchmarks/Probes.h"

namespace qcc::bench {

double peakVnni() {
  // 12 independent vpdpbusd chains, 64 products each.
  return probeRate(12 * 64.0, [](int64_t iterations) {
    __asm__ volatile("1:\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm0\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm1\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm2\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm3\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm4\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm5\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm6\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm7\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm8\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm9\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm10\n\t"
                     "vpdpbusd %%zmm30, %%zmm31, %%zmm11\n\t"
                     "dec %0\n\t"
                     "jnz 1b\n\t"
                     : "+r"(iterations)
                     :
                     : QCC_PROBE_CLOBBERS);
  });
}

} // namespace qcc::bench
