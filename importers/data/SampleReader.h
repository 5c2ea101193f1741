// Calibration and evaluation samples: the tensors a function is run on,
// read one file at a time from .npy, .npz or ONNX TensorProto (.pb) files, a
// directory of them, or ONNX test-data directories (test_data_set_*/
// input_<i>.pb). A file may hold one sample or a batch of them along the
// first axis. Files are untrusted: each array is validated against the
// function's input types before use.
#ifndef QCC_IMPORTERS_DATA_SAMPLEREADER_H
#define QCC_IMPORTERS_DATA_SAMPLEREADER_H

#include "codegen/reference/Interpreter.h"
#include "runtime/io/Npy.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <deque>
#include <string>
#include <vector>

namespace qcc::data {

/// An array given in memory by a program that embeds qcc. Not copied: it
/// must outlive the reader. Checked like a file's array.
struct BorrowedArray {
  std::string name; ///< the model input it feeds
  rt::ElementKind kind = rt::ElementKind::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr; ///< row-major, native byte order
};
/// One sample in memory: one array per model input (each may hold a batch of
/// samples along its first axis, as in a file).
using BorrowedSample = std::vector<BorrowedArray>;

class SampleReader {
public:
  /// `spec` is a file, a directory, or a comma-separated list of them. The
  /// function's inputs must have static shapes. Returns false with `error`
  /// set when the spec names nothing readable.
  bool open(const std::string &spec, mlir::func::FuncOp function,
            std::string &error);

  /// Reads from samples in memory instead of files; `samples` must outlive
  /// the reader.
  bool open(const std::vector<BorrowedSample> &samples,
            mlir::func::FuncOp function, std::string &error);

  /// The next sample (one tensor per function input, in argument order).
  /// Returns false at the end (error empty) or on bad data (error names the
  /// file, the input and the reason).
  bool next(std::vector<ref::Tensor> &inputs, std::string &error);

  /// Number of files (or test-data directories, or samples in memory).
  int64_t sourceCount() const {
    return memory ? static_cast<int64_t>(memory->size())
                  : static_cast<int64_t>(sources.size());
  }
  /// Sources read so far.
  int64_t sourcesRead() const { return nextSource; }

  /// A decoded array before it is split into samples (SampleReader.cpp).
  struct Array;

private:
  bool collectInputs(mlir::func::FuncOp function, std::string &error);
  bool loadSource(int64_t index, std::string &error);
  bool addSamples(const std::vector<Array> &arrays, const std::string &source,
                  std::string &error);
  bool loadMemory(const BorrowedSample &sample, const std::string &origin,
                  std::string &error);

  struct InputInfo {
    std::string name;
    mlir::RankedTensorType type;
  };
  std::vector<InputInfo> inputs;
  std::vector<std::string> sources;
  const std::vector<BorrowedSample> *memory = nullptr;
  int64_t nextSource = 0;
  std::deque<std::vector<ref::Tensor>> pending;
};

} // namespace qcc::data

#endif // QCC_IMPORTERS_DATA_SAMPLEREADER_H
