// .npz reading: the zip container is parsed here (central directory, ZIP64,
// stored and deflate members) and each member's bytes go to parseNpy. The
// archive is untrusted, so nothing is allocated before the size it is for
// has been checked against the file and the limits below.
#include "runtime/io/Npz.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <set>

namespace qcc::rt {

namespace {

/// No member may claim more than this once inflated: far above any
/// calibration batch, far below what would exhaust a host by accident.
constexpr uint64_t kMaxMemberBytes = uint64_t{16} << 30;
/// Deflate needs at least 2 bits (a 1-bit length code and a 1-bit distance
/// code) to emit 258 bytes, so no stream inflates by more than 1032:1. A
/// claim beyond that (plus slack for tiny streams) is a lie, and refusing it
/// keeps every allocation proportional to the file size.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kDeflateSlack = 1024;

constexpr uint32_t kLocalHeaderSig = 0x04034b50;
constexpr uint32_t kCentralHeaderSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr uint16_t kZip64ExtraId = 0x0001;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflate = 8;
constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagPatched = 0x0020;
constexpr uint16_t kFlagStrongEncryption = 0x0040;

uint16_t load16(const char *p) {
  const auto *b = reinterpret_cast<const uint8_t *>(p);
  return static_cast<uint16_t>(b[0] | (b[1] << 8));
}
uint32_t load32(const char *p) {
  return load16(p) | (static_cast<uint32_t>(load16(p + 2)) << 16);
}
uint64_t load64(const char *p) {
  return load32(p) | (static_cast<uint64_t>(load32(p + 4)) << 32);
}

bool fail(std::string &error, const std::string &message) {
  error = message;
  return false;
}

/// Member names come from the file: control bytes are shown as \xHH so an
/// error message cannot rewrite the terminal.
std::string printableName(const std::string &name) {
  std::string text;
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7F) {
      static const char kHex[] = "0123456789abcdef";
      text += "\\x";
      text += kHex[c >> 4];
      text += kHex[c & 15];
    } else {
      text += static_cast<char>(c);
    }
  }
  return text;
}

struct Member {
  std::string name;
  uint16_t flags = 0;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint64_t compressedSize = 0;
  uint64_t uncompressedSize = 0;
  uint64_t localOffset = 0;
  uint64_t dataOffset = 0; ///< set from the local header
};

/// Byte ranges of the file, each checked against its size before reading.
class ArchiveFile {
public:
  bool open(const std::string &path) {
    stream.open(path, std::ios::binary);
    if (!stream)
      return false;
    stream.seekg(0, std::ios::end);
    const std::streamoff end = stream.tellg();
    if (!stream || end < 0)
      return false;
    fileSize = static_cast<uint64_t>(end);
    return true;
  }
  uint64_t size() const { return fileSize; }
  /// False when [offset, offset + length) is not inside the file or the read
  /// fails.
  bool read(uint64_t offset, uint64_t length, std::string &out) {
    if (offset > fileSize || length > fileSize - offset)
      return false;
    out.resize(static_cast<size_t>(length));
    if (length == 0)
      return true;
    stream.clear();
    stream.seekg(static_cast<std::streamoff>(offset));
    stream.read(out.data(), static_cast<std::streamsize>(length));
    return static_cast<uint64_t>(stream.gcount()) == length;
  }

private:
  std::ifstream stream;
  uint64_t fileSize = 0;
};

/// Replaces the 0xFFFF.. placeholders of a header with the values of its
/// ZIP64 extra field, which holds exactly the placeholder fields in this
/// order.
bool applyZip64Extra(std::string_view extra, uint64_t *uncompressed,
                     uint64_t *compressed, uint64_t *offset, std::string &why) {
  const bool needUncompressed = uncompressed && *uncompressed == 0xFFFFFFFF;
  const bool needCompressed = compressed && *compressed == 0xFFFFFFFF;
  const bool needOffset = offset && *offset == 0xFFFFFFFF;
  size_t at = 0;
  while (extra.size() - at >= 4) {
    const uint16_t id = load16(extra.data() + at);
    const uint16_t length = load16(extra.data() + at + 2);
    at += 4;
    if (length > extra.size() - at) {
      why = "extra field runs past its header";
      return false;
    }
    if (id == kZip64ExtraId) {
      std::string_view field = extra.substr(at, length);
      size_t used = 0;
      for (auto [need, value] : {std::pair{needUncompressed, uncompressed},
                                 std::pair{needCompressed, compressed},
                                 std::pair{needOffset, offset}}) {
        if (!need)
          continue;
        if (field.size() - used < 8) {
          why = "ZIP64 extra field is too short for the sizes it replaces";
          return false;
        }
        *value = load64(field.data() + used);
        used += 8;
      }
      return true;
    }
    at += length;
  }
  if (needUncompressed || needCompressed || needOffset) {
    why = "header needs a ZIP64 extra field but has none";
    return false;
  }
  return true;
}

/// Where the central directory lies and how many entries it holds.
struct Directory {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t entries = 0;
  uint64_t end = 0; ///< first byte after the directory's allowed extent
};

bool findDirectory(ArchiveFile &file, const std::string &path,
                   Directory &directory, std::string &error) {
  // The end record sits in the last 22 bytes plus a comment of at most 64 KiB;
  // searching backwards finds the real one even if the comment holds a
  // signature, since its comment length must reach exactly to the file end.
  const uint64_t tailSize = std::min<uint64_t>(file.size(), kEndSize + 0xFFFF);
  const uint64_t tailOffset = file.size() - tailSize;
  std::string tail;
  if (!file.read(tailOffset, tailSize, tail))
    return fail(error, path + ": cannot read the file");
  size_t endAt = std::string::npos;
  for (size_t at = tail.size() >= kEndSize ? tail.size() - kEndSize + 1 : 0;
       at-- > 0;) {
    if (load32(tail.data() + at) == kEndSig &&
        load16(tail.data() + at + 20) == tail.size() - at - kEndSize) {
      endAt = at;
      break;
    }
  }
  if (endAt == std::string::npos)
    return fail(error, path + ": not a zip archive (no end of central "
                              "directory record; truncated file?)");
  const char *end = tail.data() + endAt;
  const uint64_t endOffset = tailOffset + endAt;
  const uint16_t disk = load16(end + 4);
  const uint16_t directoryDisk = load16(end + 6);
  uint64_t entriesHere = load16(end + 8);
  directory.entries = load16(end + 10);
  directory.size = load32(end + 12);
  directory.offset = load32(end + 16);
  directory.end = endOffset;

  // A ZIP64 locator right before the end record points at the ZIP64 end
  // record, whose 64-bit fields replace the 0xFFFF.. placeholders.
  std::string locator;
  if (endOffset >= kZip64LocatorSize &&
      file.read(endOffset - kZip64LocatorSize, kZip64LocatorSize, locator) &&
      load32(locator.data()) == kZip64LocatorSig) {
    const uint64_t locatorOffset = endOffset - kZip64LocatorSize;
    const uint64_t recordOffset = load64(locator.data() + 8);
    if (load32(locator.data() + 4) != 0 || load32(locator.data() + 16) > 1)
      return fail(error, path + ": multi-disk zip archives are not supported");
    std::string record;
    if (recordOffset > locatorOffset ||
        locatorOffset - recordOffset < kZip64EndSize ||
        !file.read(recordOffset, kZip64EndSize, record) ||
        load32(record.data()) != kZip64EndSig)
      return fail(error, path +
                             ": bad ZIP64 end of central directory "
                             "record (offset " +
                             std::to_string(recordOffset) + ")");
    if (load32(record.data() + 16) != 0 || load32(record.data() + 20) != 0)
      return fail(error, path + ": multi-disk zip archives are not supported");
    entriesHere = load64(record.data() + 24);
    directory.entries = load64(record.data() + 32);
    directory.size = load64(record.data() + 40);
    directory.offset = load64(record.data() + 48);
    directory.end = recordOffset;
  } else if (directory.entries == 0xFFFF || directory.size == 0xFFFFFFFF ||
             directory.offset == 0xFFFFFFFF) {
    return fail(error, path + ": zip end record needs ZIP64 values but the "
                              "ZIP64 locator is missing");
  }
  if (disk != 0 && disk != 0xFFFF)
    return fail(error, path + ": multi-disk zip archives are not supported");
  if ((directoryDisk != 0 && directoryDisk != 0xFFFF) ||
      entriesHere != directory.entries)
    return fail(error, path + ": multi-disk zip archives are not supported");
  if (directory.offset > directory.end ||
      directory.size > directory.end - directory.offset)
    return fail(error, path + ": central directory (offset " +
                           std::to_string(directory.offset) + ", " +
                           std::to_string(directory.size) +
                           " bytes) lies outside the file");
  if (directory.entries > directory.size / kCentralHeaderSize)
    return fail(error, path + ": central directory claims " +
                           std::to_string(directory.entries) +
                           " entries but has room for fewer");
  return true;
}

bool readDirectory(ArchiveFile &file, const std::string &path,
                   const Directory &directory, std::vector<Member> &members,
                   std::string &error) {
  std::string bytes;
  if (!file.read(directory.offset, directory.size, bytes))
    return fail(error, path + ": cannot read the central directory");
  members.reserve(static_cast<size_t>(directory.entries));
  size_t at = 0;
  for (uint64_t index = 0; index < directory.entries; ++index) {
    const std::string entry =
        "central directory entry " + std::to_string(index);
    if (bytes.size() - at < kCentralHeaderSize ||
        load32(bytes.data() + at) != kCentralHeaderSig)
      return fail(error, path + ": " + entry + " is malformed");
    const char *header = bytes.data() + at;
    Member member;
    member.flags = load16(header + 8);
    member.method = load16(header + 10);
    member.crc = load32(header + 16);
    member.compressedSize = load32(header + 20);
    member.uncompressedSize = load32(header + 24);
    const uint16_t nameLength = load16(header + 28);
    const uint16_t extraLength = load16(header + 30);
    const uint16_t commentLength = load16(header + 32);
    const uint16_t disk = load16(header + 34);
    member.localOffset = load32(header + 42);
    const size_t variable = size_t{nameLength} + extraLength + commentLength;
    if (bytes.size() - at - kCentralHeaderSize < variable)
      return fail(error, path + ": " + entry + " runs past the directory");
    member.name.assign(header + kCentralHeaderSize, nameLength);
    const std::string_view extra(header + kCentralHeaderSize + nameLength,
                                 extraLength);
    at += kCentralHeaderSize + variable;

    const std::string where =
        path + ": member '" + printableName(member.name) + "': ";
    std::string why;
    if (!applyZip64Extra(extra, &member.uncompressedSize,
                         &member.compressedSize, &member.localOffset, why))
      return fail(error, where + why);
    if (disk != 0 && disk != 0xFFFF)
      return fail(error, where + "lies on another disk of a multi-disk "
                                 "archive");
    if (member.flags & (kFlagEncrypted | kFlagStrongEncryption))
      return fail(error, where + "is encrypted");
    if (member.flags & kFlagPatched)
      return fail(error, where + "uses patched data, which is not supported");
    if (member.method != kMethodStored && member.method != kMethodDeflate)
      return fail(error, where + "uses compression method " +
                             std::to_string(member.method) +
                             "; only stored (0) and deflate (8) are supported");
    if (member.uncompressedSize > kMaxMemberBytes)
      return fail(error, where + "claims " +
                             std::to_string(member.uncompressedSize) +
                             " bytes, more than the 16 GiB limit");
    if (member.method == kMethodStored &&
        member.compressedSize != member.uncompressedSize)
      return fail(error, where + "is stored but its sizes differ (" +
                             std::to_string(member.compressedSize) + " vs " +
                             std::to_string(member.uncompressedSize) + ")");
    if (member.method == kMethodDeflate &&
        member.uncompressedSize >
            member.compressedSize * kMaxDeflateRatio + kDeflateSlack)
      return fail(error,
                  where + "claims " + std::to_string(member.uncompressedSize) +
                      " bytes from " + std::to_string(member.compressedSize) +
                      " compressed, beyond what deflate can expand");
    members.push_back(std::move(member));
  }
  return true;
}

/// Reads each member's local header and checks it against the directory.
/// Members must not overlap: overlapping members let a small file claim
/// the same compressed bytes many times over.
bool readLocalHeaders(ArchiveFile &file, const std::string &path,
                      const Directory &directory, std::vector<Member> &members,
                      std::string &error) {
  std::vector<Member *> byOffset;
  for (Member &member : members)
    byOffset.push_back(&member);
  std::stable_sort(byOffset.begin(), byOffset.end(),
                   [](const Member *a, const Member *b) {
                     return a->localOffset < b->localOffset;
                   });
  uint64_t previousEnd = 0;
  std::string previousName;
  for (Member *member : byOffset) {
    const std::string where =
        path + ": member '" + printableName(member->name) + "': ";
    if (member->localOffset < previousEnd)
      return fail(error, where + "overlaps member '" +
                             printableName(previousName) + "'");
    std::string header;
    if (member->localOffset > directory.offset ||
        directory.offset - member->localOffset < kLocalHeaderSize ||
        !file.read(member->localOffset, kLocalHeaderSize, header))
      return fail(error, where + "local header offset " +
                             std::to_string(member->localOffset) +
                             " lies outside the member data area");
    if (load32(header.data()) != kLocalHeaderSig)
      return fail(error, where + "no local header at offset " +
                             std::to_string(member->localOffset));
    const uint16_t flags = load16(header.data() + 6);
    const uint16_t method = load16(header.data() + 8);
    const uint32_t crc = load32(header.data() + 14);
    uint64_t compressed = load32(header.data() + 18);
    uint64_t uncompressed = load32(header.data() + 22);
    const uint16_t nameLength = load16(header.data() + 26);
    const uint16_t extraLength = load16(header.data() + 28);
    const uint64_t namesOffset = member->localOffset + kLocalHeaderSize;
    std::string names;
    if (directory.offset - namesOffset < size_t{nameLength} + extraLength ||
        !file.read(namesOffset, size_t{nameLength} + extraLength, names))
      return fail(error, where + "local header runs into the central "
                                 "directory");
    if (std::string_view(names).substr(0, nameLength) != member->name)
      return fail(error, where + "local header names a different member");
    if (method != member->method || (flags & kFlagEncrypted))
      return fail(error, where + "local header disagrees with the central "
                                 "directory (method or encryption)");
    // With a data descriptor (flag bit 3) the local sizes and CRC may be
    // zero; the directory's values are the ones used in every case.
    if (!(flags & 0x0008)) {
      std::string why;
      if (!applyZip64Extra(std::string_view(names).substr(nameLength),
                           &uncompressed, &compressed, nullptr, why))
        return fail(error, where + "local " + why);
      if (crc != member->crc || compressed != member->compressedSize ||
          uncompressed != member->uncompressedSize)
        return fail(error, where + "local header disagrees with the central "
                                   "directory (sizes or CRC-32)");
    }
    member->dataOffset = namesOffset + nameLength + extraLength;
    if (member->compressedSize > directory.offset - member->dataOffset)
      return fail(error, where + "claims " +
                             std::to_string(member->compressedSize) +
                             " bytes of data at offset " +
                             std::to_string(member->dataOffset) +
                             ", past the end of the member data area");
    previousEnd = member->dataOffset + member->compressedSize;
    previousName = member->name;
  }
  return true;
}

/// Raw deflate (no zlib header) into exactly `expected` bytes; a stream that
/// ends early, runs long or leaves input unread is an error.
bool inflateMember(const std::string &compressed, uint64_t expected,
                   std::string &out, std::string &why) {
  z_stream stream{};
  if (inflateInit2(&stream, -MAX_WBITS) != Z_OK) {
    why = "cannot initialise zlib";
    return false;
  }
  out.assign(static_cast<size_t>(expected), '\0');
  // zlib counts in 32-bit uInt, so large members go through in chunks.
  constexpr uint64_t kChunk = uint64_t{1} << 30;
  uint64_t inGiven = 0, outGiven = 0;
  char overflow = 0;
  bool intoOverflow = false;
  int status = Z_OK;
  while (true) {
    if (stream.avail_in == 0 && inGiven < compressed.size()) {
      const uint64_t chunk = std::min(compressed.size() - inGiven, kChunk);
      stream.next_in = reinterpret_cast<Bytef *>(
          const_cast<char *>(compressed.data() + inGiven));
      stream.avail_in = static_cast<uInt>(chunk);
      inGiven += chunk;
    }
    if (stream.avail_out == 0) {
      if (outGiven < expected) {
        const uint64_t chunk = std::min(expected - outGiven, kChunk);
        stream.next_out = reinterpret_cast<Bytef *>(out.data() + outGiven);
        stream.avail_out = static_cast<uInt>(chunk);
        outGiven += chunk;
      } else {
        // One spare byte tells a stream that is done from one that would
        // write past the claimed size.
        stream.next_out = reinterpret_cast<Bytef *>(&overflow);
        stream.avail_out = 1;
        intoOverflow = true;
      }
    }
    status = inflate(&stream, Z_NO_FLUSH);
    if (intoOverflow && stream.avail_out == 0) {
      why = "inflates to more than the " + std::to_string(expected) +
            " bytes its header claims";
      break;
    }
    if (status == Z_STREAM_END)
      break;
    if (status == Z_BUF_ERROR && stream.avail_in == 0 &&
        inGiven == compressed.size()) {
      why = "compressed data ends before the deflate stream does";
      break;
    }
    if (status != Z_OK && status != Z_BUF_ERROR) {
      why = std::string("corrupt deflate data") +
            (stream.msg ? std::string(" (") + stream.msg + ")" : "");
      break;
    }
  }
  const uint64_t produced =
      intoOverflow ? outGiven : outGiven - stream.avail_out;
  const uint64_t consumed = inGiven - stream.avail_in;
  inflateEnd(&stream);
  if (status != Z_STREAM_END || !why.empty()) {
    if (why.empty())
      why = "corrupt deflate data";
    return false;
  }
  if (produced != expected) {
    why = "inflates to " + std::to_string(produced) +
          " bytes but its header "
          "claims " +
          std::to_string(expected);
    return false;
  }
  if (consumed != compressed.size()) {
    why = "has " + std::to_string(compressed.size() - consumed) +
          " bytes after the end of its deflate stream";
    return false;
  }
  return true;
}

bool extractMember(ArchiveFile &file, const std::string &path,
                   const Member &member, HostArray &array, std::string &error) {
  const std::string origin =
      path + ": member '" + printableName(member.name) + "'";
  std::string stored;
  if (!file.read(member.dataOffset, member.compressedSize, stored))
    return fail(error, origin + ": cannot read its data");
  std::string inflated;
  const std::string *data = &stored;
  if (member.method == kMethodDeflate) {
    std::string why;
    if (!inflateMember(stored, member.uncompressedSize, inflated, why))
      return fail(error, origin + ": " + why);
    std::string().swap(stored);
    data = &inflated;
  }
  // crc32_z takes size_t, so even members beyond 4 GiB go in one call.
  const uLong crc =
      crc32_z(crc32_z(0, nullptr, 0),
              reinterpret_cast<const Bytef *>(data->data()), data->size());
  if (crc != member.crc)
    return fail(error, origin + ": CRC-32 mismatch (data is corrupt)");
  return parseNpy(*data, origin, array, error);
}

} // namespace

bool readNpz(const std::string &path,
             std::vector<std::pair<std::string, HostArray>> &arrays,
             std::string &error) {
  arrays.clear();
  ArchiveFile file;
  if (!file.open(path))
    return fail(error, path + ": cannot open file");
  Directory directory;
  std::vector<Member> members;
  if (!findDirectory(file, path, directory, error) ||
      !readDirectory(file, path, directory, members, error))
    return false;

  std::set<std::string> seen;
  for (const Member &member : members) {
    const std::string where =
        path + ": member '" + printableName(member.name) + "': ";
    constexpr std::string_view kSuffix = ".npy";
    if (member.name.size() < kSuffix.size() ||
        member.name.compare(member.name.size() - kSuffix.size(), kSuffix.size(),
                            kSuffix) != 0)
      return fail(error, where + "is not a .npy file (every member of an "
                                 ".npz archive must be)");
    if (!seen.insert(member.name).second)
      return fail(error, where + "appears more than once");
  }
  if (!readLocalHeaders(file, path, directory, members, error))
    return false;

  std::vector<std::pair<std::string, HostArray>> result;
  result.reserve(members.size());
  for (const Member &member : members) {
    HostArray array;
    if (!extractMember(file, path, member, array, error))
      return false;
    result.emplace_back(member.name.substr(0, member.name.size() - 4),
                        std::move(array));
  }
  arrays = std::move(result);
  return true;
}

} // namespace qcc::rt
