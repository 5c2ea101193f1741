// AVX-512 probes, compiled with -mavx512*; GEMM benchmarks call them only on
// CPUs with AVX-512. The loops are inline assembly: written in C++, the
// compiler sees that every chain multiplies the same two registers and
// computes the product once, which measures vpaddd instead.
#include "benchmarks/BenchUtil.h"
#include "benchmarks/ProbeLoop.h"
#include "benchmarks/Probes.h"

#include <immintrin.h>

namespace qcc::bench {

double peakMaddwdAvx512() {
  // 12 chains of vpmaddwd into a temporary, then vpaddd into the chain's
  // accumulator: the instruction pair of the kernel, 32 products each.
  return probeRate(12 * 32.0, [](int64_t iterations) {
    __asm__ volatile("1:\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm12\n\tvpaddd %%zmm12, "
                     "%%zmm0, %%zmm0\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm13\n\tvpaddd %%zmm13, "
                     "%%zmm1, %%zmm1\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm14\n\tvpaddd %%zmm14, "
                     "%%zmm2, %%zmm2\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm15\n\tvpaddd %%zmm15, "
                     "%%zmm3, %%zmm3\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm16\n\tvpaddd %%zmm16, "
                     "%%zmm4, %%zmm4\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm17\n\tvpaddd %%zmm17, "
                     "%%zmm5, %%zmm5\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm18\n\tvpaddd %%zmm18, "
                     "%%zmm6, %%zmm6\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm19\n\tvpaddd %%zmm19, "
                     "%%zmm7, %%zmm7\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm20\n\tvpaddd %%zmm20, "
                     "%%zmm8, %%zmm8\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm21\n\tvpaddd %%zmm21, "
                     "%%zmm9, %%zmm9\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm22\n\tvpaddd %%zmm22, "
                     "%%zmm10, %%zmm10\n\t"
                     "vpmaddwd %%zmm30, %%zmm31, %%zmm23\n\tvpaddd %%zmm23, "
                     "%%zmm11, %%zmm11\n\t"
                     "dec %0\n\t"
                     "jnz 1b\n\t"
                     : "+r"(iterations)
                     :
                     : QCC_PROBE_CLOBBERS);
  });
}

double peakMaddubswAvx512() {
  // vpmaddubsw (u8 x s8 pairs to saturated i16), vpmaddwd by ones, vpaddd:
  // 64 products per triple, the sequence oneDNN uses without VNNI.
  return probeRate(12 * 64.0, [](int64_t iterations) {
    __asm__ volatile(
        "1:\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm12\n\tvpmaddwd %%zmm12, %%zmm29, "
        "%%zmm12\n\tvpaddd %%zmm12, %%zmm0, %%zmm0\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm13\n\tvpmaddwd %%zmm13, %%zmm29, "
        "%%zmm13\n\tvpaddd %%zmm13, %%zmm1, %%zmm1\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm14\n\tvpmaddwd %%zmm14, %%zmm29, "
        "%%zmm14\n\tvpaddd %%zmm14, %%zmm2, %%zmm2\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm15\n\tvpmaddwd %%zmm15, %%zmm29, "
        "%%zmm15\n\tvpaddd %%zmm15, %%zmm3, %%zmm3\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm16\n\tvpmaddwd %%zmm16, %%zmm29, "
        "%%zmm16\n\tvpaddd %%zmm16, %%zmm4, %%zmm4\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm17\n\tvpmaddwd %%zmm17, %%zmm29, "
        "%%zmm17\n\tvpaddd %%zmm17, %%zmm5, %%zmm5\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm18\n\tvpmaddwd %%zmm18, %%zmm29, "
        "%%zmm18\n\tvpaddd %%zmm18, %%zmm6, %%zmm6\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm19\n\tvpmaddwd %%zmm19, %%zmm29, "
        "%%zmm19\n\tvpaddd %%zmm19, %%zmm7, %%zmm7\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm20\n\tvpmaddwd %%zmm20, %%zmm29, "
        "%%zmm20\n\tvpaddd %%zmm20, %%zmm8, %%zmm8\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm21\n\tvpmaddwd %%zmm21, %%zmm29, "
        "%%zmm21\n\tvpaddd %%zmm21, %%zmm9, %%zmm9\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm22\n\tvpmaddwd %%zmm22, %%zmm29, "
        "%%zmm22\n\tvpaddd %%zmm22, %%zmm10, %%zmm10\n\t"
        "vpmaddubsw %%zmm30, %%zmm31, %%zmm23\n\tvpmaddwd %%zmm23, %%zmm29, "
        "%%zmm23\n\tvpaddd %%zmm23, %%zmm11, %%zmm11\n\t"
        "dec %0\n\t"
        "jnz 1b\n\t"
        : "+r"(iterations)
        :
        : QCC_PROBE_CLOBBERS);
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
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(
      lanes, _mm512_add_epi32(_mm512_add_epi32(a, b), _mm512_add_epi32(c, d)));
  __asm__ volatile("" : : "r"(lanes) : "memory"); // keep the loads
  return bytes / t;
}

} // namespace qcc::bench
