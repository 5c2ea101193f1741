// The .npy element kind of a runtime C API element type, shared by the
// runtime-only tools (qrun's package path, qcc-check-package). Header only,
// so that those tools link no more than the runtime and runtime/io.
#ifndef QCC_TOOLS_COMMON_NPYKINDS_H
#define QCC_TOOLS_COMMON_NPYKINDS_H

#include "qcc/runtime.h"
#include "runtime/io/Npy.h"

namespace qcc::tools {

inline rt::ElementKind npyKindOf(qcc_dtype t) {
  switch (t) {
  case QCC_F32:
    return rt::ElementKind::F32;
  case QCC_U8:
    return rt::ElementKind::U8;
  case QCC_I8:
    return rt::ElementKind::I8;
  case QCC_I32:
    return rt::ElementKind::I32;
  case QCC_I64:
    return rt::ElementKind::I64;
  }
  return rt::ElementKind::F32;
}

} // namespace qcc::tools

#endif // QCC_TOOLS_COMMON_NPYKINDS_H
