// Reading and writing NumPy .npy files (format versions 1-3, little-endian,
// C order): the tensor exchange format of qrun and calibration data.
#ifndef QCC_RUNTIME_IO_NPY_H
#define QCC_RUNTIME_IO_NPY_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace qcc::rt {

enum class ElementKind {
  F64,
  F32,
  F16,
  I64,
  I32,
  I16,
  I8,
  U64,
  U32,
  U16,
  U8,
  Bool
};

/// numpy's descr string ("<f4", "|u1", ...) for a kind.
std::string_view npyDescr(ElementKind kind);
int64_t elementSize(ElementKind kind);

/// Element i of a little-endian row-major array of `kind` at `base`,
/// converted to double (exact for every kind but 64-bit integers beyond
/// 2^53).
double readElement(ElementKind kind, const void *base, int64_t i);

struct HostArray {
  ElementKind kind = ElementKind::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes; ///< little-endian, row-major

  int64_t elementCount() const;
  /// Element i converted to double (see readElement).
  double at(int64_t i) const { return readElement(kind, bytes.data(), i); }
  void set(int64_t i, double value);
};

/// Reads a .npy file, validating the header, the dtype, the shape and the
/// data size. On failure returns false and sets `error` (naming the file).
bool readNpy(const std::string &path, HostArray &array, std::string &error);
/// Parses .npy bytes already in memory; `origin` names them in errors.
bool parseNpy(std::string_view bytes, const std::string &origin,
              HostArray &array, std::string &error);
/// Writes a .npy file (format 1.0).
bool writeNpy(const std::string &path, const HostArray &array,
              std::string &error);

} // namespace qcc::rt

#endif // QCC_RUNTIME_IO_NPY_H
