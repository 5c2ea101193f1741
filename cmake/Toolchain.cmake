# Build-speed helpers: ccache and lld when present, and optional sanitizers.
find_program(QCC_CCACHE ccache)
if(QCC_CCACHE)
  set(CMAKE_C_COMPILER_LAUNCHER "${QCC_CCACHE}")
  set(CMAKE_CXX_COMPILER_LAUNCHER "${QCC_CCACHE}")
endif()

include(CheckCXXSourceCompiles)
include(CheckLinkerFlag)
check_linker_flag(CXX "-fuse-ld=lld" QCC_HAVE_LLD)
if(QCC_HAVE_LLD)
  add_link_options("-fuse-ld=lld")
endif()

if(QCC_ENABLE_SANITIZERS)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

if(QCC_BUILD_FUZZERS)
  # Coverage feedback for all of qcc's code, not only the fuzz entry points.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# GCC 12 reports impossible memcpy overlaps in inlined std::string
# concatenation at -O3 (GCC bug 105329, fixed in GCC 13); the warning says
# nothing about our code, so it is turned off for those compilers only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-Wno-restrict>)
endif()

# Compile flags of the files that hold one ISA's kernels (runtime/cpu,
# benchmarks); such code runs only after a CPUID check. No multiply-add is
# contracted behind the code's back: kernels that must round as the
# reference does write every fused multiply-add as an intrinsic.
set(QCC_AVX2_FLAGS -mavx2 -mfma -ffp-contract=off)
set(QCC_AVX512_FLAGS -mavx2 -mfma -mavx512f -mavx512bw -mavx512vl -mavx512dq
    -ffp-contract=off)
