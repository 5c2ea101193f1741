// Loads the shared object a CPU package carries: checks that the bytes are
// an x86-64 ELF shared object whose header tables lie inside them, then maps
// it from an anonymous memory file (nothing is written to disk). The code
// itself is trusted once the package's checksums and these checks pass:
// loading a package means running its code, as with any shared library.
#ifndef QCC_RUNTIME_CPU_CODELOADER_H
#define QCC_RUNTIME_CPU_CODELOADER_H

#include <cstdint>
#include <span>
#include <string>

namespace qcc::rt {

class LoadedCode {
public:
  LoadedCode() = default;
  LoadedCode(const LoadedCode &) = delete;
  LoadedCode &operator=(const LoadedCode &) = delete;
  ~LoadedCode();

  /// Returns an empty string, or why the bytes cannot be loaded.
  std::string load(std::span<const uint8_t> elf);
  /// The address of an exported symbol, or null.
  void *symbol(const char *name) const;

private:
  void *handle = nullptr;
};

/// The ELF checks of load() alone.
std::string checkElfSharedObject(std::span<const uint8_t> elf);

} // namespace qcc::rt

#endif // QCC_RUNTIME_CPU_CODELOADER_H
