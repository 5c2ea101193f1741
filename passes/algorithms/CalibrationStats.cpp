// Per-tensor calibration statistics (histogram, per-channel |x| moments, the
// Gram matrix GPTQ and AWQ need) and their binary file, which is read as
// untrusted input: every size is checked against the bytes left before
// anything is allocated, and every invariant the algorithms rely on is
// checked on load, with errors that name the file and the field.
//
// File layout, all little-endian:
//   "QCCSTATS" | u32 version (1) | i64 sampleCount | u64 tensorCount
//   per tensor: u64 nameLength | name bytes
//     | i64 binCount | f64 lower | f64 width | f32 min | f32 max
//     | i64 count | i64 nonFinite | binCount x i64 bins
//     | u64 channels | channels x f64 absMax | channels x f64 absSum
//     | i64 rows | u64 gramSize (0 or channels^2) | gramSize x f64 gram
#include "passes/algorithms/Calibration.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <utility>

#include <unistd.h>

namespace qcc::qg {
namespace {

constexpr char kMagic[8] = {'Q', 'C', 'C', 'S', 'T', 'A', 'T', 'S'};
constexpr uint32_t kVersion = 1;
// Rows accumulated before one pass over the Gram matrix: the pass then
// streams the rows from cache while one Gram row stays in L1.
constexpr int64_t kGramBlockRows = 64;

// Value that the channel statistics see: non-finite values count as 0.
double finiteOrZero(float v) { return std::isfinite(v) ? v : 0.0; }

} // namespace

bool TensorStats::addRows(std::span<const float> values, int64_t channels,
                          bool withGram) {
  if (channels <= 0 || values.size() % static_cast<size_t>(channels) != 0)
    return false;
  const bool first = channelAbsMax.empty() && rows == 0;
  if (!first && (channels != this->channels() || withGram != !gram.empty()))
    return false;
  if (first) {
    channelAbsMax.assign(channels, 0.0);
    channelAbsSum.assign(channels, 0.0);
    if (withGram)
      gram.assign(static_cast<size_t>(channels * channels), 0.0);
  }

  histogram.add(values);
  const auto newRows = static_cast<int64_t>(values.size()) / channels;
  for (int64_t r = 0; r < newRows; ++r) {
    const float *row = values.data() + r * channels;
    for (int64_t c = 0; c < channels; ++c) {
      const double a = std::fabs(finiteOrZero(row[c]));
      channelAbsMax[c] = std::max(channelAbsMax[c], a);
      channelAbsSum[c] += a;
    }
  }
  rows += newRows;

  if (withGram && newRows > 0) {
    // Upper triangle only, blocked over rows; for each element the products
    // are still added in row order, so the result is the naive per-row sum
    // and does not depend on the block size.
    std::vector<double> block(static_cast<size_t>(kGramBlockRows * channels));
    for (int64_t r0 = 0; r0 < newRows; r0 += kGramBlockRows) {
      const int64_t blockRows = std::min(kGramBlockRows, newRows - r0);
      for (int64_t r = 0; r < blockRows; ++r)
        for (int64_t c = 0; c < channels; ++c)
          block[r * channels + c] =
              finiteOrZero(values[(r0 + r) * channels + c]);
      for (int64_t i = 0; i < channels; ++i) {
        double *gramRow = gram.data() + i * channels;
        int64_t r = 0;
        // Four rows per sweep of the Gram row: the same additions in the
        // same order as one row at a time, with a quarter of the loads and
        // stores of the accumulator.
        for (; r + 4 <= blockRows; r += 4) {
          const double *x0 = block.data() + r * channels;
          const double *x1 = x0 + channels, *x2 = x1 + channels,
                       *x3 = x2 + channels;
          const double a0 = x0[i], a1 = x1[i], a2 = x2[i], a3 = x3[i];
          for (int64_t j = i; j < channels; ++j) {
            double g = gramRow[j];
            g += a0 * x0[j];
            g += a1 * x1[j];
            g += a2 * x2[j];
            g += a3 * x3[j];
            gramRow[j] = g;
          }
        }
        for (; r < blockRows; ++r) {
          const double *x = block.data() + r * channels;
          const double a = x[i];
          for (int64_t j = i; j < channels; ++j)
            gramRow[j] += a * x[j];
        }
      }
    }
    // Mirror so readers see the full symmetric matrix.
    for (int64_t i = 0; i < channels; ++i)
      for (int64_t j = i + 1; j < channels; ++j)
        gram[j * channels + i] = gram[i * channels + j];
  }
  return true;
}

std::vector<double> TensorStats::channelMeanAbs() const {
  if (rows == 0)
    return {};
  std::vector<double> mean(channelAbsSum.size());
  for (size_t c = 0; c < mean.size(); ++c)
    mean[c] = channelAbsSum[c] / static_cast<double>(rows);
  return mean;
}

//===----------------------------------------------------------------------===//
// Writing.
//===----------------------------------------------------------------------===//

namespace {

class ByteWriter {
public:
  void u32(uint32_t v) { little(v, 4); }
  void u64(uint64_t v) { little(v, 8); }
  void i64(int64_t v) { little(static_cast<uint64_t>(v), 8); }
  void f32(float v) { little(std::bit_cast<uint32_t>(v), 4); }
  void f64(double v) { little(std::bit_cast<uint64_t>(v), 8); }
  void bytes(const void *data, size_t size) {
    buffer.append(static_cast<const char *>(data), size);
  }
  std::string buffer;

private:
  void little(uint64_t v, int size) {
    for (int b = 0; b < size; ++b)
      buffer.push_back(static_cast<char>((v >> (8 * b)) & 0xFF));
  }
};

} // namespace

bool saveStats(const std::string &path, const CalibrationStats &stats,
               std::string &error) {
  ByteWriter out;
  out.bytes(kMagic, sizeof(kMagic));
  out.u32(kVersion);
  out.i64(stats.sampleCount);
  out.u64(stats.tensors.size());
  for (const auto &[name, tensor] : stats.tensors) {
    out.u64(name.size());
    out.bytes(name.data(), name.size());
    const Histogram &h = tensor.histogram;
    out.i64(h.binCount());
    out.f64(h.lower());
    out.f64(h.binWidth());
    out.f32(h.min());
    out.f32(h.max());
    out.i64(h.count());
    out.i64(h.nonFiniteCount());
    for (int64_t c : h.bins())
      out.i64(c);
    if (tensor.channelAbsSum.size() != tensor.channelAbsMax.size()) {
      error = path + ": tensor '" + name +
              "': channelAbsMax and channelAbsSum differ in size";
      return false;
    }
    const uint64_t channels = tensor.channelAbsMax.size();
    if (!tensor.gram.empty() && tensor.gram.size() != channels * channels) {
      error = path + ": tensor '" + name + "': gram is not channels^2";
      return false;
    }
    out.u64(channels);
    for (double v : tensor.channelAbsMax)
      out.f64(v);
    for (double v : tensor.channelAbsSum)
      out.f64(v);
    out.i64(tensor.rows);
    out.u64(tensor.gram.size());
    for (double v : tensor.gram)
      out.f64(v);
  }

  // Write beside the target and rename, so a failure never leaves a partial
  // file under the final name.
  const std::string temporary =
      path + ".tmp." + std::to_string(static_cast<long>(::getpid()));
  std::FILE *file = std::fopen(temporary.c_str(), "wb");
  if (!file) {
    error = path + ": cannot create " + temporary + ": " + std::strerror(errno);
    return false;
  }
  const bool written = std::fwrite(out.buffer.data(), 1, out.buffer.size(),
                                   file) == out.buffer.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    error = path + ": writing " + temporary + " failed";
    std::remove(temporary.c_str());
    return false;
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = path + ": cannot rename " + temporary + ": " + std::strerror(errno);
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Reading.
//===----------------------------------------------------------------------===//

namespace {

/// Bounds-checked little-endian reader; the first failure sets `error` (the
/// file and the field) and every later read fails too.
class ByteReader {
public:
  ByteReader(std::string_view bytes, std::string filePath)
      : data(bytes), path(std::move(filePath)) {}

  size_t remaining() const { return data.size() - pos; }
  bool failed() const { return !error.empty(); }

  bool fail(const std::string &field, const std::string &reason) {
    if (error.empty())
      error = path + ": " + context + field + ": " + reason;
    return false;
  }

  bool need(size_t size, const std::string &field) {
    if (failed())
      return false;
    if (size > remaining())
      return fail(field, "truncated (needs " + std::to_string(size) +
                             " bytes, " + std::to_string(remaining()) +
                             " left)");
    return true;
  }

  bool u32(uint32_t &v, const std::string &field) {
    uint64_t raw;
    if (!little(raw, 4, field))
      return false;
    v = static_cast<uint32_t>(raw);
    return true;
  }
  bool u64(uint64_t &v, const std::string &field) {
    return little(v, 8, field);
  }
  bool i64(int64_t &v, const std::string &field) {
    uint64_t raw;
    if (!little(raw, 8, field))
      return false;
    v = static_cast<int64_t>(raw);
    return true;
  }
  bool f32(float &v, const std::string &field) {
    uint64_t raw;
    if (!little(raw, 4, field))
      return false;
    v = std::bit_cast<float>(static_cast<uint32_t>(raw));
    return true;
  }
  bool f64(double &v, const std::string &field) {
    uint64_t raw;
    if (!little(raw, 8, field))
      return false;
    v = std::bit_cast<double>(raw);
    return true;
  }
  bool bytes(std::string &v, size_t size, const std::string &field) {
    if (!need(size, field))
      return false;
    v.assign(data.data() + pos, size);
    pos += size;
    return true;
  }

  /// An element count followed by `elementSize`-byte elements (times
  /// `arrays` arrays of that count): rejected before any allocation if the
  /// file cannot hold them.
  bool count(uint64_t &n, size_t elementSize, size_t arrays,
             const std::string &field) {
    if (!u64(n, field))
      return false;
    if (n > remaining() / (elementSize * arrays))
      return fail(field, std::to_string(n) + " entries do not fit in the " +
                             std::to_string(remaining()) + " bytes left");
    return true;
  }

  std::string context; // "tensor 'name': " while reading a tensor
  std::string error;

private:
  bool little(uint64_t &v, int size, const std::string &field) {
    if (!need(static_cast<size_t>(size), field))
      return false;
    v = 0;
    for (int b = 0; b < size; ++b)
      v |= static_cast<uint64_t>(static_cast<unsigned char>(data[pos + b]))
           << (8 * b);
    pos += size;
    return true;
  }

  std::string_view data;
  size_t pos = 0;
  std::string path;
};

bool readFile(const std::string &path, std::string &contents,
              std::string &error) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  contents.clear();
  char chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0)
    contents.append(chunk, got);
  const bool readError = std::ferror(file) != 0;
  std::fclose(file);
  if (readError) {
    error = path + ": read error";
    return false;
  }
  return true;
}

bool readTensor(ByteReader &in, TensorStats &tensor) {
  int64_t binCount = 0, count = 0, nonFinite = 0;
  double lower = 0, width = 0;
  float minValue = 0, maxValue = 0;
  if (!in.i64(binCount, "histogram bin count") ||
      !in.f64(lower, "histogram lower") || !in.f64(width, "histogram width") ||
      !in.f32(minValue, "histogram min") ||
      !in.f32(maxValue, "histogram max") || !in.i64(count, "histogram count") ||
      !in.i64(nonFinite, "histogram non-finite count"))
    return false;
  if (binCount < 1 || static_cast<uint64_t>(binCount) > in.remaining() / 8)
    return in.fail("histogram bin count",
                   std::to_string(binCount) +
                       " is not positive or does not fit in the file");
  std::vector<int64_t> bins(static_cast<size_t>(binCount));
  for (int64_t &c : bins)
    if (!in.i64(c, "histogram bins"))
      return false;
  const std::string reason = Histogram::checkFields(
      binCount, lower, width, minValue, maxValue, count, nonFinite, bins);
  if (!reason.empty())
    return in.fail("histogram", reason);
  Histogram::restore(binCount, lower, width, minValue, maxValue, count,
                     nonFinite, std::move(bins), tensor.histogram);

  uint64_t channels = 0;
  if (!in.count(channels, 8, 2, "channel count"))
    return false;
  tensor.channelAbsMax.resize(channels);
  tensor.channelAbsSum.resize(channels);
  for (double &v : tensor.channelAbsMax)
    if (!in.f64(v, "channelAbsMax"))
      return false;
  for (double &v : tensor.channelAbsSum)
    if (!in.f64(v, "channelAbsSum"))
      return false;
  for (uint64_t c = 0; c < channels; ++c) {
    const double absMax = tensor.channelAbsMax[c];
    const double absSum = tensor.channelAbsSum[c];
    if (!std::isfinite(absMax) || absMax < 0)
      return in.fail("channelAbsMax[" + std::to_string(c) + "]",
                     "not a finite non-negative number");
    // A sum of non-negative terms is never below one of them, even rounded.
    if (!std::isfinite(absSum) || absSum < absMax)
      return in.fail("channelAbsSum[" + std::to_string(c) + "]",
                     "not finite or below channelAbsMax");
  }
  if (!in.i64(tensor.rows, "rows"))
    return false;
  if (tensor.rows < 0 || (tensor.rows > 0 && channels == 0))
    return in.fail("rows", std::to_string(tensor.rows) +
                               " rows without channels or negative");

  uint64_t gramSize = 0;
  if (!in.count(gramSize, 8, 1, "gram size"))
    return false;
  if (gramSize != 0 && (channels == 0 || gramSize / channels != channels ||
                        gramSize % channels != 0))
    return in.fail("gram size", std::to_string(gramSize) + " is not " +
                                    std::to_string(channels) + "^2");
  tensor.gram.resize(gramSize);
  for (double &v : tensor.gram)
    if (!in.f64(v, "gram"))
      return false;
  for (uint64_t i = 0; i < (gramSize ? channels : 0); ++i) {
    for (uint64_t j = 0; j < channels; ++j) {
      const double v = tensor.gram[i * channels + j];
      if (!std::isfinite(v) || v != tensor.gram[j * channels + i] ||
          (i == j && v < 0))
        return in.fail("gram[" + std::to_string(i) + "][" + std::to_string(j) +
                           "]",
                       "not finite, not symmetric or a negative diagonal");
    }
  }
  return true;
}

} // namespace

bool loadStats(const std::string &path, CalibrationStats &stats,
               std::string &error) {
  std::string contents;
  if (!readFile(path, contents, error))
    return false;
  ByteReader in(contents, path);
  std::string magic;
  if (!in.bytes(magic, sizeof(kMagic), "magic")) {
    error = in.error;
    return false;
  }
  if (std::memcmp(magic.data(), kMagic, sizeof(kMagic)) != 0) {
    error = path + ": magic: not a qcc calibration statistics file";
    return false;
  }
  uint32_t version = 0;
  int64_t sampleCount = 0;
  uint64_t tensorCount = 0;
  if (in.u32(version, "version") && version != kVersion)
    in.fail("version", std::to_string(version) + " is not the supported " +
                           std::to_string(kVersion));
  if (in.i64(sampleCount, "sample count") && sampleCount < 0)
    in.fail("sample count", "negative");
  // Each tensor takes at least its fixed-size fields and one bin: name
  // length, bin count, lower, width, min, max, count, non-finite count, a
  // bin, channel count, rows, gram size.
  constexpr size_t kMinTensorBytes = 8 * 4 + 4 * 2 + 8 * 6;
  in.count(tensorCount, kMinTensorBytes, 1, "tensor count");

  CalibrationStats result;
  result.sampleCount = sampleCount;
  for (uint64_t t = 0; t < tensorCount && !in.failed(); ++t) {
    in.context = "tensor #" + std::to_string(t) + ": ";
    uint64_t nameLength = 0;
    std::string name;
    if (!in.count(nameLength, 1, 1, "name length") ||
        !in.bytes(name, nameLength, "name"))
      break;
    if (name.empty()) {
      in.fail("name", "empty");
      break;
    }
    if (result.tensors.count(name)) {
      in.fail("name", "'" + name + "' appears twice");
      break;
    }
    in.context = "tensor '" + name + "': ";
    TensorStats tensor;
    if (!readTensor(in, tensor))
      break;
    result.tensors.emplace(std::move(name), std::move(tensor));
  }
  in.context.clear();
  if (!in.failed() && in.remaining() != 0)
    in.fail("end", std::to_string(in.remaining()) + " trailing bytes");
  if (in.failed()) {
    error = in.error;
    return false;
  }
  stats = std::move(result);
  return true;
}

} // namespace qcc::qg
