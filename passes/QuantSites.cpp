// Layer, weight and activation sites shared by the quantization passes.
#include "passes/QuantSites.h"

#include "codegen/reference/Interpreter.h"
#include "dialects/qg/QGElements.h"

#include "mlir/IR/Builders.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace qcc::qg {

std::optional<WeightSite> findWeight(Operation *op) {
  if (auto matmul = dyn_cast<MatMulOp>(op)) {
    // Folded transposes are a late, pre-codegen form; the quantization
    // passes see the importer's plain matmuls.
    if (matmul.hasOperandPerms())
      return std::nullopt;
    const int64_t rank =
        cast<RankedTensorType>(matmul.getRhs().getType()).getRank();
    if (rank == 1)
      return WeightSite{&op->getOpOperand(1), -1, 0};
    return WeightSite{&op->getOpOperand(1), rank - 1, rank - 2};
  }
  if (auto gemm = dyn_cast<GemmOp>(op))
    return gemm.getTransB() ? WeightSite{&op->getOpOperand(1), 0, 1}
                            : WeightSite{&op->getOpOperand(1), 1, 0};
  if (isa<Conv2DOp>(op))
    return WeightSite{&op->getOpOperand(1), 0, 1};
  return std::nullopt;
}

bool isLayer(Operation *op) {
  std::optional<WeightSite> site = findWeight(op);
  if (!site)
    return false;
  Value weight = site->operand->get();
  if (auto dequantize = weight.getDefiningOp<DequantizeOp>())
    weight = dequantize.getInput();
  auto type = dyn_cast<RankedTensorType>(
      cast<RankedTensorType>(site->operand->get().getType()));
  return weight.getDefiningOp<ConstantOp>() && type &&
         isa<FloatType>(type.getElementType());
}

std::optional<ActivationSite> findActivation(Operation *op) {
  if (auto matmul = dyn_cast<MatMulOp>(op))
    return matmul.hasOperandPerms()
               ? std::nullopt
               : std::optional(ActivationSite{&op->getOpOperand(0), true});
  if (auto gemm = dyn_cast<GemmOp>(op))
    return ActivationSite{&op->getOpOperand(0), !gemm.getTransA()};
  if (isa<Conv2DOp>(op))
    return ActivationSite{&op->getOpOperand(0), false};
  return std::nullopt;
}

std::optional<MatrixView> matrixView(Operation *layer) {
  auto type = cast<RankedTensorType>(layer->getOperand(1).getType());
  if (type.getRank() != 2 || !type.hasStaticShape())
    return std::nullopt;
  if (auto matmul = dyn_cast<MatMulOp>(layer))
    return matmul.hasOperandPerms()
               ? std::nullopt
               : std::optional(
                     MatrixView{type.getDimSize(0), type.getDimSize(1), false});
  if (auto gemm = dyn_cast<GemmOp>(layer)) {
    if (gemm.getTransB())
      return MatrixView{type.getDimSize(1), type.getDimSize(0), true};
    return MatrixView{type.getDimSize(0), type.getDimSize(1), false};
  }
  return std::nullopt;
}

static std::vector<float> transpose(ArrayRef<float> values, int64_t rows,
                                    int64_t cols) {
  std::vector<float> out(values.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[c * rows + r] = values[r * cols + c];
  return out;
}

std::vector<float> toKxN(ArrayRef<float> values, const MatrixView &view) {
  if (!view.transposed)
    return std::vector<float>(values.begin(), values.end());
  return transpose(values, view.n, view.k);
}

std::vector<float> fromKxN(ArrayRef<float> values, const MatrixView &view) {
  if (!view.transposed)
    return std::vector<float>(values.begin(), values.end());
  return transpose(values, view.k, view.n);
}

TensorKeys::TensorKeys(func::FuncOp function) {
  llvm::StringMap<int> seen;
  auto assign = [&](Value value, std::string name) {
    int &count = seen[name];
    ++count;
    if (count > 1)
      name += "@" + std::to_string(count);
    keys[value] = std::move(name);
  };
  for (auto [i, argument] : llvm::enumerate(function.getArguments())) {
    std::string name = "arg" + std::to_string(i);
    if (auto attr = function.getArgAttrOfType<StringAttr>(i, "qg.name"))
      name = attr.str();
    assign(argument, "arg:" + name);
  }
  function.walk([&](Operation *op) {
    if (isa<ConstantOp>(op) || op->getNumResults() == 0)
      return;
    const std::string base = describeLocation(op->getLoc());
    for (auto [i, result] : llvm::enumerate(op->getResults()))
      assign(result, i == 0 ? base : base + "#" + std::to_string(i));
  });
}

std::string TensorKeys::key(Value value) const { return keys.lookup(value); }

Value createFloatConstant(OpBuilder &builder, Location loc,
                          ArrayRef<int64_t> shape, ArrayRef<float> values) {
  ref::Tensor tensor;
  tensor.elementType = builder.getF32Type();
  tensor.shape.assign(shape.begin(), shape.end());
  tensor.data.assign(values.begin(), values.end());
  ElementsAttr attr = ref::toAttribute(tensor, 64, "weight");
  return ConstantOp::create(builder, loc,
                            cast<RankedTensorType>(attr.getType()), attr);
}

std::optional<SmallVector<float>> floatConstant(Value value) {
  auto constant = value.getDefiningOp<ConstantOp>();
  if (!constant || !constant.getType().getElementType().isF32())
    return std::nullopt;
  FailureOr<SmallVector<float>> values = readFloats(constant.getValue());
  if (failed(values))
    return std::nullopt;
  return *values;
}

llvm::MapVector<Value, SmallVector<Operation *>>
groupLayersByActivation(Operation *root, ArrayRef<std::string> onlyLayers) {
  llvm::MapVector<Value, SmallVector<Operation *>> groups;
  root->walk([&](Operation *op) {
    if (!onlyLayers.empty() &&
        !llvm::is_contained(onlyLayers, describeLocation(op->getLoc())))
      return;
    if (isLayer(op) && matrixView(op) &&
        op->getOperand(1).getDefiningOp<ConstantOp>() &&
        findActivation(op)->rowsAlongLastDim)
      groups[findActivation(op)->operand->get()].push_back(op);
  });
  return groups;
}

FailureOr<std::vector<float>> stackWeights(ArrayRef<Operation *> layers,
                                           int64_t k, int64_t &width) {
  std::vector<float> stacked;
  width = 0;
  for (Operation *layer : layers) {
    std::optional<MatrixView> view = matrixView(layer);
    std::optional<SmallVector<float>> values =
        floatConstant(layer->getOperand(1));
    if (!view || view->k != k || !values)
      return failure();
    std::vector<float> kxn = toKxN(*values, *view);
    std::vector<float> merged(static_cast<size_t>(k * (width + view->n)));
    for (int64_t r = 0; r < k; ++r) {
      std::copy_n(stacked.begin() + r * width, width,
                  merged.begin() + r * (width + view->n));
      std::copy_n(kxn.begin() + r * view->n, view->n,
                  merged.begin() + r * (width + view->n) + width);
    }
    stacked = std::move(merged);
    width += view->n;
  }
  return stacked;
}

/// Names the qg.mul that divideActivation inserts, so later passes and the
/// exporter can tell it from the model's own multiplications.
static constexpr llvm::StringLiteral kInputScaleSuffix = "/input_scale";

MulOp inputScaleProducing(Value x) {
  auto mul = x.getDefiningOp<MulOp>();
  if (!mul || !describeLocation(mul.getLoc()).ends_with(kInputScaleSuffix))
    return nullptr;
  return mul;
}

DynamicQuantizeOp dynamicQuantizeProducing(Value x) {
  auto mul = x.getDefiningOp<MulOp>();
  auto sub = mul ? mul.getLhs().getDefiningOp<SubOp>() : nullptr;
  auto cast = sub ? sub.getLhs().getDefiningOp<CastOp>() : nullptr;
  return cast ? cast.getInput().getDefiningOp<DynamicQuantizeOp>() : nullptr;
}

bool divideActivation(Value x, ArrayRef<Operation *> layers,
                      ArrayRef<float> scales, StringRef key) {
  const int64_t k = static_cast<int64_t>(scales.size());
  auto type = cast<RankedTensorType>(x.getType());
  if (auto norm = x.getDefiningOp<LayerNormOp>()) {
    const int64_t rank = type.getRank();
    // I64Attr getters return uint64_t; the axis may be negative.
    const int64_t rawAxis = static_cast<int64_t>(norm.getAxis());
    const int64_t axis = rawAxis < 0 ? rawAxis + rank : rawAxis;
    const bool onlyLayers = llvm::all_of(x.getUsers(), [&](Operation *user) {
      return llvm::is_contained(layers, user) &&
             findActivation(user)->operand->get() == x;
    });
    std::optional<SmallVector<float>> gamma = floatConstant(norm.getScale());
    std::optional<SmallVector<float>> beta;
    if (norm.getBias())
      beta = floatConstant(norm.getBias());
    if (onlyLayers && axis == rank - 1 && gamma &&
        static_cast<int64_t>(gamma->size()) == k &&
        (!norm.getBias() ||
         (beta && static_cast<int64_t>(beta->size()) == k))) {
      OpBuilder builder(norm);
      for (int64_t c = 0; c < k; ++c) {
        (*gamma)[c] /= scales[c];
        if (beta)
          (*beta)[c] /= scales[c];
      }
      auto shapeOf = [](Value v) {
        return cast<RankedTensorType>(v.getType()).getShape();
      };
      norm.getScaleMutable().assign(createFloatConstant(
          builder, norm.getScale().getLoc(), shapeOf(norm.getScale()), *gamma));
      if (beta)
        norm.getBiasMutable().assign(createFloatConstant(
            builder, norm.getBias().getLoc(), shapeOf(norm.getBias()), *beta));
      return true;
    }
  }
  OpBuilder builder(x.getContext());
  builder.setInsertionPointAfterValue(x);
  std::vector<float> inverse(k);
  for (int64_t c = 0; c < k; ++c)
    inverse[c] = 1.0f / scales[c];
  Location loc =
      NameLoc::get(builder.getStringAttr(key + kInputScaleSuffix), x.getLoc());
  Value factors = createFloatConstant(builder, loc, {k}, inverse);
  Value scaled = MulOp::create(builder, loc, type, x, factors);
  for (Operation *layer : layers)
    findActivation(layer)->operand->set(scaled);
  return false;
}

LogicalResult scaleWeightRows(Operation *layer, ArrayRef<float> scales) {
  std::optional<MatrixView> view = matrixView(layer);
  Value weight = layer->getOperand(1);
  std::optional<SmallVector<float>> values = floatConstant(weight);
  if (!view || !values || view->k != static_cast<int64_t>(scales.size()))
    return failure();
  for (int64_t r = 0; r < view->k; ++r)
    for (int64_t c = 0; c < view->n; ++c) {
      const int64_t at = view->transposed ? c * view->k + r : r * view->n + c;
      (*values)[at] *= scales[r];
    }
  OpBuilder builder(layer);
  layer->setOperand(1, createFloatConstant(
                           builder, weight.getLoc(),
                           cast<RankedTensorType>(weight.getType()).getShape(),
                           *values));
  return success();
}

std::string describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string text;
    for (Location inner : fused.getLocations())
      text += (text.empty() ? "" : "+") + describeLocation(inner);
    return text;
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (llvm::sys::path::filename(file.getFilename().getValue()) + ":" +
            Twine(file.getLine()) + ":" + Twine(file.getColumn()))
        .str();
  std::string text;
  llvm::raw_string_ostream os(text);
  loc.print(os);
  return text;
}

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text;
  for (auto [i, dim] : llvm::enumerate(shape))
    text += (i ? "x" : "") + std::to_string(dim);
  return text.empty() ? "scalar" : text;
}

func::FuncOp findEntryFunction(ModuleOp module, StringRef passName) {
  if (auto main = module.lookupSymbol<func::FuncOp>("main"))
    return main;
  SmallVector<func::FuncOp> functions(module.getOps<func::FuncOp>());
  if (functions.size() == 1)
    return functions.front();
  module.emitError(passName) << ": expected a function named 'main' or "
                                "exactly one function, found "
                             << functions.size();
  return nullptr;
}

} // namespace qcc::qg
