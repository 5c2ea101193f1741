// Reading NumPy .npz archives (numpy.savez and numpy.savez_compressed): a zip
// of .npy members. Calibration data arrives in this format, so the archive is
// treated as untrusted: every header, size and offset is checked.
#ifndef QCC_RUNTIME_IO_NPZ_H
#define QCC_RUNTIME_IO_NPZ_H

#include "runtime/io/Npy.h"

#include <string>
#include <utility>
#include <vector>

namespace qcc::rt {

/// The arrays of an .npz file in archive order, each under its member name
/// without the ".npy" suffix. Stored and deflate-compressed members are
/// supported (CRC-32 checked); anything else is an error naming the file and
/// the member.
bool readNpz(const std::string &path,
             std::vector<std::pair<std::string, HostArray>> &arrays,
             std::string &error);

} // namespace qcc::rt

#endif // QCC_RUNTIME_IO_NPZ_H
