// CPUID-based detection of the instruction sets the kernels dispatch on.
#include "runtime/cpu/CpuFeatures.h"

#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define QCC_X86 1
#endif

namespace qcc::rt {
namespace {

#ifdef QCC_X86
unsigned long long readXcr0() {
  unsigned eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<unsigned long long>(edx) << 32) | eax;
}
#endif

Isa probe() {
#ifdef QCC_X86
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
    return Isa::Scalar;
  bool osxsave = ecx & (1u << 27), fma = ecx & (1u << 12);
  bool avx = ecx & (1u << 28);
  if (!osxsave || !avx || !fma)
    return Isa::Scalar;
  unsigned long long xcr0 = readXcr0();
  bool ymmState = (xcr0 & 0x6) == 0x6;
  bool zmmState = (xcr0 & 0xe6) == 0xe6; // opmask, ZMM_Hi256, Hi16_ZMM
  if (!ymmState)
    return Isa::Scalar;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
    return Isa::Scalar;
  bool avx2 = ebx & (1u << 5);
  bool avx512f = ebx & (1u << 16), avx512dq = ebx & (1u << 17);
  bool avx512bw = ebx & (1u << 30), avx512vl = ebx & (1u << 31);
  bool avx512vnni = ecx & (1u << 11);
  if (!avx2)
    return Isa::Scalar;
  if (!(zmmState && avx512f && avx512dq && avx512bw && avx512vl))
    return Isa::Avx2;
  return avx512vnni ? Isa::Avx512Vnni : Isa::Avx512;
#else
  return Isa::Scalar;
#endif
}

} // namespace

Isa detectIsa() {
  static const Isa detected = probe();
  return detected;
}

bool isaSupported(Isa isa) {
  return static_cast<int>(isa) <= static_cast<int>(detectIsa());
}

Isa defaultIsa() {
  static const Isa chosen = [] {
    Isa best = detectIsa();
    if (const char *env = std::getenv("QCC_ISA"))
      if (std::optional<Isa> asked = parseIsa(env);
          asked && isaSupported(*asked))
        return *asked;
    return best;
  }();
  return chosen;
}

const char *isaName(Isa isa) {
  switch (isa) {
  case Isa::Scalar:
    return "scalar";
  case Isa::Avx2:
    return "avx2";
  case Isa::Avx512:
    return "avx512";
  case Isa::Avx512Vnni:
    return "avx512vnni";
  }
  return "unknown";
}

std::optional<Isa> parseIsa(std::string_view name) {
  for (Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni})
    if (name == isaName(isa))
      return isa;
  return std::nullopt;
}

} // namespace qcc::rt
