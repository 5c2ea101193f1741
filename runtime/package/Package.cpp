// The .qpkg container: writer and validating reader.
#include "runtime/package/Package.h"

#include <algorithm>
#include <cstring>

namespace qcc::pkg {

namespace {
constexpr char kMagic[8] = {'Q', 'C', 'C', 'P', 'K', 'G', 0, 0};
constexpr size_t kHeaderSize = 64;
constexpr size_t kEntrySize = 32;

void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return v;
}
uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}
bool isKnown(uint32_t kind) { return kind >= 1 && kind <= 4; }
bool allZero(std::span<const uint8_t> bytes) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}
uint64_t alignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}
} // namespace

const char *sectionName(SectionKind kind) {
  switch (kind) {
  case SectionKind::Manifest:
    return "manifest";
  case SectionKind::Weights:
    return "weights";
  case SectionKind::CpuCode:
    return "cpu-code";
  case SectionKind::Ptx:
    return "ptx";
  }
  return "unknown";
}

uint64_t checksum(std::span<const uint8_t> bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (uint8_t b : bytes) {
    hash ^= b;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void Writer::add(SectionKind kind, std::vector<uint8_t> bytes,
                 uint32_t alignment) {
  sections.push_back({kind, alignment, std::move(bytes)});
}

std::vector<uint8_t> Writer::finish() const {
  const size_t tableSize = sections.size() * kEntrySize;
  uint64_t offset = kHeaderSize + tableSize;
  std::vector<uint64_t> offsets;
  for (const Pending &s : sections) {
    offset = alignUp(offset, s.alignment);
    offsets.push_back(offset);
    offset += s.bytes.size();
  }
  std::vector<uint8_t> file(offset, 0);
  std::memcpy(file.data(), kMagic, 8);
  put32(&file[8], kFormatVersion);
  put32(&file[12], static_cast<uint32_t>(sections.size()));
  put64(&file[16], file.size());
  put64(&file[24], kHeaderSize);
  for (size_t i = 0; i < sections.size(); ++i) {
    uint8_t *entry = &file[kHeaderSize + i * kEntrySize];
    put32(entry, static_cast<uint32_t>(sections[i].kind));
    put32(entry + 4, sections[i].alignment);
    put64(entry + 8, offsets[i]);
    put64(entry + 16, sections[i].bytes.size());
    put64(entry + 24, checksum(sections[i].bytes));
    if (!sections[i].bytes.empty())
      std::memcpy(&file[offsets[i]], sections[i].bytes.data(),
                  sections[i].bytes.size());
  }
  put64(&file[32], checksum({&file[kHeaderSize], tableSize}));
  return file;
}

std::string Package::open(std::span<const uint8_t> bytes) {
  parts.clear();
  std::string error = check(bytes);
  if (!error.empty())
    parts.clear();
  return error;
}

std::string Package::check(std::span<const uint8_t> bytes) {
  if (bytes.size() < kHeaderSize)
    return "file is " + std::to_string(bytes.size()) +
           " bytes, shorter than the 64-byte package header";
  const uint8_t *h = bytes.data();
  if (std::memcmp(h, kMagic, 8) != 0)
    return "not a qcc package (bad magic)";
  const uint32_t version = get32(h + 8);
  if (version != kFormatVersion)
    return "package format version " + std::to_string(version) +
           " is not supported (this runtime reads version " +
           std::to_string(kFormatVersion) + ")";
  const uint32_t count = get32(h + 12);
  const uint64_t fileSize = get64(h + 16), tableOffset = get64(h + 24);
  if (fileSize != bytes.size())
    return "package is " + std::to_string(bytes.size()) +
           " bytes but its header says " + std::to_string(fileSize) +
           " (truncated or padded)";
  if (count == 0 || count > kMaxSections)
    return "bad section count " + std::to_string(count);
  if (tableOffset != kHeaderSize)
    return "bad section table offset";
  if (!allZero(bytes.subspan(40, 24)))
    return "reserved header bytes are not zero";
  const uint64_t tableSize = uint64_t{count} * kEntrySize;
  if (tableSize > bytes.size() - kHeaderSize)
    return "section table runs past the end of the file";
  if (checksum(bytes.subspan(kHeaderSize, tableSize)) != get64(h + 32))
    return "section table checksum mismatch (corrupted package)";

  struct Range {
    uint64_t begin, end;
  };
  std::vector<Range> used = {{0, kHeaderSize + tableSize}};
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t *e = h + kHeaderSize + uint64_t{i} * kEntrySize;
    const uint32_t kind = get32(e), alignment = get32(e + 4);
    const uint64_t offset = get64(e + 8), size = get64(e + 16);
    const std::string what = "section " + std::to_string(i);
    if (!isKnown(kind))
      return what + " has unknown kind " + std::to_string(kind);
    if (find(static_cast<SectionKind>(kind)))
      return what + ": second " + sectionName(static_cast<SectionKind>(kind)) +
             " section";
    if (alignment == 0 || alignment > kMaxAlignment ||
        (alignment & (alignment - 1)) != 0)
      return what + " has bad alignment " + std::to_string(alignment);
    if (offset % alignment != 0)
      return what + " offset " + std::to_string(offset) +
             " is not aligned to " + std::to_string(alignment);
    if (offset > bytes.size() || size > bytes.size() - offset)
      return what + " (" + sectionName(static_cast<SectionKind>(kind)) +
             ") runs past the end of the file";
    std::span<const uint8_t> body = bytes.subspan(offset, size);
    if (checksum(body) != get64(e + 24))
      return what + " (" + sectionName(static_cast<SectionKind>(kind)) +
             ") checksum mismatch (corrupted package)";
    used.push_back({offset, offset + size});
    parts.push_back({static_cast<SectionKind>(kind), alignment, body});
  }
  // No overlaps, and nothing but zeros between the pieces.
  std::sort(used.begin(), used.end(),
            [](const Range &a, const Range &b) { return a.begin < b.begin; });
  uint64_t covered = 0;
  for (const Range &r : used) {
    if (r.begin < covered)
      return "sections overlap";
    if (!allZero(bytes.subspan(covered, r.begin - covered)))
      return "non-zero bytes between sections";
    covered = r.end;
  }
  if (!allZero(bytes.subspan(covered)))
    return "non-zero bytes after the last section";
  return {};
}

const Section *Package::find(SectionKind kind) const {
  for (const Section &s : parts)
    if (s.kind == kind)
      return &s;
  return nullptr;
}

void ByteWriter::u32(uint32_t v) {
  uint8_t b[4];
  put32(b, v);
  out.insert(out.end(), b, b + 4);
}

void ByteWriter::u64(uint64_t v) {
  uint8_t b[8];
  put64(b, v);
  out.insert(out.end(), b, b + 8);
}

void ByteWriter::str(std::string_view s) {
  u32(static_cast<uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

bool ByteReader::take(size_t n) {
  if (bad || n > bytes.size() - pos) {
    bad = true;
    return false;
  }
  return true;
}

uint8_t ByteReader::u8() { return take(1) ? bytes[pos++] : 0; }

uint32_t ByteReader::u32() {
  if (!take(4))
    return 0;
  uint32_t v = get32(&bytes[pos]);
  pos += 4;
  return v;
}

uint64_t ByteReader::u64() {
  if (!take(8))
    return 0;
  uint64_t v = get64(&bytes[pos]);
  pos += 8;
  return v;
}

std::string ByteReader::str(size_t maxLength) {
  const uint32_t length = u32();
  if (length > maxLength) {
    bad = true;
    return {};
  }
  if (!take(length))
    return {};
  std::string s(reinterpret_cast<const char *>(&bytes[pos]), length);
  pos += length;
  return s;
}

} // namespace qcc::pkg
