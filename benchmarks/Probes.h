// Machine limits measured in the same run as the kernels: the int8 multiply-
// accumulate peak of the instructions the int8 GEMM uses, and the memory read
// bandwidth. Each probe runs on the calling thread and returns its own rate.
#ifndef QCC_BENCHMARKS_PROBES_H
#define QCC_BENCHMARKS_PROBES_H

#include <cstddef>
#include <cstdint>

namespace qcc::bench {

/// Multiply-accumulates per second of independent vpmaddwd + vpaddd pairs
/// on ZMM (32 u8 x s8 products widened to i16, per pair): the exact int8
/// path of AVX-512 CPUs without VNNI.
double peakMaddwdAvx512();
/// Same for vpmaddubsw + vpmaddwd + vpaddd (64 products per triple, with
/// i16 saturation): the path oneDNN takes on such CPUs.
double peakMaddubswAvx512();
/// Same for vpdpbusd (64 products per instruction); only on AVX512_VNNI.
double peakVnni();
/// Bytes per second of 64-byte loads streaming through `bytes` at `data`.
double readBandwidth(const uint8_t *data, size_t bytes);

} // namespace qcc::bench

#endif
