// A heap array aligned to 64 bytes (one cache line, one ZMM register), for
// packed weights and scratch space the vector kernels load with aligned
// instructions.
#ifndef QCC_RUNTIME_CPU_ALIGNEDBUFFER_H
#define QCC_RUNTIME_CPU_ALIGNEDBUFFER_H

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace qcc::rt {

template <typename T> class AlignedBuffer {
public:
  static constexpr size_t kAlignment = 64;
  AlignedBuffer() = default;
  /// Zero-filled storage for `count` elements.
  explicit AlignedBuffer(size_t count) { resize(count); }
  AlignedBuffer(AlignedBuffer &&o) noexcept
      : ptr(std::exchange(o.ptr, nullptr)), count(std::exchange(o.count, 0)) {}
  AlignedBuffer &operator=(AlignedBuffer &&o) noexcept {
    std::swap(ptr, o.ptr);
    std::swap(count, o.count);
    return *this;
  }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  ~AlignedBuffer() { std::free(ptr); }

  /// Discards the contents and holds `n` zeroed elements.
  void resize(size_t n) {
    std::free(ptr);
    ptr = nullptr;
    count = n;
    if (n == 0)
      return;
    size_t bytes = (n * sizeof(T) + kAlignment - 1) / kAlignment * kAlignment;
    ptr = static_cast<T *>(std::aligned_alloc(kAlignment, bytes));
    if (!ptr)
      throw std::bad_alloc();
    std::memset(static_cast<void *>(ptr), 0, bytes);
  }
  T *data() { return ptr; }
  const T *data() const { return ptr; }
  size_t size() const { return count; }
  T &operator[](size_t i) { return ptr[i]; }
  const T &operator[](size_t i) const { return ptr[i]; }

private:
  T *ptr = nullptr;
  size_t count = 0;
};

} // namespace qcc::rt

#endif
