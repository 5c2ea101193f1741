// What the quantization passes share: which operand of a layer is its weight
// and which its activation, stable names for activations (the keys of the
// calibration statistics), and readable names for diagnostics and reports.
#ifndef QCC_PASSES_QUANTSITES_H
#define QCC_PASSES_QUANTSITES_H

#include "dialects/qg/QGOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/MapVector.h"

#include <optional>
#include <string>

namespace qcc::qg {

/// Where an op keeps its weight, and which of the weight's axes indexes
/// output channels and which is reduced.
struct WeightSite {
  mlir::OpOperand *operand;
  int64_t channelAxis; ///< -1 when the weight has no channel axis (1-D)
  int64_t reductionAxis;
};
std::optional<WeightSite> findWeight(mlir::Operation *op);

/// A layer: a matmul, gemm or conv whose weight is a float constant
/// (directly, or through qg.dequantize of a quantized constant).
bool isLayer(mlir::Operation *op);

/// The activation operand of a layer (matmul lhs, gemm A, conv input).
/// `rowsAlongLastDim` says whether its last dimension is the weight's
/// reduction dimension, so that its values are rows of input features (true
/// for matmul and for gemm without trans_a; false for conv).
struct ActivationSite {
  mlir::OpOperand *operand;
  bool rowsAlongLastDim;
};
std::optional<ActivationSite> findActivation(mlir::Operation *op);

/// A float weight constant in K x N form (K reduced, N output channels):
/// the layout of the algorithms in passes/algorithms. Available for 2-D
/// matmul weights and gemm B; empty for convolutions.
struct MatrixView {
  int64_t k = 0, n = 0;
  bool transposed = false; ///< the constant is N x K (gemm trans_b)
};
std::optional<MatrixView> matrixView(mlir::Operation *layer);

/// Converts between a weight's own layout and K x N.
std::vector<float> toKxN(llvm::ArrayRef<float> values, const MatrixView &view);
std::vector<float> fromKxN(llvm::ArrayRef<float> values,
                           const MatrixView &view);

/// Stable names for the activation values of a function: a function
/// argument is "arg:<ONNX input name>", an op result is its location's
/// node name (with "#<i>" for results after the first). When several values
/// get the same name, later ones (in program order) get "@2", "@3", ....
class TensorKeys {
public:
  explicit TensorKeys(mlir::func::FuncOp function);
  /// The key of `value`, or "" for values that have none (constants).
  std::string key(mlir::Value value) const;

private:
  llvm::DenseMap<mlir::Value, std::string> keys;
};

/// Divides the activation `x` that feeds `layers` (as their activation
/// operand) by per-channel `scales` along its last dimension, for AWQ and
/// SmoothQuant. Folded into the `qg.layer_norm` that produces `x` when its
/// scale and bias are constants and `layers` are its only users; otherwise
/// a `qg.mul` by 1/scales is inserted for these layers. Returns true when
/// folded.
bool divideActivation(mlir::Value x, llvm::ArrayRef<mlir::Operation *> layers,
                      llvm::ArrayRef<float> scales, llvm::StringRef key);

/// The layers with a constant 2-D weight and a row-shaped activation
/// (matmul, gemm), grouped by the activation they read, in program order:
/// AWQ and SmoothQuant choose one set of scales per activation. With
/// `onlyLayers` non-empty, only layers whose location names are listed.
llvm::MapVector<mlir::Value, llvm::SmallVector<mlir::Operation *>>
groupLayersByActivation(mlir::Operation *root,
                        llvm::ArrayRef<std::string> onlyLayers = {});

/// The constant weights of `layers` (all with reduction size k) side by
/// side as one K x (sum of N) matrix; `width` gets the sum of N. Fails if a
/// weight is not a readable f32 constant of that k.
mlir::FailureOr<std::vector<float>>
stackWeights(llvm::ArrayRef<mlir::Operation *> layers, int64_t k,
             int64_t &width);

/// Values of an f32 qg.constant, or nullopt.
std::optional<llvm::SmallVector<float>> floatConstant(mlir::Value value);

/// The qg.mul by 1/scales that divideActivation inserted, if it produces
/// `x`; its lhs is the activation before scaling.
MulOp inputScaleProducing(mlir::Value x);

/// The qg.dynamic_quantize behind `x` when `x` is the dequantized result of
/// dynamic activation quantization ((cast(q) - cast(zp)) * scale, as
/// qg-quantize-activations builds it).
DynamicQuantizeOp dynamicQuantizeProducing(mlir::Value x);

/// Multiplies the input rows (reduction index k) of a layer's float constant
/// weight by `scales[k]`, replacing the constant.
mlir::LogicalResult scaleWeightRows(mlir::Operation *layer,
                                    llvm::ArrayRef<float> scales);

/// A new f32 qg.constant, in a dense_resource blob when large.
mlir::Value createFloatConstant(mlir::OpBuilder &builder, mlir::Location loc,
                                llvm::ArrayRef<int64_t> shape,
                                llvm::ArrayRef<float> values);

/// "conv1", "fc1+relu1", "model.mlir:3:5": a location for people.
std::string describeLocation(mlir::Location loc);
/// "64x3x3x3", "scalar".
std::string shapeText(llvm::ArrayRef<int64_t> shape);

/// The one function the quantization passes work on: "main" if present,
/// otherwise the module's only function. Emits an error and returns null
/// otherwise.
mlir::func::FuncOp findEntryFunction(mlir::ModuleOp module,
                                     llvm::StringRef passName);

} // namespace qcc::qg

#endif // QCC_PASSES_QUANTSITES_H
