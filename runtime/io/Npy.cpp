// .npy reading and writing with full validation of untrusted headers.
#include "runtime/io/Npy.h"
#include "runtime/numerics/Numerics.h"

#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace qcc::rt {

namespace {
struct KindInfo {
  ElementKind kind;
  const char *descr;
  int64_t size;
};
constexpr KindInfo kKinds[] = {
    {ElementKind::F64, "<f8", 8}, {ElementKind::F32, "<f4", 4},
    {ElementKind::F16, "<f2", 2}, {ElementKind::I64, "<i8", 8},
    {ElementKind::I32, "<i4", 4}, {ElementKind::I16, "<i2", 2},
    {ElementKind::I8, "|i1", 1},  {ElementKind::U64, "<u8", 8},
    {ElementKind::U32, "<u4", 4}, {ElementKind::U16, "<u2", 2},
    {ElementKind::U8, "|u1", 1},  {ElementKind::Bool, "|b1", 1},
};

constexpr int64_t kMaxElements = int64_t{1} << 34;

bool fail(std::string &error, const std::string &message) {
  error = message;
  return false;
}

/// Value of `key` in the header dict, e.g. 'descr': '<f4'.
bool headerField(const std::string &header, const std::string &key,
                 std::string &value) {
  const std::string needle = "'" + key + "'";
  size_t at = header.find(needle);
  if (at == std::string::npos)
    return false;
  at = header.find(':', at + needle.size());
  if (at == std::string::npos)
    return false;
  ++at;
  while (at < header.size() && header[at] == ' ')
    ++at;
  if (at >= header.size())
    return false;
  size_t end;
  if (header[at] == '\'') {
    end = header.find('\'', at + 1);
    if (end == std::string::npos)
      return false;
    value = header.substr(at + 1, end - at - 1);
  } else if (header[at] == '(') {
    end = header.find(')', at);
    if (end == std::string::npos)
      return false;
    value = header.substr(at + 1, end - at - 1);
  } else {
    end = header.find_first_of(",}", at);
    value = header.substr(at, end == std::string::npos ? std::string::npos
                                                       : end - at);
  }
  return true;
}
} // namespace

std::string_view npyDescr(ElementKind kind) {
  for (const KindInfo &info : kKinds)
    if (info.kind == kind)
      return info.descr;
  return "";
}

int64_t elementSize(ElementKind kind) {
  for (const KindInfo &info : kKinds)
    if (info.kind == kind)
      return info.size;
  return 0;
}

int64_t HostArray::elementCount() const { return rt::elementCount(shape); }

double readElement(ElementKind kind, const void *base, int64_t i) {
  const uint8_t *p = static_cast<const uint8_t *>(base) + i * elementSize(kind);
  auto load = [p](auto value) {
    std::memcpy(&value, p, sizeof(value));
    return value;
  };
  switch (kind) {
  case ElementKind::F64:
    return load(double{});
  case ElementKind::F32:
    return load(float{});
  case ElementKind::F16:
    return rt::decodeHalf(load(uint16_t{}));
  case ElementKind::I64:
    return static_cast<double>(load(int64_t{}));
  case ElementKind::I32:
    return load(int32_t{});
  case ElementKind::I16:
    return load(int16_t{});
  case ElementKind::I8:
    return load(int8_t{});
  case ElementKind::U64:
    return static_cast<double>(load(uint64_t{}));
  case ElementKind::U32:
    return load(uint32_t{});
  case ElementKind::U16:
    return load(uint16_t{});
  case ElementKind::U8:
    return load(uint8_t{});
  case ElementKind::Bool:
    return load(uint8_t{}) != 0;
  }
  return 0;
}

void HostArray::set(int64_t i, double value) {
  uint8_t *p = bytes.data() + i * elementSize(kind);
  auto store = [p](auto v) { std::memcpy(p, &v, sizeof(v)); };
  switch (kind) {
  case ElementKind::F64:
    store(value);
    break;
  case ElementKind::F32:
    store(static_cast<float>(value));
    break;
  case ElementKind::F16:
    store(rt::encodeHalf(static_cast<float>(value)));
    break;
  case ElementKind::I64:
    store(static_cast<int64_t>(value));
    break;
  case ElementKind::I32:
    store(static_cast<int32_t>(value));
    break;
  case ElementKind::I16:
    store(static_cast<int16_t>(value));
    break;
  case ElementKind::I8:
    store(static_cast<int8_t>(value));
    break;
  case ElementKind::U64:
    store(static_cast<uint64_t>(value));
    break;
  case ElementKind::U32:
    store(static_cast<uint32_t>(value));
    break;
  case ElementKind::U16:
    store(static_cast<uint16_t>(value));
    break;
  case ElementKind::U8:
    store(static_cast<uint8_t>(value));
    break;
  case ElementKind::Bool:
    store(static_cast<uint8_t>(value != 0));
    break;
  }
}

bool parseNpy(std::string_view data, const std::string &origin,
              HostArray &array, std::string &error) {
  static const char kMagic[] = "\x93NUMPY";
  if (data.size() < 10 || std::memcmp(data.data(), kMagic, 6) != 0)
    return fail(error, origin + ": not a .npy file (bad magic)");
  const uint8_t major = static_cast<uint8_t>(data[6]);
  size_t headerLength, offset;
  if (major == 1) {
    headerLength = static_cast<uint8_t>(data[8]) |
                   (static_cast<size_t>(static_cast<uint8_t>(data[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (data.size() < 12)
      return fail(error, origin + ": truncated .npy header");
    headerLength = 0;
    for (int i = 0; i < 4; ++i)
      headerLength |= static_cast<size_t>(static_cast<uint8_t>(data[8 + i]))
                      << (8 * i);
    offset = 12;
  } else {
    return fail(error,
                origin + ": unsupported .npy version " + std::to_string(major));
  }
  if (headerLength > data.size() - offset)
    return fail(error, origin + ": truncated .npy header");
  const std::string header(data.substr(offset, headerLength));
  offset += headerLength;

  std::string descr, order, shapeText;
  if (!headerField(header, "descr", descr) ||
      !headerField(header, "fortran_order", order) ||
      !headerField(header, "shape", shapeText))
    return fail(error, origin + ": malformed .npy header");
  if (order.rfind("False", 0) != 0)
    return fail(error, origin + ": Fortran-order arrays are not supported; "
                                "save with numpy.ascontiguousarray");
  bool known = false;
  for (const KindInfo &info : kKinds)
    if (descr == info.descr ||
        (info.size == 1 && descr.size() == 3 && descr[0] == '<' &&
         descr.substr(1) == std::string(info.descr).substr(1))) {
      array.kind = info.kind;
      known = true;
    }
  if (!known)
    return fail(error, origin + ": unsupported dtype '" + descr +
                           "' (expected little-endian float, int, uint or "
                           "bool)");
  array.shape.clear();
  std::stringstream dims(shapeText);
  std::string item;
  int64_t count = 1;
  while (std::getline(dims, item, ',')) {
    size_t first = item.find_first_not_of(' ');
    if (first == std::string::npos)
      continue;
    char *end = nullptr;
    const long long dim = std::strtoll(item.c_str() + first, &end, 10);
    if (end == item.c_str() + first || dim < 0)
      return fail(error, origin + ": invalid shape (" + shapeText + ")");
    if (dim > 0 && count > kMaxElements / dim)
      return fail(error, origin + ": too many elements");
    count *= dim;
    array.shape.push_back(dim);
  }
  const int64_t expected = count * elementSize(array.kind);
  if (static_cast<int64_t>(data.size() - offset) != expected)
    return fail(error, origin + ": holds " +
                           std::to_string(data.size() - offset) +
                           " data bytes; shape (" + shapeText + ") of " +
                           descr + " needs " + std::to_string(expected));
  array.bytes.assign(data.begin() + offset, data.end());
  return true;
}

bool readNpy(const std::string &path, HostArray &array, std::string &error) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream)
    return fail(error, path + ": cannot open file");
  std::ostringstream contents;
  contents << stream.rdbuf();
  return parseNpy(contents.str(), path, array, error);
}

bool writeNpy(const std::string &path, const HostArray &array,
              std::string &error) {
  std::string header = "{'descr': '" + std::string(npyDescr(array.kind)) +
                       "', 'fortran_order': False, 'shape': (";
  for (int64_t dim : array.shape)
    header += std::to_string(dim) + ",";
  if (array.shape.size() > 1)
    header.pop_back();
  header += "), }";
  // Pad so the data starts on a 64-byte boundary, ending in a newline.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::ofstream stream(path, std::ios::binary);
  if (!stream)
    return fail(error, path + ": cannot create file");
  stream.write("\x93NUMPY\x01\x00", 8);
  const uint16_t length = static_cast<uint16_t>(header.size());
  const char lengthBytes[2] = {static_cast<char>(length & 0xFF),
                               static_cast<char>(length >> 8)};
  stream.write(lengthBytes, 2);
  stream << header;
  stream.write(reinterpret_cast<const char *>(array.bytes.data()),
               static_cast<std::streamsize>(array.bytes.size()));
  if (!stream)
    return fail(error, path + ": write failed");
  return true;
}

} // namespace qcc::rt
