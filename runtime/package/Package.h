// The .qpkg container: one versioned file per compiled model, written by the
// compiler and read by the runtime (DESIGN.md section 5). It holds sections
// (manifest, packed weights, code) at aligned offsets, each with a checksum.
// The reader treats the bytes as untrusted: every offset, size, count and
// enum is checked before use, and any damage is an error, never a crash.
//
// Layout, all integers little-endian:
//   header   (64 bytes) "QCCPKG\0\0", u32 version, u32 section count,
//            u64 file size, u64 section-table offset, u64 table checksum,
//            24 bytes that must be zero
//   table    per section 32 bytes: u32 kind, u32 alignment (power of two,
//            <= 4096), u64 offset, u64 size, u64 FNV-1a checksum of the bytes
//   sections at their offsets, non-overlapping, zero padding between
#ifndef QCC_RUNTIME_PACKAGE_PACKAGE_H
#define QCC_RUNTIME_PACKAGE_PACKAGE_H

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace qcc::pkg {

/// 1: the first format. 2: the integer layers' parameters gained an
/// activation and the output scale it needs (rt::kernel::qlinear/qconv).
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kMaxAlignment = 4096;
inline constexpr uint32_t kMaxSections = 64;

enum class SectionKind : uint32_t {
  Manifest = 1, ///< inputs, outputs, memory plan, kernel list (Manifest.h)
  Weights = 2,  ///< packed constant data, referenced by offset
  CpuCode = 3,  ///< an ELF shared object for the CPU backend
  Ptx = 4,      ///< PTX text for the CUDA backend
};
/// "manifest", "weights", "cpu-code", "ptx", or "unknown".
const char *sectionName(SectionKind kind);

/// FNV-1a, 64 bits: detects accidental damage, not tampering.
uint64_t checksum(std::span<const uint8_t> bytes);

/// Builds a package in memory.
class Writer {
public:
  /// Adds a section; `alignment` is a power of two up to kMaxAlignment.
  void add(SectionKind kind, std::vector<uint8_t> bytes,
           uint32_t alignment = 64);
  /// The complete file.
  std::vector<uint8_t> finish() const;

private:
  struct Pending {
    SectionKind kind;
    uint32_t alignment;
    std::vector<uint8_t> bytes;
  };
  std::vector<Pending> sections;
};

struct Section {
  SectionKind kind;
  uint32_t alignment;
  std::span<const uint8_t> bytes; ///< a view into the package's bytes
};

/// A validated view over package bytes (which must outlive it).
class Package {
public:
  /// Checks everything the layout comment above promises: magic, version,
  /// sizes, bounds, alignment, overlaps, zero padding and reserved bytes,
  /// unique known section kinds, checksums. Returns an empty string on
  /// success, otherwise why the bytes are not a valid package.
  std::string open(std::span<const uint8_t> bytes);

  const std::vector<Section> &sections() const { return parts; }
  /// The section of that kind, or null.
  const Section *find(SectionKind kind) const;

private:
  std::string check(std::span<const uint8_t> bytes);
  std::vector<Section> parts;
};

/// Appends little-endian values and length-prefixed strings.
class ByteWriter {
public:
  void u8(uint8_t v) { out.push_back(v); }
  void u32(uint32_t v);
  void u64(uint64_t v);
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void str(std::string_view s);
  std::vector<uint8_t> take() { return std::move(out); }

private:
  std::vector<uint8_t> out;
};

/// Reads what ByteWriter wrote, bounds-checked: after the first read past
/// the end every read returns 0 or "" and failed() is true.
class ByteReader {
public:
  explicit ByteReader(std::span<const uint8_t> bytes) : bytes(bytes) {}
  uint8_t u8();
  uint32_t u32();
  uint64_t u64();
  int64_t i64() { return static_cast<int64_t>(u64()); }
  /// A string of at most `maxLength` bytes (longer fails).
  std::string str(size_t maxLength = 4096);
  bool failed() const { return bad; }
  size_t remaining() const { return bad ? 0 : bytes.size() - pos; }

private:
  bool take(size_t n);
  std::span<const uint8_t> bytes;
  size_t pos = 0;
  bool bad = false;
};

} // namespace qcc::pkg

#endif // QCC_RUNTIME_PACKAGE_PACKAGE_H
