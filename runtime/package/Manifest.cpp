// Manifest encoding and its validating decoder.
#include "runtime/package/Manifest.h"
#include "runtime/package/Package.h"

#include <set>

namespace qcc::pkg {

namespace {
constexpr uint32_t kManifestMagic = 0x4e414d51; // "QMAN"
/// Limits that keep every product below 2^63 and every count honest.
constexpr int64_t kMaxDim = int64_t{1} << 31;
constexpr uint64_t kMaxBytes = uint64_t{1} << 40;
constexpr uint32_t kMaxTensors = 4096;
constexpr uint32_t kMaxKernels = 1 << 20;

void writeTensor(ByteWriter &w, const TensorInfo &t) {
  w.str(t.name);
  w.u8(static_cast<uint8_t>(t.type));
  w.u32(static_cast<uint32_t>(t.shape.size()));
  for (int64_t d : t.shape)
    w.i64(d);
  w.u64(t.offset);
}

std::string readTensors(ByteReader &r, const Manifest &m, const char *role,
                        std::vector<TensorInfo> &out,
                        std::set<std::string> &names) {
  const uint32_t count = r.u32();
  if (count > kMaxTensors)
    return std::string("too many ") + role + "s: " + std::to_string(count);
  for (uint32_t i = 0; i < count && !r.failed(); ++i) {
    TensorInfo t;
    t.name = r.str(1024);
    t.type = static_cast<ElementType>(r.u8());
    const uint32_t rank = r.u32();
    if (r.failed())
      break;
    const std::string what = std::string(role) + " '" + t.name + "'";
    if (t.name.empty() || !names.insert(t.name).second)
      return std::string(role) + " " + std::to_string(i) +
             " has an empty or repeated name";
    if (elementSize(t.type) == 0)
      return what + " has an unknown element type";
    if (rank > kMaxRank)
      return what + " has rank " + std::to_string(rank) + " (at most " +
             std::to_string(kMaxRank) + ")";
    uint64_t elements = 1;
    for (uint32_t d = 0; d < rank; ++d) {
      const int64_t dim = r.i64();
      if (dim < 0 || dim > kMaxDim)
        return what + " has a bad dimension " + std::to_string(dim);
      t.shape.push_back(dim);
      elements *= static_cast<uint64_t>(dim);
      if (elements > kMaxBytes)
        return what + " is too large";
    }
    t.offset = r.u64();
    if (r.failed())
      break;
    if (t.offset % kArenaAlignment != 0)
      return what + " is at an unaligned arena offset";
    if (t.offset > m.arenaBytes || t.byteSize() > m.arenaBytes - t.offset)
      return what + " lies outside the " + std::to_string(m.arenaBytes) +
             "-byte arena";
    out.push_back(std::move(t));
  }
  return {};
}
} // namespace

size_t elementSize(ElementType type) {
  switch (type) {
  case ElementType::F32:
  case ElementType::I32:
    return 4;
  case ElementType::U8:
  case ElementType::I8:
    return 1;
  case ElementType::I64:
    return 8;
  }
  return 0;
}

const char *elementName(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::U8:
    return "u8";
  case ElementType::I8:
    return "i8";
  case ElementType::I32:
    return "i32";
  case ElementType::I64:
    return "i64";
  }
  return "?";
}

uint64_t TensorInfo::elementCount() const {
  uint64_t count = 1;
  for (int64_t d : shape)
    count *= static_cast<uint64_t>(d);
  return count;
}

bool isCudaTarget(const Manifest &m) { return m.target.starts_with("cuda"); }

std::vector<uint8_t> encode(const Manifest &m) {
  ByteWriter w;
  w.u32(kManifestMagic);
  w.str(m.model);
  w.str(m.target);
  w.str(m.entry);
  w.u64(m.arenaBytes);
  w.u64(m.weightBytes);
  for (const auto *list : {&m.inputs, &m.outputs}) {
    w.u32(static_cast<uint32_t>(list->size()));
    for (const TensorInfo &t : *list)
      writeTensor(w, t);
  }
  w.u32(static_cast<uint32_t>(m.kernels.size()));
  for (const KernelInfo &k : m.kernels) {
    w.str(k.name);
    w.str(k.source);
    w.u32(static_cast<uint32_t>(k.kind));
    w.u32(static_cast<uint32_t>(k.params.size()));
    for (int64_t p : k.params)
      w.i64(p);
  }
  return w.take();
}

std::string decode(std::span<const uint8_t> bytes, Manifest &m) {
  m = Manifest();
  ByteReader r(bytes);
  const char *truncated = "manifest is truncated";
  if (r.u32() != kManifestMagic)
    return r.failed() ? truncated : "manifest has a bad magic number";
  m.model = r.str();
  m.target = r.str();
  m.entry = r.str(256);
  m.arenaBytes = r.u64();
  m.weightBytes = r.u64();
  if (r.failed())
    return truncated;
  if (m.arenaBytes > kMaxBytes || m.weightBytes > kMaxBytes)
    return "manifest asks for more than 1 TiB of memory";
  std::set<std::string> names;
  if (std::string e = readTensors(r, m, "input", m.inputs, names); !e.empty())
    return e;
  if (std::string e = readTensors(r, m, "output", m.outputs, names); !e.empty())
    return e;
  const uint32_t kernels = r.u32();
  if (kernels > kMaxKernels)
    return "too many kernels: " + std::to_string(kernels);
  for (uint32_t i = 0; i < kernels && !r.failed(); ++i) {
    KernelInfo k;
    k.name = r.str();
    k.source = r.str(1 << 16);
    const uint32_t kind = r.u32(), params = r.u32();
    if (r.failed())
      break;
    if (kind > static_cast<uint32_t>(KernelKind::CudaKernel))
      return "kernel " + std::to_string(i) + " has an unknown kind " +
             std::to_string(kind);
    if (params > kMaxKernelParams)
      return "kernel " + std::to_string(i) + " has " + std::to_string(params) +
             " parameters (at most " + std::to_string(kMaxKernelParams) + ")";
    k.kind = static_cast<KernelKind>(kind);
    for (uint32_t p = 0; p < params; ++p)
      k.params.push_back(r.i64());
    m.kernels.push_back(std::move(k));
  }
  if (r.failed())
    return truncated;
  if (r.remaining() != 0)
    return std::to_string(r.remaining()) +
           " unexpected bytes at the end of the manifest";
  if (m.entry.empty() && !isCudaTarget(m))
    return "manifest names no entry point";
  if (m.outputs.empty())
    return "manifest declares no outputs";
  return {};
}

} // namespace qcc::pkg
