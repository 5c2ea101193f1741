// AVX-512 probes, compiled with -mavx512*; GEMM benchmarks call them only on
// CPUs with AVX-512.
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
namespace {

constexpr int kChains = 12; // enough independent chains to hide latency

template <typename Step> double rate(double macsPerStep, Step step) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_epi32(i);
  __m512i x = _mm512_set1_epi16(3), y = _mm512_set1_epi16(5);
  const int64_t iterations = 20'000'000;
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    double start = seconds();
    for (int64_t it = 0; it < iterations; ++it) {
      for (int i = 0; i < kChains; ++i)
        acc[i] = step(acc[i], x, y);
      __asm__ volatile("" : "+v"(x));
    }
    double t = seconds() - start;
    best = std::max(best, iterations * kChains * macsPerStep / t);
  }
  __m512i sum = acc[0];
  for (int i = 1; i < kChains; ++i)
    sum = _mm512_add_epi32(sum, acc[i]);
  keep(sum);
  return best;
}

} // namespace

double peakMaddwdAvx512() {
  return rate(32, [](__m512i acc, __m512i x, __m512i y) {
    return _mm512_add_epi32(acc, _mm512_madd_epi16(x, y));
  });
}

double peakMaddubswAvx512() {
  const __m512i ones = _mm512_set1_epi16(1);
  return rate(64, [ones](__m512i acc, __m512i x, __m512i y) {
    return _mm512_add_epi32(
        acc, _mm512_madd_epi16(_mm512_maddubs_epi16(x, y), ones));
  });
}

double readBandwidth(const uint8_t *data, size_t bytes) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  double start = seconds();
  for (size_t i = 0; i + 256 <= bytes; i += 256) {
    a = _mm512_add_epi32(a, _mm512_load_si512(data + i));
    b = _mm512_add_epi32(b, _mm512_load_si512(data + i + 64));
    c = _mm512_add_epi32(c, _mm512_load_si512(data + i + 128));
    d = _mm512_add_epi32(d, _mm512_load_si512(data + i + 192));
  }
  double t = seconds() - start;
  keep(_mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, d)));
  return bytes / t;
}

} // namespace qcc::bench
