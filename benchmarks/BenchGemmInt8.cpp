// int8 GEMM: qcc's kernels against oneDNN's matmul (u8 x s8 -> s32) on the
// shapes of issue 5, with 1 and 2 threads, as a fraction of the int8
// multiply-accumulate peak measured in the same run. Also counts the
// outputs on which oneDNN differs from qcc (qcc is exact; see the probes).
#include "benchmarks/BenchUtil.h"
#include "benchmarks/Probes.h"
#include "runtime/cpu/GemmInt8.h"
#include "runtime/cpu/ThreadPool.h"

#include <dnnl.hpp>
#include <omp.h>

#include <cstdio>
#include <random>

using namespace qcc;

namespace {

struct Shape {
  int64_t m, n, k;
};

struct OneDnnGemm {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul primitive;
  dnnl::memory a, b, c;
  std::string impl;

  OneDnnGemm(const Shape &s, uint8_t *aData, const int8_t *bData,
             int32_t *cData) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl::memory::desc aMd({s.m, s.k}, dt::u8, tag::ab);
    dnnl::memory::desc bAny({s.k, s.n}, dt::s8, tag::any);
    dnnl::memory::desc bPlain({s.k, s.n}, dt::s8, tag::ab);
    dnnl::memory::desc cMd({s.m, s.n}, dt::s32, tag::ab);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(aMd, bAny, cMd), engine);
    impl = pd.impl_info_str();
    primitive = dnnl::matmul(pd);
    a = dnnl::memory(aMd, engine, aData);
    c = dnnl::memory(cMd, engine, cData);
    // Weights are reordered into oneDNN's preferred layout once, outside the
    // timing, as qcc packs its weights once.
    dnnl::memory plain(bPlain, engine, const_cast<int8_t *>(bData));
    b = dnnl::memory(pd.weights_desc(), engine);
    dnnl::reorder(plain, b).execute(stream, plain, b);
    stream.wait();
  }
  void run() {
    primitive.execute(
        stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
  }
};

} // namespace

int main() {
  rt::Isa isa = rt::defaultIsa();
  if (isa < rt::Isa::Avx512) {
    std::printf("bench-gemm-int8: this CPU has %s; the peak probes and the "
                "comparison need AVX-512\n",
                rt::isaName(isa));
    return 1;
  }
  std::vector<int> threadCounts = bench::threadCounts();
  bool vnni = isa == rt::Isa::Avx512Vnni;
  std::printf("int8 GEMM, u8 x s8 -> s32. qcc kernel: %s\n", rt::isaName(isa));
  std::printf("int8 MAC peaks measured now (GMAC/s per thread count):\n");
  std::vector<double> peaks;
  for (int t : threadCounts) {
    double wd =
        bench::onThreads(t, [](int) { return bench::peakMaddwdAvx512(); });
    double ubs =
        bench::onThreads(t, [](int) { return bench::peakMaddubswAvx512(); });
    double dp =
        vnni ? bench::onThreads(t, [](int) { return bench::peakVnni(); }) : 0;
    std::printf(
        "  %d thread(s): vpmaddwd (exact) %.1f, vpmaddubsw (saturating) "
        "%.1f, vpdpbusd (VNNI) %s\n",
        t, wd / 1e9, ubs / 1e9,
        vnni ? std::to_string(dp / 1e9).c_str() : "n/a (no VNNI)");
    peaks.push_back(vnni ? dp : wd);
  }
  std::printf("peak used for %%peak: %s\n\n",
              vnni ? "vpdpbusd (VNNI)"
                   : "vpmaddwd, the exact path without VNNI");

  std::printf(
      "| M x N x K | threads | qcc GMAC/s | oneDNN GMAC/s | qcc/oneDNN | "
      "qcc %%peak | oneDNN %%peak | outputs where oneDNN != qcc |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::mt19937 rng(42);
  for (Shape s :
       {Shape{128, 4096, 4096}, Shape{8, 4096, 4096}, Shape{384, 768, 768}}) {
    std::vector<uint8_t> a(static_cast<size_t>(s.m * s.k));
    std::vector<int8_t> b(static_cast<size_t>(s.k * s.n));
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto &v : a)
      v = static_cast<uint8_t>(byte(rng));
    for (auto &v : b)
      v = static_cast<int8_t>(byte(rng) - 128);
    std::vector<int32_t> ours(static_cast<size_t>(s.m * s.n));
    std::vector<int32_t> theirs(ours.size());
    rt::PackedInt8Weights packed =
        rt::packInt8Weights(b.data(), s.k, s.n, nullptr, isa);
    OneDnnGemm dnnl(s, a.data(), b.data(), theirs.data());
    rt::Int8Activations act{a.data(), s.m, s.k, 0, false};
    double macs = double(s.m) * s.n * s.k;
    for (size_t ti = 0; ti < threadCounts.size(); ++ti) {
      int t = threadCounts[ti];
      rt::ThreadPool pool(t);
      omp_set_num_threads(t);
      double tq = bench::medianSeconds([&] {
        bench::exitOnError(rt::gemmInt8(act, packed, rt::Int8Epilogue{},
                                        ours.data(), s.n, &pool),
                           "bench-gemm-int8");
      });
      double td = bench::medianSeconds([&] { dnnl.run(); });
      int64_t differ = 0;
      for (size_t i = 0; i < ours.size(); ++i)
        differ += ours[i] != theirs[i];
      // Which side is right: 64 sampled outputs against sums in int64.
      int oursExact = 0, theirsExact = 0;
      for (int sample = 0; sample < 64; ++sample) {
        int64_t i = (sample * 7919) % s.m, j = (sample * 104729) % s.n;
        int64_t exact = 0;
        for (int64_t kk = 0; kk < s.k; ++kk)
          exact += int64_t(a[i * s.k + kk]) * b[kk * s.n + j];
        oursExact += ours[i * s.n + j] == exact;
        theirsExact += theirs[i * s.n + j] == exact;
      }
      std::printf(
          "| %lldx%lldx%lld | %d | %.1f | %.1f | %.2f | %.0f%% | %.0f%% | "
          "%lld of %zu (exact on 64 samples: qcc %d, oneDNN %d) |\n",
          (long long)s.m, (long long)s.n, (long long)s.k, t, macs / tq / 1e9,
          macs / td / 1e9, td / tq, 100 * macs / tq / peaks[ti],
          100 * macs / td / peaks[ti], (long long)differ, ours.size(),
          oursExact, theirsExact);
    }
    std::printf("|  | oneDNN implementation: %s |  |  |  |  |  |  |\n",
                dnnl.impl.c_str());
  }
  return 0;
}
