// Per-ISA entry points of the weight-only 4-bit matmul (see GemmInt4.h for
// the packed layout). Plain pointers only cross this boundary.
#ifndef QCC_RUNTIME_CPU_GEMMINT4KERNELS_H
#define QCC_RUNTIME_CPU_GEMMINT4KERNELS_H

#include <cstdint>

namespace qcc::rt::detail {

struct Int4Args {
  const float *x; ///< m rows of kPadded floats (zero tail), 64-byte aligned
  int64_t m, kPadded, groupSize, groups;
  const uint8_t *codes; ///< row stride kPadded / 2
  const float *scales;
  const int8_t *zeroPoints; ///< or null
  const float *levels;      ///< 16
  const float *bias;        ///< or null
  float *y;
  int64_t ldy;
};

/// Output columns [n0, n1) of all m rows.
using Int4RowsFn = void (*)(const Int4Args &, int64_t n0, int64_t n1);
void int4RowsScalar(const Int4Args &, int64_t, int64_t);
void int4RowsAvx2(const Int4Args &, int64_t, int64_t);
void int4RowsAvx512(const Int4Args &, int64_t, int64_t);

/// The code of element k of a packed row.
inline unsigned int4CodeAt(const uint8_t *row, int64_t k) {
  int64_t c = k / 128, i = (k % 128) / 16, j = k % 16;
  uint8_t byte = row[c * 64 + 4 * j + i / 2];
  return (i % 2 == 0) ? (byte & 15u) : (byte >> 4);
}

} // namespace qcc::rt::detail

#endif
