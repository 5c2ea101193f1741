// The VNNI probe, compiled with -mavx512vnni; called only on CPUs with it.
#include "benchmarks/BenchUtil.h"
#include "benchmarks/Probes.h"

#include <immintrin.h>

#include <cstdint>

namespace qcc::bench {
namespace {
/// Keeps a result alive without GCC 12's false uninitialized warning
/// on _mm512_reduce_add_epi32.
void keep(__m512i v) {
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, v);
  __asm__ volatile("" : : "r"(lanes) : "memory");
}
} // namespace

double peakVnni() {
  constexpr int kChains = 12;
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_epi32(i);
  __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(5);
  const int64_t iterations = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double start = seconds();
    for (int64_t it = 0; it < iterations; ++it) {
      for (int i = 0; i < kChains; ++i)
        acc[i] = _mm512_dpbusd_epi32(acc[i], x, y);
      __asm__ volatile("" : "+v"(x));
    }
    best = std::max(best, iterations * kChains * 64.0 / (seconds() - start));
  }
  __m512i sum = acc[0];
  for (int i = 1; i < kChains; ++i)
    sum = _mm512_add_epi32(sum, acc[i]);
  keep(sum);
  return best;
}

} // namespace qcc::bench
