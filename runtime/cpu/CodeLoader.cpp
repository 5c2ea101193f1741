// ELF checks, then dlopen of an anonymous memory file.
#include "runtime/cpu/CodeLoader.h"

#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <sys/mman.h>
#include <unistd.h>

namespace qcc::rt {

std::string checkElfSharedObject(std::span<const uint8_t> elf) {
  Elf64_Ehdr h;
  if (elf.size() < sizeof(h))
    return "code section is " + std::to_string(elf.size()) +
           " bytes, too short for an ELF header";
  std::memcpy(&h, elf.data(), sizeof(h));
  if (std::memcmp(h.e_ident, ELFMAG, SELFMAG) != 0)
    return "code section is not an ELF file";
  if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB)
    return "code section is not a 64-bit little-endian ELF file";
  if (h.e_type != ET_DYN)
    return "code section is not a shared object";
  if (h.e_machine != EM_X86_64)
    return "code section is for machine " + std::to_string(h.e_machine) +
           ", not x86-64";
  auto inside = [&](uint64_t offset, uint64_t count, uint64_t entry) {
    return offset <= elf.size() && count <= 65535 &&
           count * entry <= elf.size() - offset;
  };
  if (h.e_phentsize != sizeof(Elf64_Phdr) ||
      !inside(h.e_phoff, h.e_phnum, h.e_phentsize) || h.e_phnum == 0)
    return "code section's program headers are damaged";
  if (h.e_shnum != 0 && (h.e_shentsize != sizeof(Elf64_Shdr) ||
                         !inside(h.e_shoff, h.e_shnum, h.e_shentsize)))
    return "code section's section headers are damaged";
  for (uint16_t i = 0; i < h.e_phnum; ++i) {
    Elf64_Phdr p;
    std::memcpy(&p, elf.data() + h.e_phoff + uint64_t{i} * sizeof(p),
                sizeof(p));
    if (p.p_type == PT_LOAD &&
        (p.p_offset > elf.size() || p.p_filesz > elf.size() - p.p_offset ||
         p.p_filesz > p.p_memsz))
      return "code section's segment " + std::to_string(i) +
             " lies outside the file";
  }
  return {};
}

LoadedCode::~LoadedCode() {
  if (handle)
    dlclose(handle);
}

std::string LoadedCode::load(std::span<const uint8_t> elf) {
  if (handle)
    return "code is already loaded";
  if (std::string error = checkElfSharedObject(elf); !error.empty())
    return error;
  const int fd = memfd_create("qcc-code", MFD_CLOEXEC);
  if (fd < 0)
    return std::string("memfd_create failed: ") + std::strerror(errno);
  size_t written = 0;
  while (written < elf.size()) {
    ssize_t n = write(fd, elf.data() + written, elf.size() - written);
    if (n <= 0) {
      close(fd);
      return "cannot write the code to memory";
    }
    written += static_cast<size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  close(fd);
  if (!handle) {
    const char *why = dlerror();
    return std::string("cannot load the code: ") + (why ? why : "unknown");
  }
  return {};
}

void *LoadedCode::symbol(const char *name) const {
  return handle ? dlsym(handle, name) : nullptr;
}

} // namespace qcc::rt
