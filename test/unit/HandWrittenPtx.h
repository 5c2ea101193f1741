// PTX written by hand for the CUDA runtime tests (CudaRuntimeTest.cpp and
// the qcc-check-package cases), so that they need no CUDA compiler.
#ifndef QCC_TEST_UNIT_HANDWRITTENPTX_H
#define QCC_TEST_UNIT_HANDWRITTENPTX_H

namespace qcc::test {

// Two kernels, as nvcc would emit them for
//   extern "C" __global__ void k0(unsigned char *arena,
//                                 const unsigned char *weights) {
//     arena[threadIdx.x] = weights[threadIdx.x] + 1;
//   }
//   extern "C" __global__ void k1(unsigned char *arena,
//                                 const unsigned char *weights) {
//     arena[256 + threadIdx.x] = arena[threadIdx.x] + weights[threadIdx.x];
//   }
inline constexpr const char *kPtx = R"(.version 8.0
.target sm_80
.address_size 64

.visible .entry k0(.param .u64 arena, .param .u64 weights)
{
  .reg .b16 %rs<3>;
  .reg .b32 %r<2>;
  .reg .b64 %rd<8>;
  ld.param.u64 %rd1, [arena];
  ld.param.u64 %rd2, [weights];
  cvta.to.global.u64 %rd3, %rd1;
  cvta.to.global.u64 %rd4, %rd2;
  mov.u32 %r1, %tid.x;
  cvt.u64.u32 %rd5, %r1;
  add.s64 %rd6, %rd4, %rd5;
  ld.global.u8 %rs1, [%rd6];
  add.s16 %rs2, %rs1, 1;
  add.s64 %rd7, %rd3, %rd5;
  st.global.u8 [%rd7], %rs2;
  ret;
}

.visible .entry k1(.param .u64 arena, .param .u64 weights)
{
  .reg .b16 %rs<4>;
  .reg .b32 %r<2>;
  .reg .b64 %rd<9>;
  ld.param.u64 %rd1, [arena];
  ld.param.u64 %rd2, [weights];
  cvta.to.global.u64 %rd3, %rd1;
  cvta.to.global.u64 %rd4, %rd2;
  mov.u32 %r1, %tid.x;
  cvt.u64.u32 %rd5, %r1;
  add.s64 %rd6, %rd3, %rd5;
  ld.global.u8 %rs1, [%rd6];
  add.s64 %rd7, %rd4, %rd5;
  ld.global.u8 %rs2, [%rd7];
  add.s16 %rs3, %rs1, %rs2;
  st.global.u8 [%rd6+256], %rs3;
  ret;
}
)";

} // namespace qcc::test

#endif // QCC_TEST_UNIT_HANDWRITTENPTX_H
