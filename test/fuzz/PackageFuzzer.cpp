// libFuzzer target: arbitrary bytes through the package reader and, when the
// container validates, the manifest and PTX section decoders. Any crash,
// sanitizer report or hang is a bug; errors are the expected outcome.
#include "runtime/package/Manifest.h"
#include "runtime/package/Package.h"
#include "runtime/package/PtxModules.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  qcc::pkg::Package package;
  // The container's checksums stop almost every mutation at the door, so the
  // manifest decoder is also fed the raw bytes directly.
  qcc::pkg::Manifest manifest;
  (void)qcc::pkg::decode(bytes, manifest);
  std::vector<qcc::pkg::PtxModule> modules;
  (void)qcc::pkg::decodePtxModules(bytes, modules);
  if (!package.open(bytes).empty())
    return 0;
  if (const qcc::pkg::Section *s =
          package.find(qcc::pkg::SectionKind::Manifest))
    (void)qcc::pkg::decode(s->bytes, manifest);
  if (const qcc::pkg::Section *s = package.find(qcc::pkg::SectionKind::Ptx))
    (void)qcc::pkg::decodePtxModules(s->bytes, modules);
  return 0;
}
