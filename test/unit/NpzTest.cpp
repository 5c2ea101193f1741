// .npz reading: archives are built byte by byte here (a small zip writer,
// zlib's deflate for compressed members), so the expected values are the
// ones the test put in, and every malformation is made on purpose. When
// QCC_TEST_PYTHON names a Python with numpy, numpy's own files are read too.
#include "runtime/io/Npz.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>

#include <unistd.h>

using namespace qcc;

namespace {

void put16(std::string &out, uint64_t value) {
  for (int i = 0; i < 2; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
}
void put32(std::string &out, uint64_t value) {
  for (int i = 0; i < 4; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
}
void put64(std::string &out, uint64_t value) {
  for (int i = 0; i < 8; ++i)
    out += static_cast<char>((value >> (8 * i)) & 0xFF);
}
void patch32(std::string &out, size_t at, uint32_t value) {
  for (int i = 0; i < 4; ++i)
    out[at + i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}

/// .npy format 1.0 bytes, laid out as numpy writes them.
std::string makeNpy(const std::string &descr, const std::vector<int64_t> &shape,
                    const std::string &data) {
  std::string dict = "{'descr': '" + descr +
                     "', 'fortran_order': False, "
                     "'shape': (";
  for (int64_t dim : shape)
    dict += std::to_string(dim) + ", ";
  if (shape.size() > 1)
    dict.resize(dict.size() - 2);
  else if (shape.size() == 1)
    dict.pop_back();
  dict += "), }";
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  std::string bytes = "\x93NUMPY\x01";
  bytes += '\0';
  put16(bytes, dict.size());
  return bytes + dict + data;
}

template <typename T> std::string rawBytes(const std::vector<T> &values) {
  std::string bytes(values.size() * sizeof(T), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::string deflateRaw(const std::string &data) {
  z_stream stream{};
  EXPECT_EQ(
      deflateInit2(&stream, 9, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&stream, data.size()), '\0');
  stream.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef *>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

uint32_t crcOf(const std::string &data) {
  return static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef *>(data.data()),
            static_cast<uInt>(data.size())));
}

struct TestMember {
  std::string name;
  std::string data; ///< uncompressed bytes
  bool deflate = false;
  /// Sizes and CRC after the data (flag bit 3), zeros in the local header.
  bool dataDescriptor = false;
  /// numpy's layout: local sizes 0xFFFFFFFF with a ZIP64 extra field.
  bool zip64Local = false;
  /// Sizes and offset in a ZIP64 extra field of the central directory.
  bool zip64Central = false;
  // Lies, written in both the local and the central header.
  std::optional<uint16_t> method;
  std::optional<uint64_t> claimedSize;
  std::optional<uint64_t> claimedCompressedSize;
  std::optional<uint32_t> claimedCrc;
};

struct ZipOptions {
  bool zip64End = false;
  std::string comment;
};

/// A minimal zip writer covering the layouts numpy and other tools produce.
std::string buildZip(const std::vector<TestMember> &members,
                     const ZipOptions &options = {}) {
  std::string zip, directory;
  for (const TestMember &member : members) {
    const std::string payload =
        member.deflate ? deflateRaw(member.data) : member.data;
    const uint16_t method = member.method.value_or(member.deflate ? 8 : 0);
    const uint32_t crc = member.claimedCrc.value_or(crcOf(member.data));
    const uint64_t size = member.claimedSize.value_or(member.data.size());
    const uint64_t compressed =
        member.claimedCompressedSize.value_or(payload.size());
    const uint16_t flags = member.dataDescriptor ? 0x0008 : 0;
    const uint64_t offset = zip.size();

    put32(zip, 0x04034b50);
    put16(zip, member.zip64Local ? 45 : 20);
    put16(zip, flags);
    put16(zip, method);
    put16(zip, 0);
    put16(zip, 0x21);
    put32(zip, member.dataDescriptor ? 0 : crc);
    const uint64_t localSize = member.dataDescriptor ? 0 : size;
    const uint64_t localCompressed = member.dataDescriptor ? 0 : compressed;
    put32(zip, member.zip64Local ? 0xFFFFFFFF : localCompressed);
    put32(zip, member.zip64Local ? 0xFFFFFFFF : localSize);
    put16(zip, member.name.size());
    put16(zip, member.zip64Local ? 20 : 0);
    zip += member.name;
    if (member.zip64Local) {
      put16(zip, 1);
      put16(zip, 16);
      put64(zip, localSize);
      put64(zip, localCompressed);
    }
    zip += payload;
    if (member.dataDescriptor) {
      put32(zip, 0x08074b50);
      put32(zip, crc);
      if (member.zip64Local) {
        put64(zip, compressed);
        put64(zip, size);
      } else {
        put32(zip, compressed);
        put32(zip, size);
      }
    }

    put32(directory, 0x02014b50);
    put16(directory, 45);
    put16(directory, member.zip64Central || member.zip64Local ? 45 : 20);
    put16(directory, flags);
    put16(directory, method);
    put16(directory, 0);
    put16(directory, 0x21);
    put32(directory, crc);
    put32(directory, member.zip64Central ? 0xFFFFFFFF : compressed);
    put32(directory, member.zip64Central ? 0xFFFFFFFF : size);
    put16(directory, member.name.size());
    put16(directory, member.zip64Central ? 28 : 0);
    put16(directory, 0);
    put16(directory, 0);
    put16(directory, 0);
    put32(directory, 0);
    put32(directory, member.zip64Central ? 0xFFFFFFFF : offset);
    directory += member.name;
    if (member.zip64Central) {
      put16(directory, 1);
      put16(directory, 24);
      put64(directory, size);
      put64(directory, compressed);
      put64(directory, offset);
    }
  }
  const uint64_t directoryOffset = zip.size();
  zip += directory;
  if (options.zip64End) {
    const uint64_t recordOffset = zip.size();
    put32(zip, 0x06064b50);
    put64(zip, 44);
    put16(zip, 45);
    put16(zip, 45);
    put32(zip, 0);
    put32(zip, 0);
    put64(zip, members.size());
    put64(zip, members.size());
    put64(zip, directory.size());
    put64(zip, directoryOffset);
    put32(zip, 0x07064b50);
    put32(zip, 0);
    put64(zip, recordOffset);
    put32(zip, 1);
  }
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, options.zip64End ? 0xFFFF : members.size());
  put16(zip, options.zip64End ? 0xFFFF : members.size());
  put32(zip, options.zip64End ? 0xFFFFFFFF : directory.size());
  put32(zip, options.zip64End ? 0xFFFFFFFF : directoryOffset);
  put16(zip, options.comment.size());
  zip += options.comment;
  return zip;
}

bool contains(const std::string &text, const std::string &part) {
  return text.find(part) != std::string::npos;
}

const std::vector<float> kFloats = {1.5f,    -2.25f, 3.0e-5f,
                                    1.0e30f, 0.0f,   -0.125f};
const std::vector<int64_t> kInts = {-(int64_t{1} << 40), 7, INT64_MIN,
                                    INT64_MAX};

std::vector<uint8_t> allBytes() {
  std::vector<uint8_t> bytes(256);
  for (int i = 0; i < 256; ++i)
    bytes[i] = static_cast<uint8_t>(i);
  return bytes;
}

TestMember floatMember() {
  return {"weights.npy", makeNpy("<f4", {2, 3}, rawBytes(kFloats))};
}
TestMember intMember() {
  return {"ids.npy", makeNpy("<i8", {4}, rawBytes(kInts))};
}
TestMember byteMember() {
  return {"pixels.npy", makeNpy("|u1", {16, 16}, rawBytes(allBytes()))};
}

using Arrays = std::vector<std::pair<std::string, rt::HostArray>>;

/// The three members of floatMember, intMember and byteMember, in order.
void expectThreeArrays(const Arrays &arrays) {
  ASSERT_EQ(arrays.size(), 3u);
  EXPECT_EQ(arrays[0].first, "weights");
  EXPECT_EQ(arrays[0].second.kind, rt::ElementKind::F32);
  EXPECT_EQ(arrays[0].second.shape, (std::vector<int64_t>{2, 3}));
  for (size_t i = 0; i < kFloats.size(); ++i)
    EXPECT_EQ(arrays[0].second.at(i), kFloats[i]);

  EXPECT_EQ(arrays[1].first, "ids");
  EXPECT_EQ(arrays[1].second.kind, rt::ElementKind::I64);
  EXPECT_EQ(arrays[1].second.shape, (std::vector<int64_t>{4}));
  ASSERT_EQ(arrays[1].second.bytes.size(), kInts.size() * 8);
  for (size_t i = 0; i < kInts.size(); ++i) {
    int64_t value;
    std::memcpy(&value, arrays[1].second.bytes.data() + 8 * i, 8);
    EXPECT_EQ(value, kInts[i]); // exact, beyond what double holds
  }

  EXPECT_EQ(arrays[2].first, "pixels");
  EXPECT_EQ(arrays[2].second.kind, rt::ElementKind::U8);
  EXPECT_EQ(arrays[2].second.shape, (std::vector<int64_t>{16, 16}));
  for (int i = 0; i < 256; ++i)
    EXPECT_EQ(arrays[2].second.at(i), i);
}

/// Writes archives to files named per test and process (other build trees
/// may run the same tests at once) and removes them afterwards.
class Npz : public ::testing::Test {
protected:
  std::string tempPath(const std::string &suffix) {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::string path = ::testing::TempDir() + "qcc-npz-" +
                             std::to_string(getpid()) + "-" + info->name() +
                             suffix;
    if (std::find(paths.begin(), paths.end(), path) == paths.end())
      paths.push_back(path);
    return path;
  }
  std::string writeTemp(const std::string &bytes, const std::string &tag = "") {
    const std::string path = tempPath(tag + ".npz");
    std::ofstream stream(path, std::ios::binary | std::ios::trunc);
    stream.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    EXPECT_TRUE(stream.good()) << path;
    return path;
  }
  void TearDown() override {
    for (const std::string &path : paths)
      std::remove(path.c_str());
  }

private:
  std::vector<std::string> paths;
};

TEST_F(Npz, ReadsStoredAndDeflatedMembersInOrder) {
  for (int deflateMask = 0; deflateMask < 8; ++deflateMask) {
    SCOPED_TRACE("deflate mask " + std::to_string(deflateMask));
    std::vector<TestMember> members = {floatMember(), intMember(),
                                       byteMember()};
    for (int i = 0; i < 3; ++i)
      members[i].deflate = (deflateMask >> i) & 1;
    Arrays arrays;
    std::string error;
    ASSERT_TRUE(rt::readNpz(writeTemp(buildZip(members)), arrays, error))
        << error;
    expectThreeArrays(arrays);
  }
}

TEST_F(Npz, ReadsZip64DataDescriptorsAndComments) {
  for (int variant = 0; variant < 16; ++variant) {
    SCOPED_TRACE("variant " + std::to_string(variant));
    std::vector<TestMember> members = {floatMember(), intMember(),
                                       byteMember()};
    for (TestMember &member : members) {
      member.zip64Local = variant & 1;
      member.dataDescriptor = variant & 2;
      member.zip64Central = variant & 4;
    }
    members[1].deflate = true;
    ZipOptions options;
    options.zip64End = variant & 8;
    // A comment holding an end-record signature must not be mistaken for
    // the real end record.
    options.comment = std::string("PK\x05\x06", 4) + std::string(18, 'x');
    Arrays arrays;
    std::string error;
    ASSERT_TRUE(
        rt::readNpz(writeTemp(buildZip(members, options)), arrays, error))
        << error;
    expectThreeArrays(arrays);
  }
}

TEST_F(Npz, ReadsAnEmptyArchive) {
  Arrays arrays = {{"stale", rt::HostArray{}}};
  std::string error;
  ASSERT_TRUE(rt::readNpz(writeTemp(buildZip({})), arrays, error)) << error;
  EXPECT_TRUE(arrays.empty());
}

TEST_F(Npz, RejectsMissingFile) {
  Arrays arrays;
  std::string error;
  EXPECT_FALSE(rt::readNpz("/nonexistent/qcc.npz", arrays, error));
  EXPECT_TRUE(contains(error, "/nonexistent/qcc.npz: cannot open file"))
      << error;
}

/// Every proper prefix of an archive is rejected with an error naming the
/// file; under the sanitizers this also shows no read goes out of bounds.
TEST_F(Npz, RejectsEveryTruncation) {
  std::vector<TestMember> members = {floatMember(), intMember(), byteMember()};
  members[0].zip64Local = true;
  members[1].deflate = true;
  members[2].deflate = true;
  members[2].dataDescriptor = true;
  const std::string zip = buildZip(members, {true, ""});
  for (size_t length = 0; length < zip.size(); ++length) {
    const std::string path = writeTemp(zip.substr(0, length));
    Arrays arrays;
    std::string error;
    EXPECT_FALSE(rt::readNpz(path, arrays, error)) << "prefix " << length;
    EXPECT_TRUE(contains(error, path)) << error;
    EXPECT_TRUE(arrays.empty());
  }
}

/// Flipping any single byte either still reads (bytes no check covers,
/// such as timestamps) or fails cleanly; nothing crashes.
TEST_F(Npz, SurvivesEverySingleByteCorruption) {
  std::vector<TestMember> members = {floatMember(), byteMember()};
  members[1].deflate = true;
  const std::string zip = buildZip(members);
  int accepted = 0;
  for (size_t at = 0; at < zip.size(); ++at) {
    std::string bad = zip;
    bad[at] = static_cast<char>(bad[at] ^ 0x5A);
    Arrays arrays;
    std::string error;
    if (rt::readNpz(writeTemp(bad), arrays, error)) {
      ++accepted;
      EXPECT_EQ(arrays.size(), 2u);
    } else {
      EXPECT_FALSE(error.empty());
    }
  }
  // Only headers' free fields (version, time, attributes) may change
  // unnoticed: the data is covered by the CRC.
  EXPECT_LT(accepted, 64);
}

TEST_F(Npz, RejectsBadCrc) {
  TestMember stored = floatMember();
  stored.claimedCrc = crcOf(stored.data) ^ 1;
  TestMember deflated = byteMember();
  deflated.deflate = true;
  deflated.claimedCrc = crcOf(deflated.data) + 1;
  for (const TestMember &member : {stored, deflated}) {
    const std::string path = writeTemp(buildZip({member}));
    Arrays arrays;
    std::string error;
    EXPECT_FALSE(rt::readNpz(path, arrays, error));
    EXPECT_TRUE(contains(error, path + ": member '" + member.name +
                                    "': CRC-32 mismatch"))
        << error;
  }

  // Corrupting a stored member's data is caught by the same check.
  std::string zip = buildZip({floatMember()});
  zip[30 + 11 + 130] ^= 0x10;
  const std::string path = writeTemp(zip, "-data");
  Arrays arrays;
  std::string error;
  EXPECT_FALSE(rt::readNpz(path, arrays, error));
  EXPECT_TRUE(contains(error, "CRC-32 mismatch")) << error;
}

TEST_F(Npz, RejectsUnsupportedMethods) {
  TestMember member = floatMember();
  member.method = 12; // bzip2
  Arrays arrays;
  std::string error;
  EXPECT_FALSE(rt::readNpz(writeTemp(buildZip({member})), arrays, error));
  EXPECT_TRUE(contains(error, "member 'weights.npy': uses compression "
                              "method 12"))
      << error;

  // Encrypted members (flag bit 0) are refused rather than misread.
  std::string zip = buildZip({floatMember()});
  const size_t directory = zip.size() - 22 - 46 - 11;
  zip[directory + 8] |= 1;
  EXPECT_FALSE(rt::readNpz(writeTemp(zip, "-encrypted"), arrays, error));
  EXPECT_TRUE(contains(error, "is encrypted")) << error;
}

TEST_F(Npz, RejectsMembersThatAreNotNpy) {
  TestMember text = {"notes.txt", "hello"};
  const std::string path = writeTemp(buildZip({floatMember(), text}));
  Arrays arrays;
  std::string error;
  EXPECT_FALSE(rt::readNpz(path, arrays, error));
  EXPECT_TRUE(contains(error, path + ": member 'notes.txt': is not a .npy"))
      << error;

  // A control byte in a name is shown escaped, not written raw.
  TestMember odd = {"a\x1b[2J.txt", "x"};
  EXPECT_FALSE(rt::readNpz(writeTemp(buildZip({odd}), "-odd"), arrays, error));
  EXPECT_TRUE(contains(error, "a\\x1b[2J.txt")) << error;

  // A .npy member whose content is not .npy names the member.
  TestMember fake = {"fake.npy", "not an array"};
  EXPECT_FALSE(
      rt::readNpz(writeTemp(buildZip({fake}), "-fake"), arrays, error));
  EXPECT_TRUE(contains(error, "member 'fake.npy': not a .npy file")) << error;

  TestMember twice = floatMember();
  EXPECT_FALSE(rt::readNpz(writeTemp(buildZip({twice, twice}), "-twice"),
                           arrays, error));
  EXPECT_TRUE(contains(error, "appears more than once")) << error;
}

TEST_F(Npz, RejectsLyingSizes) {
  struct Case {
    const char *what;
    TestMember member;
    const char *expected;
  };
  std::vector<Case> cases;
  auto add = [&](const char *what, auto change, const char *expected) {
    TestMember member = byteMember();
    change(member);
    cases.push_back({what, member, expected});
  };
  add(
      "deflate claims more than it inflates to",
      [](TestMember &m) {
        m.deflate = true;
        m.claimedSize = m.data.size() + 10;
      },
      "inflates to 384 bytes but its header claims 394");
  add(
      "deflate claims less than it inflates to",
      [](TestMember &m) {
        m.deflate = true;
        m.claimedSize = m.data.size() - 1;
      },
      "inflates to more than the 383 bytes");
  add(
      "deflate claims fewer compressed bytes",
      [](TestMember &m) {
        m.deflate = true;
        m.claimedCompressedSize = 20;
      },
      "compressed data ends before the deflate stream does");
  add(
      "deflate claims more compressed bytes than the file has",
      [](TestMember &m) {
        m.deflate = true;
        m.claimedCompressedSize = 100000;
      },
      "past the end of the member data area");
  add(
      "deflate claims an impossible ratio",
      [](TestMember &m) {
        m.deflate = true;
        m.claimedSize = uint64_t{1} << 32;
        m.zip64Central = true;
        m.zip64Local = true;
      },
      "beyond what deflate can expand");
  add(
      "member beyond the 16 GiB limit",
      [](TestMember &m) {
        m.claimedSize = uint64_t{17} << 30;
        m.claimedCompressedSize = uint64_t{17} << 30;
        m.zip64Central = true;
        m.zip64Local = true;
      },
      "more than the 16 GiB limit");
  add(
      "stored sizes differ",
      [](TestMember &m) { m.claimedSize = m.data.size() + 1; },
      "is stored but its sizes differ");
  add(
      "stored member claims more than the file holds",
      [](TestMember &m) {
        m.claimedSize = 1 << 20;
        m.claimedCompressedSize = 1 << 20;
      },
      "past the end of the member data area");
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    const std::string path = writeTemp(buildZip({c.member}));
    Arrays arrays;
    std::string error;
    EXPECT_FALSE(rt::readNpz(path, arrays, error));
    EXPECT_TRUE(contains(error, path + ": member 'pixels.npy': ")) << error;
    EXPECT_TRUE(contains(error, c.expected)) << error;
  }
}

TEST_F(Npz, RejectsLyingDirectory) {
  const std::string good = buildZip({floatMember(), byteMember()});
  const size_t end = good.size() - 22;
  const size_t directoryOffset = static_cast<uint8_t>(good[end + 16]) |
                                 (static_cast<uint8_t>(good[end + 17]) << 8);
  ASSERT_EQ(good.substr(directoryOffset, 4), std::string("PK\x01\x02", 4));
  struct Case {
    const char *what;
    size_t at;
    uint32_t value;
    bool wide; ///< 32 bits, else 16
    const char *expected;
  };
  const Case cases[] = {
      {"directory offset past the end", end + 16, 1u << 30, true,
       "lies outside the file"},
      {"directory size past the end", end + 12, 1u << 20, true,
       "lies outside the file"},
      {"more entries than fit", end + 8, 9 | (9u << 16), true,
       "has room for fewer"},
      {"entry counts differ", end + 8, 1, false, "multi-disk"},
      {"name length past the directory", directoryOffset + 28, 0xFFFF, false,
       "runs past the directory"},
      {"local offset past the data", directoryOffset + 42, 1u << 30, true,
       "lies outside the member data area"},
      {"local offset at the wrong place", directoryOffset + 42, 5, true,
       "no local header at offset 5"},
      {"second member overlaps the first", directoryOffset + 46 + 11 + 42, 0,
       true, "overlaps member"},
      {"central name differs from the local one", directoryOffset + 46,
       'W' | ('e' << 8), false, "local header names a different member"},
      {"central CRC differs from the local one", directoryOffset + 16, 1, true,
       "disagrees with the central directory (sizes or CRC-32)"},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.what);
    std::string bad = good;
    if (c.wide) {
      patch32(bad, c.at, c.value);
    } else {
      bad[c.at] = static_cast<char>(c.value & 0xFF);
      bad[c.at + 1] = static_cast<char>(c.value >> 8);
    }
    const std::string path = writeTemp(bad);
    Arrays arrays;
    std::string error;
    EXPECT_FALSE(rt::readNpz(path, arrays, error));
    EXPECT_TRUE(contains(error, path + ": ")) << error;
    EXPECT_TRUE(contains(error, c.expected)) << error;
  }
}

/// numpy's own savez and savez_compressed (ZIP64 local headers, as numpy
/// forces them), when a Python with numpy is named.
TEST_F(Npz, ReadsFilesWrittenByNumpy) {
  const char *python = std::getenv("QCC_TEST_PYTHON");
  if (!python || !*python)
    GTEST_SKIP() << "set QCC_TEST_PYTHON to a Python with numpy";
  const std::string script = tempPath("-write.py");
  const std::string plain = tempPath("-plain.npz");
  const std::string packed = tempPath("-packed.npz");
  {
    std::ofstream stream(script);
    stream << "import sys, numpy as np\n"
              "w = np.array([1.5, -2.25, 3.0e-5, 1.0e30, 0.0, -0.125],\n"
              "             dtype=np.float32).reshape(2, 3)\n"
              "i = np.array([-(1 << 40), 7, -(1 << 63), (1 << 63) - 1],\n"
              "             dtype=np.int64)\n"
              "p = np.arange(256, dtype=np.uint8).reshape(16, 16)\n"
              "np.savez(sys.argv[1], weights=w, ids=i, pixels=p)\n"
              "np.savez_compressed(sys.argv[2], weights=w,\n"
              "                    ids=i, pixels=p)\n";
  }
  const std::string command = std::string("\"") + python + "\" \"" + script +
                              "\" \"" + plain + "\" \"" + packed + "\"";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  for (const std::string &path : {plain, packed}) {
    SCOPED_TRACE(path);
    Arrays arrays;
    std::string error;
    ASSERT_TRUE(rt::readNpz(path, arrays, error)) << error;
    expectThreeArrays(arrays);
  }
}

} // namespace
