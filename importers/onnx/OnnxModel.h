// A validated, protobuf-free view of an ONNX model. Reading a model file is
// the one place where untrusted bytes enter the compiler, so this layer
// checks every size, offset, shape and type before anything else sees them;
// it depends on neither MLIR nor LLVM, which also keeps it small enough to
// fuzz.
#ifndef QCC_IMPORTERS_ONNX_ONNXMODEL_H
#define QCC_IMPORTERS_ONNX_ONNXMODEL_H

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace qcc::onnx {

/// ONNX TensorProto.DataType values.
enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
  Float8E4M3FN = 17,
  Float8E4M3FNUZ = 18,
  Float8E5M2 = 19,
  Float8E5M2FNUZ = 20,
  UInt4 = 21,
  Int4 = 22,
};

std::string_view dataTypeName(DataType type);
/// Bytes one element takes in Tensor::bytes (4-bit types take a whole byte
/// there, unpacked); 0 for types that have no fixed-size layout (strings).
int64_t elementByteSize(DataType type);

/// An error message, already naming the file, node and reason.
struct Error {
  std::string message;
};

template <typename T> class Result {
public:
  Result(T value) : storage(std::move(value)) {}
  Result(Error error) : storage(std::move(error)) {}
  explicit operator bool() const { return storage.index() == 0; }
  T &operator*() { return std::get<0>(storage); }
  T *operator->() { return &std::get<0>(storage); }
  const Error &error() const { return std::get<1>(storage); }

private:
  std::variant<T, Error> storage;
};

/// A dense tensor. `bytes` holds the elements in row-major order, each in
/// its little-endian native layout; 4-bit types are unpacked to one byte per
/// element (sign-extended for int4).
struct Tensor {
  std::string name;
  DataType type = DataType::Undefined;
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;

  int64_t elementCount() const;
  /// Values converted to f32 (float, integer and bool types).
  std::vector<float> toFloats() const;
  /// Values converted to i64 (integer and bool types).
  std::vector<int64_t> toInts() const;
};

struct Attribute {
  enum class Kind { Float, Int, String, Tensor, Floats, Ints, Strings, Other };
  Kind kind = Kind::Other;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string name; ///< the node's name, or "<op_type>#<index>" if unnamed
  std::string opType;
  std::string domain; ///< "" for the default ONNX domain
  std::vector<std::string> inputs;  ///< "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::map<std::string, Attribute> attributes;

  const Attribute *attribute(std::string_view key) const;
  int64_t intAttr(std::string_view key, int64_t fallback) const;
  float floatAttr(std::string_view key, float fallback) const;
  std::string stringAttr(std::string_view key, std::string fallback) const;
  std::vector<int64_t> intsAttr(std::string_view key) const;
};

/// Type of a graph input or output. A dimension of -1 is unknown; its name
/// (ONNX dim_param), if any, is in dimNames.
struct ValueInfo {
  std::string name;
  /// False for sequence, optional and map values, which qcc cannot import.
  bool isTensor = true;
  DataType type = DataType::Undefined;
  std::vector<int64_t> dims;
  std::vector<std::string> dimNames;
  bool hasShape = false;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes; ///< topologically sorted
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs; ///< graph inputs that are not initializers
  std::vector<ValueInfo> outputs;
};

struct Model {
  std::string path;
  int64_t irVersion = 0;
  std::map<std::string, int64_t> opsets; ///< domain -> version ("" = ai.onnx)
  Graph graph;

  int64_t opset(const std::string &domain = "") const;
};

/// Reads and validates a model file; external data is read relative to the
/// file's directory.
Result<Model> loadModel(const std::string &path);
/// Same for a model already in memory; `baseDir` locates external data
/// (empty: external data is an error). `origin` names the model in errors.
Result<Model> parseModel(std::string_view bytes, const std::string &baseDir,
                         const std::string &origin);

/// Reads a serialized TensorProto (ONNX test data, calibration samples).
Result<Tensor> loadTensor(const std::string &path);

} // namespace qcc::onnx

#endif // QCC_IMPORTERS_ONNX_ONNXMODEL_H
