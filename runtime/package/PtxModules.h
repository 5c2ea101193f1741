// The content of a package's Ptx section: one PTX module per GPU
// architecture the compiler targeted. The runtime loads the one with the
// highest architecture the GPU can run.
//
// Layout (ByteWriter/ByteReader, little-endian): u32 count (1..16), then per
// module str arch ("sm_80", "sm_90a": sm_<digits> with an optional "a"),
// str ptx (non-empty text without NUL bytes, at most 256 MiB).
#ifndef QCC_RUNTIME_PACKAGE_PTXMODULES_H
#define QCC_RUNTIME_PACKAGE_PTXMODULES_H

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qcc::pkg {

inline constexpr uint32_t kMaxPtxModules = 16;
inline constexpr size_t kMaxPtxBytes = size_t{256} << 20;

struct PtxModule {
  std::string arch; ///< "sm_80"
  std::string ptx;  ///< the module's text, as ptxas and the driver take it
};

/// The compute capability an arch names, major * 10 + minor ("sm_90a" is
/// 90), or -1 when `arch` is not sm_<digits> with an optional "a".
int ptxArchVersion(std::string_view arch);

std::vector<uint8_t> encodePtxModules(const std::vector<PtxModule> &modules);

/// Parses and validates the section; returns an empty string or the reason
/// it is invalid.
std::string decodePtxModules(std::span<const uint8_t> bytes,
                             std::vector<PtxModule> &modules);

} // namespace qcc::pkg

#endif // QCC_RUNTIME_PACKAGE_PTXMODULES_H
