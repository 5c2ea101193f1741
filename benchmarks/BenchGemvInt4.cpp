// Weight-only 4-bit GEMV (batch 1, f32 activations): qcc's kernel as a
// fraction of the memory read bandwidth measured in the same run. Weights are
// cold: the benchmark rotates through copies totalling more than 1 GiB, so
// every call streams its weights from DRAM.
#include "benchmarks/BenchUtil.h"
#include "benchmarks/Probes.h"
#include "runtime/cpu/AlignedBuffer.h"
#include "runtime/cpu/GemmInt4.h"
#include "runtime/cpu/ThreadPool.h"

#include <cstdio>
#include <cstring>
#include <random>

using namespace qcc;

namespace {

constexpr size_t kColdBytes = size_t(1) << 30;

rt::PackedInt4Weights copyOf(const rt::PackedInt4Weights &w) {
  rt::PackedInt4Weights c;
  c.isa = w.isa;
  c.n = w.n;
  c.k = w.k;
  c.kPadded = w.kPadded;
  c.groupSize = w.groupSize;
  c.groups = w.groups;
  c.codes.resize(w.codes.size());
  std::memcpy(c.codes.data(), w.codes.data(), w.codes.size());
  c.scales = w.scales;
  c.zeroPoints = w.zeroPoints;
  c.levels = w.levels;
  return c;
}

} // namespace

int main() {
  rt::Isa isa = rt::defaultIsa();
  if (isa < rt::Isa::Avx512) {
    std::printf("bench-gemv-int4: this CPU has %s; the bandwidth probe needs "
                "AVX-512\n",
                rt::isaName(isa));
    return 1;
  }
  std::vector<int> threadCounts = bench::threadCounts();
  std::printf("int4 weight-only GEMV, batch 1, f32 activations, per-group f32 "
              "scales, weights cold (rotated over > 1 GiB). qcc kernel: %s\n",
              rt::isaName(isa));
  std::vector<double> bandwidth;
  {
    rt::AlignedBuffer<uint8_t> buffer(2 * kColdBytes);
    std::memset(buffer.data(), 1, buffer.size());
    for (int t : threadCounts) {
      double best = 0;
      for (int rep = 0; rep < 3; ++rep)
        best = std::max(best, bench::onThreads(t, [&](int i) {
                          size_t share = buffer.size() / t / 256 * 256;
                          return bench::readBandwidth(buffer.data() + i * share,
                                                      share);
                        }));
      bandwidth.push_back(best);
      std::printf("measured read bandwidth, %d thread(s): %.2f GB/s\n", t,
                  best / 1e9);
    }
  }
  std::printf(
      "\n| N x K | group | threads | bytes per call | qcc GB/s | "
      "%% of bandwidth | us per call |\n|---|---|---|---|---|---|---|\n");
  std::mt19937 rng(5);
  for (auto [n, k] : {std::pair<int64_t, int64_t>{4096, 4096},
                      {14336, 4096},
                      {4096, 14336}}) {
    for (int64_t group : {32, 128}) {
      int64_t groups = (k + group - 1) / group;
      std::vector<uint8_t> codes(static_cast<size_t>(n * k));
      std::vector<float> scales(static_cast<size_t>(n * groups));
      std::uniform_int_distribution<int> nibble(0, 15);
      for (auto &c : codes)
        c = static_cast<uint8_t>(nibble(rng));
      for (auto &s : scales)
        s = 0.01f * (1 + nibble(rng));
      std::string error;
      rt::PackedInt4Weights first =
          rt::packInt4Weights(codes.data(), n, k, group, scales.data(), nullptr,
                              rt::int4Levels(), isa, error);
      bench::exitOnError(error, "bench-gemv-int4");
      size_t bytes = first.codes.size() + first.scales.size() * sizeof(float);
      size_t copies = kColdBytes / bytes + 2;
      std::vector<rt::PackedInt4Weights> all;
      all.reserve(copies);
      for (size_t i = 0; i < copies; ++i)
        all.push_back(copyOf(first));
      std::vector<float> x(static_cast<size_t>(k)), y(static_cast<size_t>(n));
      for (auto &v : x)
        v = std::uniform_real_distribution<float>(-1, 1)(rng);
      for (size_t ti = 0; ti < threadCounts.size(); ++ti) {
        rt::ThreadPool pool(threadCounts[ti]);
        size_t next = 0;
        double t = bench::medianSeconds(
            [&] {
              bench::exitOnError(rt::gemmWeightInt4(x.data(), 1, k, all[next],
                                                    nullptr, y.data(), n,
                                                    &pool),
                                 "bench-gemv-int4");
              next = (next + 1) % all.size();
            },
            static_cast<int>(copies), 50, 1.0);
        std::printf("| %lldx%lld | %lld | %d | %zu | %.2f | %.0f%% | %.0f |\n",
                    (long long)n, (long long)k, (long long)group,
                    threadCounts[ti], bytes, bytes / t / 1e9,
                    100 * bytes / t / bandwidth[ti], t * 1e6);
      }
    }
  }
  return 0;
}
