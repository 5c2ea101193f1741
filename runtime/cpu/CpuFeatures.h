// Which x86 vector instruction sets the running CPU offers, and which one the
// kernels use. Kernels are compiled for several ISAs and chosen at run time,
// so one binary runs on AVX2-only machines and uses VNNI where it exists.
#ifndef QCC_RUNTIME_CPU_CPUFEATURES_H
#define QCC_RUNTIME_CPU_CPUFEATURES_H

#include <optional>
#include <string_view>

namespace qcc::rt {

/// Instruction-set levels the kernels are written for, from least to most
/// capable. Each level implies the ones before it.
enum class Isa {
  Scalar,     ///< portable C++
  Avx2,       ///< AVX2 + FMA
  Avx512,     ///< AVX-512 F/BW/VL/DQ
  Avx512Vnni, ///< the above plus AVX512_VNNI (vpdpbusd)
};

/// The best level this CPU and operating system support (CPUID and XGETBV).
Isa detectIsa();

/// The level kernels use by default: detectIsa(), lowered by the environment
/// variable QCC_ISA (scalar|avx2|avx512|avx512vnni) when it names a level the
/// CPU has. Raising it above what the CPU has is ignored.
Isa defaultIsa();

/// True when this CPU can execute code written for `isa`.
bool isaSupported(Isa isa);

const char *isaName(Isa isa);
std::optional<Isa> parseIsa(std::string_view name);

} // namespace qcc::rt

#endif
