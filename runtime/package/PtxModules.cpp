// The Ptx section's encoding and its validating decoder.
#include "runtime/package/PtxModules.h"
#include "runtime/package/Package.h"

#include <algorithm>

namespace qcc::pkg {

int ptxArchVersion(std::string_view arch) {
  if (!arch.starts_with("sm_"))
    return -1;
  std::string_view digits = arch.substr(3);
  if (digits.ends_with('a'))
    digits.remove_suffix(1);
  if (digits.empty() || digits.size() > 4 ||
      !std::all_of(digits.begin(), digits.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return -1;
  int version = 0;
  for (char c : digits)
    version = version * 10 + (c - '0');
  return version;
}

std::vector<uint8_t> encodePtxModules(const std::vector<PtxModule> &modules) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(modules.size()));
  for (const PtxModule &m : modules) {
    w.str(m.arch);
    w.str(m.ptx);
  }
  return w.take();
}

std::string decodePtxModules(std::span<const uint8_t> bytes,
                             std::vector<PtxModule> &modules) {
  modules.clear();
  ByteReader r(bytes);
  const char *truncated = "ptx section is truncated";
  const uint32_t count = r.u32();
  if (r.failed())
    return truncated;
  if (count == 0 || count > kMaxPtxModules)
    return "ptx section holds " + std::to_string(count) + " modules (1 to " +
           std::to_string(kMaxPtxModules) + ")";
  for (uint32_t i = 0; i < count; ++i) {
    PtxModule m;
    m.arch = r.str(64);
    if (r.failed())
      return truncated;
    const std::string what = "ptx module " + std::to_string(i);
    if (ptxArchVersion(m.arch) < 0)
      return what + " has a bad architecture '" + m.arch +
             "' (expected sm_<digits>, e.g. sm_80)";
    m.ptx = r.str(kMaxPtxBytes);
    if (r.failed())
      return truncated + std::string(" (or a module exceeds 256 MiB)");
    if (m.ptx.empty())
      return what + " (" + m.arch + ") is empty";
    if (m.ptx.find('\0') != std::string::npos)
      return what + " (" + m.arch + ") holds a NUL byte";
    for (const PtxModule &seen : modules)
      if (seen.arch == m.arch)
        return what + " repeats architecture " + m.arch;
    modules.push_back(std::move(m));
  }
  if (r.remaining() != 0)
    return std::to_string(r.remaining()) +
           " unexpected bytes at the end of the ptx section";
  return {};
}

} // namespace qcc::pkg
