// The ONNX importer's driver: graph inputs, initializers, constants, node
// dispatch and the function signature.
#include "codegen/reference/Kernels.h"
#include "importers/onnx/ImporterImpl.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"

#include <cstring>
#include <set>

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace qcc::onnx {

namespace {
constexpr int64_t kMaxElements = int64_t{1} << 34;

std::string nodeKey(const Node &node) {
  return node.domain.empty() ? node.opType : node.domain + ":" + node.opType;
}
} // namespace

std::set<std::string> inputsNeededAsConstants(const Model &model) {
  std::set<std::string> graphInputs, needed;
  for (const ValueInfo &info : model.graph.inputs)
    graphInputs.insert(info.name);
  const auto &handlers = opHandlers();
  for (const Node &node : model.graph.nodes) {
    auto it = handlers.find(nodeKey(node));
    if (it == handlers.end())
      continue;
    for (size_t index : it->second.constantInputs)
      if (index < node.inputs.size() && graphInputs.count(node.inputs[index]))
        needed.insert(node.inputs[index]);
  }
  return needed;
}

std::vector<UnsupportedOp> findUnsupportedOps(const Model &model) {
  std::vector<UnsupportedOp> result;
  const auto &handlers = opHandlers();
  for (const Node &node : model.graph.nodes) {
    std::string reason;
    auto it = handlers.find(nodeKey(node));
    if (it == handlers.end())
      reason = "";
    else if (it->second.check)
      reason = it->second.check(node, model);
    if (it != handlers.end() && reason.empty())
      continue;
    auto existing = std::find_if(
        result.begin(), result.end(), [&](const UnsupportedOp &op) {
          return op.opType == node.opType && op.domain == node.domain &&
                 op.reason == reason;
        });
    if (existing == result.end()) {
      result.push_back({node.opType, node.domain, reason, {}});
      existing = std::prev(result.end());
    }
    existing->nodes.push_back(node.name);
  }
  return result;
}

Importer::Importer(const Model &model, MLIRContext &context,
                   const ImportOptions &options)
    : model(model), context(context), options(options), builder(&context),
      loc(FileLineColLoc::get(&context, model.path, 0, 0)) {}

InFlightDiagnostic Importer::error() { return emitError(loc); }

bool Importer::hasInput(size_t index) const {
  return index < node->inputs.size() && !node->inputs[index].empty();
}

bool Importer::hasOutput(size_t index) const {
  return index < node->outputs.size() && !node->outputs[index].empty() &&
         useCounts.count(node->outputs[index]);
}

const ref::Tensor *Importer::knownInput(size_t index) const {
  if (!hasInput(index))
    return nullptr;
  auto it = known.find(node->inputs[index]);
  return it == known.end() ? nullptr : &it->second;
}

FailureOr<std::vector<int64_t>> Importer::knownInts(size_t index,
                                                    StringRef what) {
  const ref::Tensor *tensor = knownInput(index);
  if (!tensor) {
    error() << node->opType << ": " << what
            << " must be a constant known at import time";
    return failure();
  }
  std::vector<int64_t> ints;
  for (double v : tensor->data)
    ints.push_back(static_cast<int64_t>(v));
  return ints;
}

FailureOr<Value> Importer::materialize(const std::string &name) {
  auto it = values.find(name);
  if (it != values.end())
    return it->second;
  auto knownIt = known.find(name);
  if (knownIt == known.end()) {
    error() << "input '" << name << "' has no value";
    return failure();
  }
  Value value = constant(knownIt->second);
  values[name] = value;
  return value;
}

FailureOr<Value> Importer::input(size_t index) {
  if (!hasInput(index)) {
    error() << node->opType << ": missing input #" << index;
    return failure();
  }
  return materialize(node->inputs[index]);
}

FailureOr<Value> Importer::optionalInput(size_t index) {
  if (!hasInput(index))
    return Value();
  return input(index);
}

void Importer::define(size_t index, Value value) {
  if (index < node->outputs.size() && !node->outputs[index].empty())
    values[node->outputs[index]] = value;
}

void Importer::defineKnown(size_t index, ref::Tensor value) {
  if (index < node->outputs.size() && !node->outputs[index].empty())
    known[node->outputs[index]] = std::move(value);
}

Value Importer::constant(const ref::Tensor &value) {
  ElementsAttr attr = ref::toAttribute(
      value, options.inlineLimit, "onnx_" + std::to_string(resourceCounter++));
  return ConstantOp::create(builder, loc,
                            cast<RankedTensorType>(attr.getType()), attr);
}

Value Importer::scalarConstant(Type elementType, double value,
                               ArrayRef<int64_t> shape) {
  ref::Tensor tensor;
  tensor.elementType = elementType;
  tensor.shape.assign(shape.begin(), shape.end());
  tensor.data.assign(ref::countOf(shape), ref::roundToType(elementType, value));
  return constant(tensor);
}

FailureOr<Value> Importer::finish(Operation *op) {
  if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
    SmallVector<Type> types;
    if (failed(infer.inferReturnTypes(&context, op->getLoc(), op->getOperands(),
                                      op->getRawDictionaryAttrs(),
                                      op->getPropertiesStorage(),
                                      op->getRegions(), types))) {
      op->erase();
      return failure();
    }
    for (auto [result, type] : llvm::zip(op->getResults(), types))
      result.setType(type);
  }
  // Shapes derived from the file's attributes are bounded like tensors, so
  // no later stage multiplies its way past int64 or out of memory.
  for (Type type : op->getResultTypes()) {
    int64_t count = 1;
    for (int64_t dim : cast<RankedTensorType>(type).getShape()) {
      if (ShapedType::isDynamic(dim) || dim == 0)
        continue;
      if (dim > kMaxElements || count > kMaxElements / dim) {
        error() << node->opType << ": result " << type
                << " has more than 2^34 elements";
        op->erase();
        return failure();
      }
      count *= dim;
    }
  }
  if (failed(mlir::verify(op))) {
    op->erase();
    return failure();
  }
  return op->getResult(0);
}

FailureOr<Type> convertDataType(DataType type, MLIRContext &context) {
  MLIRContext *ctx = &context;
  switch (type) {
  case DataType::Float:
    return Type(Float32Type::get(ctx));
  case DataType::Double:
    return Type(Float64Type::get(ctx));
  case DataType::Float16:
    return Type(Float16Type::get(ctx));
  case DataType::BFloat16:
    return Type(BFloat16Type::get(ctx));
  case DataType::Int64:
    return Type(IntegerType::get(ctx, 64));
  case DataType::Int32:
    return Type(IntegerType::get(ctx, 32));
  case DataType::Int16:
    return Type(IntegerType::get(ctx, 16));
  case DataType::Int8:
    return Type(IntegerType::get(ctx, 8));
  case DataType::Int4:
    return Type(IntegerType::get(ctx, 4));
  case DataType::UInt64:
    return Type(IntegerType::get(ctx, 64, IntegerType::Unsigned));
  case DataType::UInt32:
    return Type(IntegerType::get(ctx, 32, IntegerType::Unsigned));
  case DataType::UInt16:
    return Type(IntegerType::get(ctx, 16, IntegerType::Unsigned));
  case DataType::UInt8:
    return Type(IntegerType::get(ctx, 8, IntegerType::Unsigned));
  case DataType::UInt4:
    return Type(IntegerType::get(ctx, 4, IntegerType::Unsigned));
  case DataType::Bool:
    return Type(IntegerType::get(ctx, 1));
  case DataType::Float8E4M3FN:
    return Type(Float8E4M3FNType::get(ctx));
  case DataType::Float8E5M2:
    return Type(Float8E5M2Type::get(ctx));
  default:
    return failure();
  }
}

FailureOr<Type> Importer::elementType(DataType type) {
  FailureOr<Type> converted = convertDataType(type, context);
  if (failed(converted))
    error() << "data type " << dataTypeName(type) << " is not supported";
  return converted;
}

ref::Tensor toRefTensor(const Tensor &tensor, Type elementType) {
  ref::Tensor value;
  value.elementType = elementType;
  value.shape.assign(tensor.dims.begin(), tensor.dims.end());
  if (isa<FloatType>(elementType)) {
    std::vector<float> floats = tensor.toFloats();
    if (tensor.type == DataType::Double) {
      value.data.resize(floats.size());
      for (size_t i = 0; i < floats.size(); ++i)
        std::memcpy(&value.data[i], tensor.bytes.data() + 8 * i, 8);
    } else {
      value.data.assign(floats.begin(), floats.end());
    }
  } else {
    std::vector<int64_t> ints = tensor.toInts();
    value.data.assign(ints.begin(), ints.end());
  }
  return value;
}

LogicalResult Importer::importNode(const Node &current) {
  node = &current;
  loc = NameLoc::get(StringAttr::get(&context, current.name),
                     FileLineColLoc::get(&context, model.path, 0, 0));
  auto it = opHandlers().find(nodeKey(current));
  if (it == opHandlers().end())
    return error() << "unsupported op " << current.opType;
  return it->second.handler(*this);
}

OwningOpRef<ModuleOp> Importer::run() {
  Location fileLoc = FileLineColLoc::get(&context, model.path, 0, 0);
  std::vector<UnsupportedOp> unsupported = findUnsupportedOps(model);
  if (!unsupported.empty()) {
    InFlightDiagnostic diag = emitError(fileLoc);
    diag << "the model uses ops qcc cannot import (opset " << model.opset()
         << "):";
    for (const UnsupportedOp &op : unsupported) {
      diag << "\n  " << (op.domain.empty() ? "" : op.domain + ":") << op.opType;
      if (!op.reason.empty())
        diag << " (" << op.reason << ")";
      diag << " in nodes ";
      for (size_t i = 0; i < op.nodes.size(); ++i) {
        if (i == 8) {
          diag << ", and " << op.nodes.size() - 8 << " more";
          break;
        }
        diag << (i ? ", '" : "'") << op.nodes[i] << "'";
      }
    }
    return nullptr;
  }

  for (const Node &n : model.graph.nodes)
    for (const std::string &name : n.inputs)
      if (!name.empty())
        ++useCounts[name];
  for (const ValueInfo &output : model.graph.outputs)
    ++useCounts[output.name];

  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());

  for (const ValueInfo &info :
       llvm::concat<const ValueInfo>(model.graph.inputs, model.graph.outputs))
    if (!info.isTensor) {
      emitError(NameLoc::get(StringAttr::get(&context, info.name), fileLoc))
          << "graph input or output '" << info.name
          << "' is a sequence, optional or map; qcc imports tensors only";
      return nullptr;
    }

  // Graph inputs become function arguments, unless the options freeze them
  // to constants.
  SmallVector<Type> argumentTypes;
  std::vector<const ValueInfo *> arguments;
  for (const ValueInfo &info : model.graph.inputs) {
    loc = NameLoc::get(StringAttr::get(&context, info.name), fileLoc);
    auto frozen = options.constantInputs.find(info.name);
    if (frozen != options.constantInputs.end()) {
      FailureOr<Type> element = elementType(frozen->second.type);
      if (failed(element))
        return nullptr;
      known[info.name] = toRefTensor(frozen->second, *element);
      continue;
    }
    arguments.push_back(&info);
    FailureOr<Type> element = elementType(info.type);
    if (failed(element))
      return nullptr;
    SmallVector<int64_t> shape(info.dims.begin(), info.dims.end());
    auto fixed = options.inputShapes.find(info.name);
    if (fixed != options.inputShapes.end()) {
      if (info.hasShape && fixed->second.size() != info.dims.size()) {
        error() << "--input-shape for '" << info.name << "' has rank "
                << fixed->second.size() << " but the model says "
                << info.dims.size();
        return nullptr;
      }
      for (size_t i = 0; i < info.dims.size(); ++i)
        if (info.dims[i] >= 0 && info.dims[i] != fixed->second[i]) {
          error() << "--input-shape for '" << info.name << "' sets dimension "
                  << i << " to " << fixed->second[i] << " but the model fixes "
                  << info.dims[i];
          return nullptr;
        }
      shape.assign(fixed->second.begin(), fixed->second.end());
    } else if (!info.hasShape) {
      error() << "graph input '" << info.name
              << "' has no shape; give one with --input-shape";
      return nullptr;
    }
    for (int64_t &dim : shape)
      if (dim < 0)
        dim = ShapedType::kDynamic;
    argumentTypes.push_back(RankedTensorType::get(shape, *element));
  }

  auto function =
      func::FuncOp::create(builder, fileLoc, options.functionName,
                           builder.getFunctionType(argumentTypes, {}));
  Block *body = function.addEntryBlock();
  builder.setInsertionPointToStart(body);
  for (auto [info, argument] : llvm::zip(arguments, body->getArguments())) {
    argument.setLoc(
        NameLoc::get(StringAttr::get(&context, info->name), fileLoc));
    values[info->name] = argument;
  }

  for (const Tensor &initializer : model.graph.initializers) {
    loc = NameLoc::get(StringAttr::get(&context, initializer.name), fileLoc);
    FailureOr<Type> element = elementType(initializer.type);
    if (failed(element))
      return nullptr;
    known[initializer.name] = toRefTensor(initializer, *element);
  }

  for (const Node &n : model.graph.nodes)
    if (failed(importNode(n)))
      return nullptr;

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  loc = fileLoc;
  node = nullptr;
  for (const ValueInfo &output : model.graph.outputs) {
    FailureOr<Value> value = materialize(output.name);
    if (failed(value))
      return nullptr;
    results.push_back(*value);
    resultTypes.push_back(value->getType());
  }
  func::ReturnOp::create(builder, fileLoc, results);
  function.setFunctionType(builder.getFunctionType(argumentTypes, resultTypes));
  // Keep the ONNX names of inputs and outputs for the tools.
  for (auto [i, info] : llvm::enumerate(arguments))
    function.setArgAttr(i, "qg.name", builder.getStringAttr(info->name));
  for (auto [i, output] : llvm::enumerate(model.graph.outputs))
    function.setResultAttr(i, "qg.name", builder.getStringAttr(output.name));
  if (failed(mlir::verify(*module)))
    return nullptr;
  return module;
}

OwningOpRef<ModuleOp> importModel(const Model &model, MLIRContext &context,
                                  const ImportOptions &options) {
  context.loadDialect<QGDialect, func::FuncDialect>();
  return Importer(model, context, options).run();
}

} // namespace qcc::onnx
