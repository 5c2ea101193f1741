// QDQ export: writes a quantized ONNX model that ONNX Runtime runs unchanged.
// The exporter starts from the original ONNX model and applies a plan that
// names ONNX nodes and input positions (the qg IR keeps node names as
// locations, so the compiler can say "input 1 of node /fc1/MatMul is this
// int8 per-channel tensor"): quantized weights become integer initializers
// with DequantizeLinear (or com.microsoft MatMulNBits for 4-bit MatMul
// weights), activations get QuantizeLinear/DequantizeLinear pairs, and
// folded float parameters replace the originals. No MLIR dependency.
#ifndef QCC_IMPORTERS_ONNX_QDQEXPORT_H
#define QCC_IMPORTERS_ONNX_QDQEXPORT_H

#include "runtime/numerics/Numerics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace qcc::onnx {

/// Where in the graph: input `input` (0-based) of the node named `node`.
struct NodeInput {
  std::string node;
  int input = 0;
};

/// A static Q/DQ pair on the activation feeding `site` (per tensor; 8-bit or
/// 16-bit in practice, though any integer or FP8 format that ONNX accepts is
/// written). Several sites fed by the same tensor with equal parameters share
/// one pair; other readers of the tensor keep the float value.
struct ActivationQuant {
  NodeInput site;
  rt::Format format = rt::Format::U8;
  float scale = 1;
  int32_t zeroPoint = 0;
};

/// Dynamic quantization of the activation feeding `site`:
/// DynamicQuantizeLinear (u8, per tensor) followed by DequantizeLinear.
struct DynamicActivationQuant {
  NodeInput site;
};

/// The initializer feeding `site` replaced by quantized codes. `shape` must
/// equal the initializer's dims. Integer formats with per-tensor, per-axis
/// or per-block granularity become an integer initializer plus
/// DequantizeLinear (opset 21 for 4-bit or blocked); a 4-bit weight on input
/// 1 of a MatMul with a 2-D K x N weight blocked along K becomes
/// com.microsoft MatMulNBits when `preferMatMulNBits` is set. NF4 and FP8
/// are errors unless ONNX can express them (FP8 through DequantizeLinear).
struct WeightQuant {
  NodeInput site;
  std::vector<int64_t> shape;
  rt::QuantParams params;
  std::vector<int32_t> codes;
  bool preferMatMulNBits = true;
};

/// The float initializer feeding `site` replaced by new values (scales folded
/// in by AWQ/SmoothQuant, batch norm folded into a convolution, ...).
/// `shape` may differ from the original (e.g. a bias added where there was
/// none is not supported: the input must exist).
struct FloatReplacement {
  NodeInput site;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

/// A Mul by constant `factors` (broadcast along the last axis) inserted on
/// the activation feeding `site`, for scales that could not be folded.
struct InputScale {
  NodeInput site;
  std::vector<float> factors;
};

struct QdqPlan {
  std::vector<WeightQuant> weights;
  std::vector<ActivationQuant> activations;
  std::vector<DynamicActivationQuant> dynamicActivations;
  std::vector<FloatReplacement> floats;
  std::vector<InputScale> inputScales;
  /// Nodes removed because the compiler folded them away (e.g. a
  /// BatchNormalization folded into the convolution before it): consumers of
  /// the node's output 0 read its input 0 instead.
  std::vector<std::string> removedNodes;
  /// Written into the model's producer fields and doc string.
  std::string producerNote;
};

/// Reads `sourcePath` (validated by loadModel first), applies `plan`, checks
/// the result with the ONNX checker rules it can (every referenced node and
/// input exists, shapes match, every value has one producer), raises the
/// default-domain opset when a quantized form needs it (13 for per-axis, 19
/// for FP8, 21 for blocked, 4-bit or 16-bit) together with the IR version,
/// and writes `outputPath` atomically (a failure leaves no file). Raising the
/// opset rewrites the operators whose attributes became inputs on the way
/// (Reduce*, Squeeze, Unsqueeze, Split, ...) and Softmax's pre-13 axis
/// semantics; a change it cannot express (GroupNormalization at 21, a source
/// opset below 11) is an error. External data is written inline; an output
/// over protobuf's 2 GiB limit is an error. On failure returns false and sets
/// `error` naming the node and the reason.
bool exportQdqModel(const std::string &sourcePath, const QdqPlan &plan,
                    const std::string &outputPath, std::string &error);

} // namespace qcc::onnx

#endif // QCC_IMPORTERS_ONNX_QDQEXPORT_H
