// The qcc compiler as a library: import a model, calibrate and quantize it
// from samples in memory or in files, compile it for a target, and get the
// report as a structure. The qcc command-line tool is a client of this API;
// the C API (compiler.h) and the Python package are built on it.
//
// Errors are values: every call that can fail returns a Result carrying
// either its value or an Error with the diagnostics, each naming the model
// file and ONNX node it is about. Nothing here throws. The header needs only
// C++17 and does not expose MLIR.
//
// Thread safety: a Model may be used by one thread at a time; different
// Models are independent.
#ifndef QCC_COMPILER_HPP
#define QCC_COMPILER_HPP

#include "qcc/report.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace qcc::compiler {

struct ModelAccess;

/// One diagnostic of a failed step.
struct Diagnostic {
  std::string severity; ///< "error", "warning", "remark" or "note"
  std::string location; ///< e.g. "model.onnx: node 'conv1'" (may be empty)
  std::vector<std::string> nodes; ///< the ONNX nodes the location names
  std::string message;
};

struct Error {
  /// One line: the first error's location and message.
  std::string message;
  /// Everything the step reported, in order (may be empty when the message
  /// says all).
  std::vector<Diagnostic> diagnostics;
  /// Every diagnostic as "<severity>: <location>: <message>", one a line.
  std::string describe() const;
};

/// A value or the Error that prevented it.
template <typename T> class Result {
public:
  Result(T value) : storage(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : storage(std::in_place_index<1>, std::move(error)) {}
  bool ok() const { return storage.index() == 0; }
  explicit operator bool() const { return ok(); }
  T &value() { return std::get<0>(storage); }
  const T &value() const { return std::get<0>(storage); }
  T &operator*() { return value(); }
  T *operator->() { return &value(); }
  const Error &error() const { return std::get<1>(storage); }

private:
  std::variant<T, Error> storage;
};

/// Success or an Error.
class Status {
public:
  Status() = default;
  Status(Error error) : failure(std::move(error)), failed(true) {}
  bool ok() const { return !failed; }
  explicit operator bool() const { return ok(); }
  const Error &error() const { return failure; }

private:
  Error failure;
  bool failed = false;
};

/// Element types of arrays given in memory.
enum class DType { F64, F32, F16, I64, I32, I16, I8, U64, U32, U16, U8, Bool };

/// An array in memory, borrowed for the duration of a call (not copied).
struct ArrayView {
  std::string name; ///< the model input it feeds
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr; ///< row-major, native byte order
};

/// One calibration sample: one array per model input. An array may also hold
/// several samples stacked along a new first axis.
using Sample = std::vector<ArrayView>;

/// Where calibration (and evaluation) samples come from: arrays in memory, or
/// files as `qcc quantize --calib` takes them (a directory, file or
/// comma-separated list of .npy/.npz/.pb files or test_data_set_* folders).
struct SampleSet {
  std::vector<Sample> samples;
  std::string files;
  bool empty() const { return samples.empty() && files.empty(); }
};

/// Progress of a long step: `stage` is e.g. "calibrating"; `total` is 0 when
/// unknown.
struct Progress {
  std::string stage;
  int64_t done = 0;
  int64_t total = 0;
  bool finished = false;
};
using ProgressCallback = std::function<void(const Progress &)>;
/// Informational lines (what was chosen and why), for a log.
using MessageCallback = std::function<void(const std::string &)>;

struct ImportOptions {
  /// Fixes input shapes by name (symbolic dimensions need it), e.g.
  /// {"input", {1, 3, 224, 224}}; -1 keeps a dimension symbolic.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Float weights with more elements go into dense_resource blobs.
  int64_t inlineLimit = 64;
};

/// Sets an import option by its command-line name: "input-shape" takes
/// NAME=DIMxDIMx... ("?" keeps a dimension symbolic), "inline-limit" an
/// integer.
Status setOption(ImportOptions &options, const std::string &name,
                 const std::string &value);

/// The options of `qcc quantize`; setOption() takes them by flag name.
struct QuantizeOptions {
  /// int8, w8a8, w8a16, fp8, w4a16, nf4 or mixed.
  std::string scheme = "int8";
  /// rtn, gptq, awq or smoothquant; empty: the scheme's default.
  std::string method;
  /// Weights per scale for w4a16, nf4 and mixed's 4-bit candidate (0: the
  /// scheme's default, 128, or 64 for nf4); for w8a16, groups of this size
  /// instead of one scale per output channel (0).
  int64_t groupSize = 0;
  /// mixed: bytes ("400000", "350kB", "1.5MB") or bits per weight ("4.5bits").
  std::string sizeBudget;
  /// mixed: largest summed output MSE (negative: unset).
  double maxError = -1;
  /// static, dynamic or dynamic-row.
  std::string activations = "static";
  /// minmax, percentile, entropy or mse.
  std::string calibMethod = "minmax";
  double percentile = 99.99;
  /// Calibrate on at most this many samples (0: all but the held-out ones).
  int64_t maxCalibSamples = 0;
  /// Samples at the end of the calibration set kept for the report's error
  /// measurements (negative: a fifth, at most 32; ignored with eval data).
  int64_t holdout = -1;
  /// mixed: samples used to measure each layer's sensitivity.
  int64_t sensitivitySamples = 8;
  /// SmoothQuant migration strength.
  double alpha = 0.5;
  /// GPTQ: quantize features by decreasing Hessian diagonal.
  bool actOrder = false;
  /// Integer weights get a zero point and their own range.
  bool asymmetricWeights = false;
  /// Op kinds whose inputs also get activation Q/DQ (e.g. "softmax").
  std::vector<std::string> alsoQuantize;
  /// ONNX output: blocked DequantizeLinear instead of MatMulNBits.
  bool noMatMulNBits = false;
  /// Keep the calibration statistics in this file / reuse such a file.
  std::string saveStats, loadStats;
  ProgressCallback progress;
  MessageCallback message;
};

/// Sets a quantize option by its command-line name ("scheme", "group-size"
/// or "group_size", ...), parsing `value` as the CLI does.
Status setOption(QuantizeOptions &options, const std::string &name,
                 const std::string &value);

/// The options of `qcc compile`.
struct CompileOptions {
  /// cpu or cuda.
  std::string target = "cpu";
  /// cuda: comma-separated architectures.
  std::string cudaArch = "sm_80,sm_90";
  /// cpu: CPU name and +feature/-feature list (empty: this machine's).
  std::string cpu, cpuFeatures;
  /// cpu: LLVM optimization level 0-3.
  int optLevel = 2;
  /// What to produce: qpkg (a package), or for inspection loops, llvm, ir,
  /// so (cpu) and cuda, ptx (cuda).
  std::string emit = "qpkg";
};

/// Sets a compile option by its command-line name ("target", "cuda-arch",
/// "cpu", "cpu-features", "opt-level", "emit").
Status setOption(CompileOptions &options, const std::string &name,
                 const std::string &value);

/// What compile() made.
struct Artifact {
  std::string emit;           ///< CompileOptions::emit
  std::vector<uint8_t> bytes; ///< the package, shared object or text
  /// One line: target, kernels, weight and arena bytes, seconds.
  std::string summary;
  /// Warnings emitted while compiling.
  std::vector<Diagnostic> warnings;
  /// Writes the bytes to `path`; the file appears only when complete.
  Status save(const std::string &path) const;
};

/// A model in qcc's IR: as imported (float) or quantized.
class Model {
public:
  /// Imports an ONNX model file.
  static Result<Model> importOnnx(const std::string &path,
                                  const ImportOptions &options = {});
  /// Imports an ONNX model held in memory; `name` names it in diagnostics.
  static Result<Model> importOnnx(const void *data, size_t size,
                                  const std::string &name,
                                  const ImportOptions &options = {});
  /// Parses qg IR (.mlir text), e.g. a model quantized earlier.
  static Result<Model> parseMlir(const std::string &path);

  Model(Model &&) noexcept;
  Model &operator=(Model &&) noexcept;
  ~Model();

  /// Calibrates on `calibration` (when the scheme needs it) and quantizes,
  /// returning the quantized model; this one is not changed. The report's
  /// errors are measured on `evaluation`, or on held-out calibration samples
  /// when it is empty.
  Result<Model> quantize(const SampleSet &calibration,
                         const QuantizeOptions &options,
                         const SampleSet &evaluation = {}) const;

  /// Compiles for a target (fusing first; this model is not changed).
  Result<Artifact> compile(const CompileOptions &options = {}) const;

  /// Writes the model: .mlir (qg IR), .onnx (a QDQ model ONNX Runtime runs;
  /// quantized models of imported ONNX files only) or .qpkg (compiled for
  /// this CPU). The file appears only when complete.
  Status save(const std::string &path) const;

  /// The IR as text, with the ONNX node names as locations.
  std::string mlir() const;
  /// The quantization report; null for a model that quantize() did not make.
  const Report *report() const;
  /// The model's input names and shapes (-1: symbolic).
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputs() const;
  /// Where the model came from (file name or the name given).
  const std::string &source() const;
  /// Warnings emitted while importing or quantizing it.
  const std::vector<Diagnostic> &warnings() const;

  struct Impl;

private:
  friend struct ModelAccess;
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl;
};

/// The library's version, e.g. "0.1.0".
const char *version();

} // namespace qcc::compiler

#endif // QCC_COMPILER_HPP
