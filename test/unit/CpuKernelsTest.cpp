// The runtime's CPU kernels against definitions written independently of
// them: the int8 GEMM bit for bit against plain loops over the unpacked
// matrices, the 4-bit matmul against weights dequantized by the numeric core
// and summed in double, CPU detection against /proc/cpuinfo.
#include "runtime/cpu/CpuFeatures.h"
#include "runtime/cpu/GemmInt4.h"
#include "runtime/cpu/GemmInt8.h"
#include "runtime/cpu/GemmW8.h"
#include "runtime/cpu/ThreadPool.h"
#include "runtime/numerics/Numerics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <thread>

using namespace qcc::rt;

namespace {

std::vector<Isa> allIsas() {
  return {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni};
}

TEST(CpuFeatures, NamesRoundTrip) {
  for (Isa isa : allIsas())
    EXPECT_EQ(parseIsa(isaName(isa)), isa);
  EXPECT_FALSE(parseIsa("avx1024").has_value());
}

TEST(CpuFeatures, DetectionAgreesWithProcCpuinfo) {
  std::ifstream in("/proc/cpuinfo");
  if (!in)
    GTEST_SKIP() << "no /proc/cpuinfo on this system";
  std::string line;
  std::set<std::string> flags;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      for (std::string w; words >> w;)
        flags.insert(w);
      break;
    }
  auto has = [&](const char *f) { return flags.count(f) > 0; };
  Isa expected = Isa::Scalar;
  if (has("avx2") && has("fma"))
    expected = Isa::Avx2;
  if (expected == Isa::Avx2 && has("avx512f") && has("avx512bw") &&
      has("avx512vl") && has("avx512dq"))
    expected = has("avx512_vnni") ? Isa::Avx512Vnni : Isa::Avx512;
  EXPECT_EQ(detectIsa(), expected) << "detected " << isaName(detectIsa());
}

TEST(ThreadPool, EveryTaskRunsOnceForAnyThreadCount) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.threads(), threads);
    for (int64_t tasks : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks));
      pool.parallelFor(tasks, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          hits[static_cast<size_t>(i)]++;
      });
      for (int64_t i = 0; i < tasks; ++i)
        ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1)
            << "task " << i << " of " << tasks << " on " << threads;
    }
  }
}

TEST(ThreadPool, CallsFromSeveralThreadsAreSerializedCorrectly) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  auto caller = [&] {
    for (int rep = 0; rep < 200; ++rep)
      pool.parallelFor(10, [&](int64_t b, int64_t e) { total += e - b; });
  };
  std::thread t1(caller), t2(caller);
  t1.join();
  t2.join();
  EXPECT_EQ(total.load(), 2 * 200 * 10);
}

TEST(ThreadPool, SharesAreContiguousAndBalanced) {
  int64_t next = 0;
  for (int i = 0; i < 3; ++i) {
    int64_t b, e;
    shareRange(10, 3, i, b, e);
    EXPECT_EQ(b, next);
    EXPECT_GE(e - b, 3);
    EXPECT_LE(e - b, 4);
    next = e;
  }
  EXPECT_EQ(next, 10);
}

//===----------------------------------------------------------------------===//
// int8 GEMM
//===----------------------------------------------------------------------===//

struct Int8Case {
  int64_t m, k, n;
  bool signedA, weightZeroPoints;
  Int8Epilogue::Output output;
  bool bias, relu;
  Activation activation = Activation::None;
};

size_t outputBytes(Int8Epilogue::Output o) {
  return o == Int8Epilogue::Output::Uint8 || o == Int8Epilogue::Output::Int8
             ? 1
             : 4;
}

/// Runs one case through `isa` and the plain-loop definition; both results
/// must be equal byte for byte.
void checkInt8(const Int8Case &c, Isa isa, std::mt19937 &rng,
               ThreadPool *pool = nullptr) {
  using Output = Int8Epilogue::Output;
  std::uniform_int_distribution<int> byte(0, 255), s8(-128, 127);
  int64_t lda = c.k + 3;
  std::vector<uint8_t> a(static_cast<size_t>(c.m * lda));
  for (auto &v : a)
    v = static_cast<uint8_t>(byte(rng));
  std::vector<int8_t> b(static_cast<size_t>(c.k * c.n));
  for (auto &v : b)
    v = static_cast<int8_t>(s8(rng));
  std::vector<int32_t> zb(static_cast<size_t>(c.n));
  for (auto &v : zb)
    v = c.weightZeroPoints ? s8(rng) : 0;
  Int8Activations act{a.data(), c.m, lda, c.signedA ? s8(rng) : byte(rng),
                      c.signedA};

  std::vector<float> scale(static_cast<size_t>(c.n)), bias(scale.size());
  std::vector<int32_t> biasInt(scale.size());
  std::uniform_real_distribution<float> unit(0.5f, 2.f);
  for (size_t i = 0; i < scale.size(); ++i) {
    // Requantize multipliers put typical accumulators across the 8-bit range.
    // With an activation the scale gives the float value (a few units) and
    // the output scale spreads it over the codes.
    const bool floatValue =
        c.output == Output::Float32 || c.activation != Activation::None;
    scale[i] = unit(rng) * (floatValue ? 1e-3f : 2e-5f);
    bias[i] = unit(rng) - 1.25f;
    biasInt[i] = s8(rng) * 100;
  }
  Int8Epilogue e;
  e.output = c.output;
  e.scale = scale.data();
  if (c.bias) {
    e.bias = bias.data();
    e.biasInt = biasInt.data();
  }
  e.outputZeroPoint = c.output == Output::Uint8 ? 128 : 3;
  if (c.relu)
    e.lo = c.output == Output::Float32 ? 0.f : float(e.outputZeroPoint);
  e.activation = c.activation;
  e.outputScale = 0.0173f;

  int64_t ldc = c.n + 1;
  size_t bytes = static_cast<size_t>(c.m * ldc) * outputBytes(c.output);
  std::vector<uint8_t> want(bytes, 0xAB), got(bytes, 0xAB);
  gemmInt8Reference(act, b.data(), c.k, c.n, zb.data(), e, want.data(), ldc);
  PackedInt8Weights packed =
      packInt8Weights(b.data(), c.k, c.n, zb.data(), isa);
  ASSERT_EQ(gemmInt8(act, packed, e, got.data(), ldc, pool), "");
  if (c.activation != Activation::None && isa == Isa::Avx512) {
    // The AVX-512 epilogue computes the activation in f32 with SLEEF: a few
    // ulps from the definition's double, so codes may move by one where a
    // value sits on a rounding boundary.
    int moved = 0;
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t j = 0; j < ldc; ++j) {
        const int64_t at = r * ldc + j;
        double g, w;
        if (c.output == Output::Float32) {
          float gf, wf;
          std::memcpy(&gf, got.data() + 4 * at, 4);
          std::memcpy(&wf, want.data() + 4 * at, 4);
          g = gf;
          w = wf;
        } else {
          g = c.output == Output::Uint8 ? double(got[at])
                                        : double(int8_t(got[at]));
          w = c.output == Output::Uint8 ? double(want[at])
                                        : double(int8_t(want[at]));
        }
        if (j == c.n) { // padding: untouched
          ASSERT_EQ(std::memcmp(got.data() + at * outputBytes(c.output),
                                want.data() + at * outputBytes(c.output),
                                outputBytes(c.output)),
                    0);
          continue;
        }
        if (c.output == Output::Float32) {
          ASSERT_NEAR(g, w, 1e-6 * (1 + std::fabs(w)))
              << "row " << r << " column " << j << " activation "
              << activationName(c.activation);
        } else {
          ASSERT_LE(std::fabs(g - w), 1.0)
              << "row " << r << " column " << j << " activation "
              << activationName(c.activation);
          moved += g != w;
        }
      }
    EXPECT_LE(moved, 1 + c.m * c.n / 50) << activationName(c.activation);
    return;
  }
  for (size_t i = 0; i < bytes; ++i)
    ASSERT_EQ(got[i], want[i])
        << "byte " << i << " m=" << c.m << " k=" << c.k << " n=" << c.n
        << " output=" << int(c.output) << " isa=" << isaName(isa);
}

class Int8Gemm : public ::testing::TestWithParam<Isa> {
protected:
  void SetUp() override {
    if (!isaSupported(GetParam()))
      GTEST_SKIP() << "this CPU lacks " << isaName(GetParam()) << " (it has "
                   << isaName(detectIsa()) << ")";
  }
};

TEST_P(Int8Gemm, EqualsThePlainLoopDefinitionForEveryEpilogue) {
  using Output = Int8Epilogue::Output;
  std::mt19937 rng(1234);
  for (Output out :
       {Output::Int32, Output::Float32, Output::Uint8, Output::Int8})
    for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                           {5, 3, 63},
                           {6, 64, 64},
                           {7, 17, 65},
                           {13, 130, 130},
                           {2, 257, 200}})
      for (bool signedA : {false, true})
        for (bool zp : {false, true})
          for (bool extras : {false, true})
            checkInt8({m, k, n, signedA, zp, out, extras, extras}, GetParam(),
                      rng);
}

// GELU (both forms) and SiLU after the bias, against the definition
// (rt::applyActivation, libm in double): the scalar and AVX2 epilogues use
// it and must give the same bytes; AVX-512 computes in f32 with SLEEF
// (checkInt8's tolerance).
TEST_P(Int8Gemm, ActivationEpiloguesMatchThePlainLoopDefinition) {
  using Output = Int8Epilogue::Output;
  std::mt19937 rng(777);
  for (Activation act :
       {Activation::Gelu, Activation::GeluTanh, Activation::Silu})
    for (Output out : {Output::Float32, Output::Uint8, Output::Int8})
      for (auto [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{1, 5, 17},
                             {7, 64, 130},
                             {13, 300, 64}})
        for (bool signedA : {false, true})
          for (bool bias : {false, true})
            checkInt8({m, k, n, signedA, /*weightZeroPoints=*/bias, out, bias,
                       /*relu=*/false, act},
                      GetParam(), rng);
}

TEST_P(Int8Gemm, ThreadedCallsGiveTheSameBytes) {
  using Output = Int8Epilogue::Output;
  std::mt19937 rng(99);
  ThreadPool pool(2);
  for (Output out : {Output::Int32, Output::Uint8})
    checkInt8({37, 300, 260, false, true, out, true, true}, GetParam(), rng,
              &pool);
}

TEST_P(Int8Gemm, ExtremeValuesAtTheLargestDepthDoNotOverflowOrSaturate) {
  // 255 x -128 and 255 x 127 everywhere: pair sums that a saturating i16
  // product (vpmaddubsw) would clip, and the largest |accumulator| the depth
  // limit allows. Expected values are closed forms.
  const int64_t k = 16384, n = 64;
  for (int8_t w : {int8_t(-128), int8_t(127)}) {
    std::vector<uint8_t> a(static_cast<size_t>(k), 255);
    std::vector<int8_t> b(static_cast<size_t>(k * n), w);
    Int8Activations act{a.data(), 1, k, 0, false};
    PackedInt8Weights packed =
        packInt8Weights(b.data(), k, n, nullptr, GetParam());
    std::vector<int32_t> c(static_cast<size_t>(n));
    ASSERT_EQ(gemmInt8(act, packed, Int8Epilogue{}, c.data(), n), "");
    for (int32_t v : c)
      ASSERT_EQ(v, 255 * int32_t(w) * int32_t(k));
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, Int8Gemm,
                         ::testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512,
                                           Isa::Avx512Vnni),
                         [](const auto &info) { return isaName(info.param); });

TEST(Int8GemmErrors, ReportsInvalidCalls) {
  std::vector<int8_t> b(16 * 4, 1);
  std::vector<uint8_t> a(16, 1);
  PackedInt8Weights packed =
      packInt8Weights(b.data(), 16, 4, nullptr, Isa::Scalar);
  std::vector<float> out(4);
  Int8Epilogue e;
  e.output = Int8Epilogue::Output::Float32; // no scale
  EXPECT_NE(gemmInt8({a.data(), 1, 16, 0, false}, packed, e, out.data(), 4)
                .find("needs a scale"),
            std::string::npos);
  EXPECT_NE(gemmInt8({a.data(), 1, 8, 0, false}, packed, Int8Epilogue{},
                     out.data(), 4)
                .find("strides"),
            std::string::npos);
  EXPECT_NE(gemmInt8({a.data(), 1, 16, 300, false}, packed, Int8Epilogue{},
                     out.data(), 4)
                .find("zero point"),
            std::string::npos);
  std::vector<int8_t> deep(16385, 1);
  PackedInt8Weights tooDeep =
      packInt8Weights(deep.data(), 16385, 1, nullptr, Isa::Scalar);
  std::vector<uint8_t> row(16385, 1);
  EXPECT_NE(gemmInt8({row.data(), 1, 16385, 0, false}, tooDeep, Int8Epilogue{},
                     out.data(), 1)
                .find("exceeds"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Weight-only 4-bit matmul
//===----------------------------------------------------------------------===//

enum class Int4Kind { Uint4WithZeroPoints, Int4, NF4 };

void checkInt4(Int4Kind kind, int64_t m, int64_t n, int64_t k, int64_t group,
               Isa isa, std::mt19937 &rng, ThreadPool *pool = nullptr) {
  int64_t groups = (k + group - 1) / group;
  std::uniform_int_distribution<int> nibble(0, 15);
  std::uniform_real_distribution<float> pos(0.01f, 0.2f), sym(-1.f, 1.f);
  std::vector<uint8_t> codes(static_cast<size_t>(n * k));
  for (auto &c : codes)
    c = static_cast<uint8_t>(nibble(rng));
  std::vector<float> scales(static_cast<size_t>(n * groups));
  std::vector<int8_t> zeros(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = pos(rng);
    zeros[i] = static_cast<int8_t>(nibble(rng));
  }
  std::vector<float> x(static_cast<size_t>(m * (k + 1))), bias(n);
  for (auto &v : x)
    v = sym(rng);
  for (auto &v : bias)
    v = sym(rng);

  // The dequantized weights, by the numeric core's definitions.
  std::vector<float> w(codes.size());
  for (int64_t r = 0; r < n; ++r)
    for (int64_t kk = 0; kk < k; ++kk) {
      size_t at = static_cast<size_t>(r * k + kk), g = r * groups + kk / group;
      int code = codes[at];
      switch (kind) {
      case Int4Kind::Uint4WithZeroPoints:
        w[at] = dequantizeInteger(code, scales[g], zeros[g]);
        break;
      case Int4Kind::Int4: // two's-complement nibble, no zero point
        w[at] = dequantizeInteger(code < 8 ? code : code - 16, scales[g], 0);
        break;
      case Int4Kind::NF4:
        w[at] = nf4Levels()[code] * scales[g];
        break;
      }
    }
  std::array<float, 16> levels = kind == Int4Kind::Uint4WithZeroPoints
                                     ? uint4Levels()
                                 : kind == Int4Kind::Int4 ? int4Levels()
                                                          : nf4Levels();
  std::string error;
  PackedInt4Weights packed = packInt4Weights(
      codes.data(), n, k, group, scales.data(),
      kind == Int4Kind::Uint4WithZeroPoints ? zeros.data() : nullptr, levels,
      isa, error);
  ASSERT_EQ(error, "");
  std::vector<float> y(static_cast<size_t>(m * (n + 2)), NAN);
  ASSERT_EQ(gemmWeightInt4(x.data(), m, k + 1, packed, bias.data(), y.data(),
                           n + 2, pool),
            "");
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double sum = bias[c], magnitude = std::fabs(bias[c]);
      for (int64_t kk = 0; kk < k; ++kk) {
        double p = double(x[r * (k + 1) + kk]) * w[c * k + kk];
        sum += p;
        magnitude += std::fabs(p);
      }
      ASSERT_NEAR(y[r * (n + 2) + c], sum, 2e-6 * magnitude + 1e-7)
          << "m=" << r << " n=" << c << " (" << m << "x" << n << "x" << k
          << " g" << group << ") isa=" << isaName(isa);
    }
}

class Int4Gemm : public ::testing::TestWithParam<Isa> {
protected:
  void SetUp() override {
    if (!isaSupported(GetParam()))
      GTEST_SKIP() << "this CPU lacks " << isaName(GetParam());
  }
};

TEST_P(Int4Gemm, MatchesDequantizedWeightsForEveryFormat) {
  std::mt19937 rng(7);
  for (Int4Kind kind :
       {Int4Kind::Uint4WithZeroPoints, Int4Kind::Int4, Int4Kind::NF4})
    for (auto [n, k, group] : {std::tuple<int64_t, int64_t, int64_t>{1, 16, 16},
                               {5, 100, 32},
                               {16, 128, 128},
                               {33, 300, 64},
                               {7, 200, 192},
                               {9, 130, 16}})
      for (int64_t m : {1, 2, 3, 4, 5, 9, 13})
        checkInt4(kind, m, n, k, group, GetParam(), rng);
}

TEST_P(Int4Gemm, ThreadedCallsMatchToo) {
  std::mt19937 rng(8);
  ThreadPool pool(2);
  checkInt4(Int4Kind::Uint4WithZeroPoints, 1, 301, 512, 32, GetParam(), rng,
            &pool);
  checkInt4(Int4Kind::NF4, 3, 70, 256, 64, GetParam(), rng, &pool);
}

INSTANTIATE_TEST_SUITE_P(Isas, Int4Gemm,
                         ::testing::Values(Isa::Scalar, Isa::Avx2, Isa::Avx512),
                         [](const auto &info) { return isaName(info.param); });

TEST(Int4GemmErrors, RejectsBadGroupsAndCodes) {
  std::vector<uint8_t> codes(32, 1);
  std::vector<float> scales(2, 1.f);
  std::string error;
  packInt4Weights(codes.data(), 1, 32, 24, scales.data(), nullptr,
                  uint4Levels(), Isa::Scalar, error);
  EXPECT_NE(error.find("multiple of 16"), std::string::npos) << error;
  codes[5] = 16;
  error.clear();
  packInt4Weights(codes.data(), 1, 32, 16, scales.data(), nullptr,
                  uint4Levels(), Isa::Scalar, error);
  EXPECT_NE(error.find("column 5"), std::string::npos) << error;
}

//===----------------------------------------------------------------------===//
// Weight-only 8-bit matmul (W8A16)
//===----------------------------------------------------------------------===//

/// gemmW8 against the product, in double, of x and the weights that the
/// numeric core's dequantizeInteger gives: uint8 with zero points or int8
/// without, per channel (group = k) or in groups that need not divide k.
void checkW8(bool isSigned, bool zeroPoints, int64_t m, int64_t n, int64_t k,
             int64_t group, Isa isa, std::mt19937 &rng,
             ThreadPool *pool = nullptr) {
  const int64_t groups = (k + group - 1) / group;
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> pos(0.001f, 0.02f), sym(-1.f, 1.f);
  std::vector<uint8_t> codes(static_cast<size_t>(n * k));
  for (auto &c : codes)
    c = static_cast<uint8_t>(byte(rng));
  std::vector<float> scales(static_cast<size_t>(n * groups));
  std::vector<int16_t> zeros(scales.size());
  for (size_t i = 0; i < scales.size(); ++i) {
    scales[i] = pos(rng);
    zeros[i] = static_cast<int16_t>(byte(rng) - (isSigned ? 128 : 0));
  }
  std::vector<float> x(static_cast<size_t>(m * (k + 3))), bias(n);
  for (auto &v : x)
    v = sym(rng);
  for (auto &v : bias)
    v = sym(rng);
  W8Weights w;
  w.isa = isa;
  w.n = n;
  w.k = k;
  w.groupSize = group;
  w.groups = groups;
  w.isSigned = isSigned;
  w.codes = codes.data();
  w.scales = scales.data();
  w.zeroPoints = zeroPoints ? zeros.data() : nullptr;
  ASSERT_EQ(checkW8Weights(w), "");
  std::vector<float> y(static_cast<size_t>(m * (n + 2)), NAN);
  ASSERT_EQ(gemmW8(x.data(), m, k + 3, w, bias.data(), y.data(), n + 2, pool),
            "");
  for (int64_t r = 0; r < m; ++r)
    for (int64_t c = 0; c < n; ++c) {
      double sum = bias[c], magnitude = std::fabs(bias[c]);
      for (int64_t kk = 0; kk < k; ++kk) {
        const size_t g = c * groups + kk / group;
        const uint8_t code = codes[c * k + kk];
        const float weight =
            dequantizeInteger(isSigned ? static_cast<int8_t>(code) : code,
                              scales[g], zeroPoints ? zeros[g] : 0);
        const double p = double(x[r * (k + 3) + kk]) * weight;
        sum += p;
        magnitude += std::fabs(p);
      }
      ASSERT_NEAR(y[r * (n + 2) + c], sum, 2e-6 * magnitude + 1e-7)
          << "m=" << r << " n=" << c << " (" << m << "x" << n << "x" << k
          << " g" << group << ") isa=" << isaName(isa)
          << (isSigned ? " int8" : " uint8");
      // The padding columns of y are not written.
      if (c == n - 1) {
        ASSERT_TRUE(std::isnan(y[r * (n + 2) + n]));
      }
    }
}

class W8Gemm : public ::testing::TestWithParam<Isa> {
protected:
  void SetUp() override {
    if (!isaSupported(GetParam()))
      GTEST_SKIP() << "this CPU lacks " << isaName(GetParam());
  }
};

TEST_P(W8Gemm, MatchesDequantizedWeights) {
  std::mt19937 rng(11);
  for (bool isSigned : {false, true})
    for (bool zeroPoints : {false, true})
      for (auto [n, k, group] :
           {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
            {3, 7, 7},      // per channel, shorter than a vector
            {5, 100, 100},  // per channel, a scalar tail
            {16, 128, 32},  // groups of two vectors
            {9, 130, 48},   // groups that straddle vectors, a short last one
            {33, 300, 300}, // per channel
            {4, 64, 5}})    // groups shorter than a vector
        for (int64_t m : {1, 2, 5, 16})
          checkW8(isSigned, zeroPoints, m, n, k, group, GetParam(), rng);
}

TEST_P(W8Gemm, ThreadedCallsMatchToo) {
  std::mt19937 rng(12);
  ThreadPool pool(2);
  checkW8(true, false, 1, 301, 512, 512, GetParam(), rng, &pool);
  checkW8(false, true, 3, 70, 256, 64, GetParam(), rng, &pool);
}

INSTANTIATE_TEST_SUITE_P(Isas, W8Gemm,
                         ::testing::Values(Isa::Scalar, Isa::Avx2),
                         [](const auto &info) { return isaName(info.param); });

TEST(W8GemmErrors, RejectsBadZeroPointsScalesAndSizes) {
  std::vector<uint8_t> codes(32, 1);
  std::vector<float> scales(2, 1.f);
  std::vector<int16_t> zeros(2, 0);
  W8Weights w;
  w.n = 1;
  w.k = 32;
  w.groupSize = 16;
  w.groups = 2;
  w.isSigned = true;
  w.codes = codes.data();
  w.scales = scales.data();
  w.zeroPoints = zeros.data();
  EXPECT_EQ(checkW8Weights(w), "");
  zeros[1] = 128; // int8's zero points end at 127
  EXPECT_NE(checkW8Weights(w).find("outside the int8 range"), std::string::npos)
      << checkW8Weights(w);
  w.isSigned = false; // uint8's reach 255
  EXPECT_EQ(checkW8Weights(w), "");
  zeros[0] = -1;
  EXPECT_NE(checkW8Weights(w).find("outside the uint8 range"),
            std::string::npos);
  zeros[0] = 0;
  scales[1] = INFINITY;
  EXPECT_NE(checkW8Weights(w).find("not finite"), std::string::npos);
  scales[1] = 1.f;
  w.groups = 3; // not ceil(32 / 16)
  EXPECT_NE(checkW8Weights(w).find("groups"), std::string::npos);
  w.groups = 2;
  std::vector<float> x(32, 1.f), y(1);
  EXPECT_NE(gemmW8(x.data(), 1, 31, w, nullptr, y.data(), 1).find("strides"),
            std::string::npos);
  EXPECT_EQ(gemmW8(x.data(), 1, 32, w, nullptr, y.data(), 1), "");
  // Codes 1 with x = 1: the first group's zero point is 0, the second's 128.
  EXPECT_FLOAT_EQ(y[0], 16.f * (1 - 0) + 16.f * (1 - 128));
}

} // namespace
