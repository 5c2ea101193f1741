// QDQ export (QdqExport.h): edits the source ModelProto in place as the plan
// says, checks the result, raises the opset when a quantized form needs it
// (rewriting the few operators whose meaning changed on the way), and writes
// the model atomically. The source is validated by loadModel first, so the
// protobuf edited here has already passed qcc's size, type and graph checks.
#include "importers/onnx/QdqExport.h"

#include "importers/onnx/OnnxModel.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <map>
#include <new>
#include <queue>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <tuple>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>

namespace qcc::onnx {

namespace {

using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

/// TensorProto.DataType codes. libonnx-dev 1.12's enum stops at BFLOAT16, but
/// data_type and elem_type are plain int32 fields, so the newer codes (FP8,
/// 4-bit) are written as numbers.
enum ElementType : int32_t {
  kFloat = 1,
  kUInt8 = 2,
  kInt8 = 3,
  kUInt16 = 4,
  kInt16 = 5,
  kInt64 = 7,
  kFloat16 = 10,
  kDouble = 11,
  kFloat8E4M3FN = 17,
  kFloat8E5M2 = 19,
  kUInt4 = 21,
  kInt4 = 22,
};

/// Errors inside the exporter unwind to exportQdqModel, which hands them to
/// the caller as a value. Validation is deeply nested (plan entry, site,
/// tensor, element), and the library is built with exceptions for protobuf
/// anyway; nothing outside this file sees the exception.
struct ExportError {
  std::string message;
};

[[noreturn]] void fail(std::string message) {
  throw ExportError{std::move(message)};
}

std::string quote(const std::string &name) { return "'" + name + "'"; }

bool isDefaultDomain(const std::string &domain) {
  return domain.empty() || domain == "ai.onnx";
}

std::string shapeString(std::span<const int64_t> dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

//===----------------------------------------------------------------------===//
// Tensor encoding.
//===----------------------------------------------------------------------===//

int32_t storageType(rt::Format format) {
  switch (format) {
  case rt::Format::I8:
    return kInt8;
  case rt::Format::U8:
    return kUInt8;
  case rt::Format::I4:
    return kInt4;
  case rt::Format::U4:
    return kUInt4;
  case rt::Format::I16:
    return kInt16;
  case rt::Format::U16:
    return kUInt16;
  case rt::Format::F8E4M3FN:
    return kFloat8E4M3FN;
  case rt::Format::F8E5M2:
    return kFloat8E5M2;
  case rt::Format::NF4:
    break;
  }
  return 0;
}

/// The ONNX opset that first accepts `format` in QuantizeLinear and
/// DequantizeLinear, and the IR version that first has its element type.
int64_t opsetForFormat(rt::Format format) {
  if (rt::isFloat8Format(format))
    return 19;
  return rt::formatBits(format) == 8 ? 10 : 21;
}
int64_t irForFormat(rt::Format format) {
  if (rt::isFloat8Format(format))
    return 9;
  return rt::formatBits(format) == 4 ? 10 : 0;
}

/// Raw little-endian bytes of codes in the ONNX layout of `format`: 4-bit
/// values two per byte over the flat tensor (no per-row padding, unlike
/// qcc's own packing), FP8 codes as the raw bytes they are.
std::string encodeCodes(std::span<const int32_t> codes, rt::Format format) {
  const unsigned bits = rt::formatBits(format);
  if (bits == 4) {
    if (codes.empty())
      return {};
    std::vector<uint8_t> packed =
        rt::packInt4(codes, static_cast<int64_t>(codes.size()));
    return std::string(packed.begin(), packed.end());
  }
  const size_t width = bits / 8;
  std::string raw(codes.size() * width, '\0');
  for (size_t i = 0; i < codes.size(); ++i) {
    const uint16_t value = static_cast<uint16_t>(codes[i]);
    raw[i * width] = static_cast<char>(value & 0xFF);
    if (width == 2)
      raw[i * width + 1] = static_cast<char>(value >> 8);
  }
  return raw;
}

/// Raw bytes of float values stored as `type` (float, float16 or double).
std::string encodeFloats(std::span<const float> values, int32_t type) {
  std::string raw;
  if (type == kFloat16) {
    raw.resize(values.size() * 2);
    for (size_t i = 0; i < values.size(); ++i) {
      const uint16_t bits = rt::encodeHalf(values[i]);
      std::memcpy(raw.data() + i * 2, &bits, 2);
    }
  } else if (type == kDouble) {
    raw.resize(values.size() * 8);
    for (size_t i = 0; i < values.size(); ++i) {
      const double value = values[i];
      std::memcpy(raw.data() + i * 8, &value, 8);
    }
  } else {
    raw.resize(values.size() * 4);
    std::memcpy(raw.data(), values.data(), raw.size());
  }
  return raw;
}

std::string encodeInt64s(std::span<const int64_t> values) {
  std::string raw(values.size() * 8, '\0');
  std::memcpy(raw.data(), values.data(), raw.size());
  return raw;
}

std::string typeName(int32_t type) {
  return std::string(dataTypeName(static_cast<DataType>(type)));
}

//===----------------------------------------------------------------------===//
// Attributes.
//===----------------------------------------------------------------------===//

const AttributeProto *findAttribute(const NodeProto &node,
                                    const std::string &name) {
  for (const AttributeProto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

void removeAttribute(NodeProto &node, const std::string &name) {
  auto *attrs = node.mutable_attribute();
  for (int i = 0; i < attrs->size(); ++i)
    if (attrs->Get(i).name() == name) {
      attrs->DeleteSubrange(i, 1);
      return;
    }
}

AttributeProto *replaceAttribute(NodeProto &node, const std::string &name,
                                 AttributeProto::AttributeType type) {
  removeAttribute(node, name);
  AttributeProto *attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(type);
  return attr;
}

void setIntAttribute(NodeProto &node, const std::string &name, int64_t value) {
  replaceAttribute(node, name, AttributeProto::INT)->set_i(value);
}

void setStringAttribute(NodeProto &node, const std::string &name,
                        const std::string &value) {
  replaceAttribute(node, name, AttributeProto::STRING)->set_s(value);
}

/// Deletes the elements matching `predicate`, keeping the others in order,
/// in one pass (a model can lose thousands of initializers at once).
template <typename T, typename Predicate>
void eraseIf(google::protobuf::RepeatedPtrField<T> &field,
             Predicate predicate) {
  auto end = std::stable_partition(
      field.pointer_begin(), field.pointer_end(),
      [&](const T *element) { return !predicate(*element); });
  const int keep = static_cast<int>(end - field.pointer_begin());
  field.DeleteSubrange(keep, field.size() - keep);
}

/// Calls `visit` on every subgraph held by the node's attributes.
template <typename Visit> void forEachSubgraph(NodeProto &node, Visit visit) {
  for (AttributeProto &attr : *node.mutable_attribute()) {
    if (attr.has_g())
      visit(*attr.mutable_g());
    for (GraphProto &graph : *attr.mutable_graphs())
      visit(graph);
  }
}

/// Every node input read anywhere inside `graph` (recursively), which
/// includes the outer-scope values a subgraph captures.
void collectSubgraphInputs(const GraphProto &graph,
                           std::vector<std::string> &names) {
  for (const NodeProto &node : graph.node()) {
    for (const std::string &input : node.input())
      if (!input.empty())
        names.push_back(input);
    for (const AttributeProto &attr : node.attribute()) {
      if (attr.has_g())
        collectSubgraphInputs(attr.g(), names);
      for (const GraphProto &sub : attr.graphs())
        collectSubgraphInputs(sub, names);
    }
  }
}

//===----------------------------------------------------------------------===//
// The exporter.
//===----------------------------------------------------------------------===//

/// One plan site resolved against the source graph.
struct Site {
  NodeProto *node = nullptr;
  int input = 0;
  int64_t position = 0; ///< the node's index in the source graph
  std::string label;    ///< "input 1 of node 'mm' (MatMul)"
};

/// Order key of a node in the final topological sort: new nodes sort just
/// before the earliest site they feed, originals keep their relative order.
struct Anchor {
  int64_t position = 0;
  int64_t sequence = 0;
  bool operator<(const Anchor &other) const {
    return std::tie(position, sequence) <
           std::tie(other.position, other.sequence);
  }
};

class Exporter {
public:
  explicit Exporter(ModelProto &model);
  void apply(const QdqPlan &plan);

private:
  // Sites and names.
  Site resolveSite(const NodeInput &site, const std::string &what);
  NodeProto *findNode(const std::string &name, const std::string &what);
  std::string uniqueName(const std::string &base);
  void collectNames(const GraphProto &graph);
  TensorProto *findInitializer(const std::string &name);
  TensorProto *addInitializer(const std::string &base, int32_t type,
                              std::span<const int64_t> dims, std::string raw);
  NodeProto *addNode(const std::string &opType, const std::string &baseName,
                     std::vector<std::string> inputs,
                     std::vector<std::string> outputs, int64_t position);
  void moveAnchorBefore(NodeProto *node, int64_t position);
  void require(int64_t opset, const std::string &reason);
  int32_t activationFloatType(const std::string &tensor,
                              const std::string &label);

  // Plan entries.
  void removeNode(NodeProto *node, const std::string &name);
  void replaceFloats(const FloatReplacement &entry, const Site &site);
  void quantizeWeight(const WeightQuant &entry, const Site &site);
  void emitDequantizeLinear(const WeightQuant &entry, const Site &site,
                            const std::string &original, int32_t floatType);
  void emitMatMulNBits(const WeightQuant &entry, const Site &site,
                       const std::string &original, int32_t floatType);
  void insertInputScale(const InputScale &entry, const Site &site);
  void insertActivationQuant(const ActivationQuant &entry, const Site &site);
  void insertDynamicQuant(const Site &site);

  // Finishing.
  void removeDeadValues();
  void sortAndValidate();
  void raiseOpset();
  void upgradeGraph(GraphProto &graph, int64_t from, int64_t to);
  void upgradeNode(GraphProto &graph, NodeProto &node, int64_t from, int64_t to,
                   std::vector<NodeProto *> &before,
                   std::vector<NodeProto *> &after);
  void moveAttributeToInput(GraphProto &graph, NodeProto &node,
                            const std::string &attr, int position);

  ModelProto &model;
  GraphProto &graph;
  std::unordered_set<std::string> usedNames;
  /// Node names as qcc reports them: the name, or "<op_type>#<index>" for
  /// unnamed nodes, counted per op type in file order (as loadModel does).
  std::unordered_map<std::string, std::vector<int>> nodesByName;
  std::unordered_map<std::string, TensorProto *> initializers;
  /// Element type and dims of values whose type the model declares.
  std::unordered_map<std::string, std::pair<int32_t, std::vector<int64_t>>>
      declaredTypes;
  std::unordered_map<const NodeProto *, Anchor> anchors;
  int64_t nextSequence = 0;
  std::unordered_set<const NodeProto *> removedNodes;
  /// Values that may have lost their last reader or producer: replaced
  /// initializers, inputs and outputs of removed nodes.
  std::set<std::string> maybeDead;

  int64_t requiredOpset = 0;
  std::string opsetReason;
  int64_t requiredIr = 0;
  bool usesMicrosoftDomain = false;

  // Shared insertions: one Mul, Q/DQ pair or dynamic pair per tensor and
  // parameters, read by every site that asks for the same thing.
  std::map<std::tuple<std::string, std::vector<uint32_t>, int32_t>,
           std::vector<NodeProto *>>
      inputScales;
  std::map<std::tuple<std::string, rt::Format, uint32_t, int32_t, int32_t>,
           std::vector<NodeProto *>>
      activationPairs;
  std::map<std::string, std::vector<NodeProto *>> dynamicPairs;
};

Exporter::Exporter(ModelProto &model)
    : model(model), graph(*model.mutable_graph()) {
  collectNames(graph);
  std::unordered_map<std::string, int> unnamedCounts;
  for (int i = 0; i < graph.node_size(); ++i) {
    NodeProto *node = graph.mutable_node(i);
    const std::string name =
        node->name().empty()
            ? node->op_type() + "#" +
                  std::to_string(unnamedCounts[node->op_type()]++)
            : node->name();
    nodesByName[name].push_back(i);
    usedNames.insert(name);
    anchors[node] = Anchor{i, INT64_MAX};
  }
  for (TensorProto &tensor : *graph.mutable_initializer())
    initializers[tensor.name()] = &tensor;
  auto declare = [&](const ::onnx::ValueInfoProto &info) {
    if (!info.type().has_tensor_type())
      return;
    const auto &tensorType = info.type().tensor_type();
    std::vector<int64_t> dims;
    if (tensorType.has_shape())
      for (const auto &dim : tensorType.shape().dim())
        dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    else
      dims.push_back(-2); // rank unknown
    declaredTypes[info.name()] = {tensorType.elem_type(), std::move(dims)};
  };
  for (const auto &info : graph.input())
    declare(info);
  for (const auto &info : graph.value_info())
    declare(info);
  for (const auto &info : graph.output())
    declare(info);
  for (const TensorProto &tensor : graph.initializer())
    declaredTypes[tensor.name()] = {
        tensor.data_type(), {tensor.dims().begin(), tensor.dims().end()}};
}

void Exporter::collectNames(const GraphProto &g) {
  for (const auto &info : g.input())
    usedNames.insert(info.name());
  for (const auto &info : g.output())
    usedNames.insert(info.name());
  for (const auto &info : g.value_info())
    usedNames.insert(info.name());
  for (const TensorProto &tensor : g.initializer())
    usedNames.insert(tensor.name());
  for (const auto &sparse : g.sparse_initializer())
    usedNames.insert(sparse.values().name());
  for (const NodeProto &node : g.node()) {
    usedNames.insert(node.name());
    usedNames.insert(node.input().begin(), node.input().end());
    usedNames.insert(node.output().begin(), node.output().end());
    for (const AttributeProto &attr : node.attribute()) {
      if (attr.has_g())
        collectNames(attr.g());
      for (const GraphProto &sub : attr.graphs())
        collectNames(sub);
    }
  }
}

std::string Exporter::uniqueName(const std::string &base) {
  std::string name = base;
  for (int suffix = 1; usedNames.count(name); ++suffix)
    name = base + "_" + std::to_string(suffix);
  usedNames.insert(name);
  return name;
}

NodeProto *Exporter::findNode(const std::string &name,
                              const std::string &what) {
  auto it = nodesByName.find(name);
  if (it == nodesByName.end())
    fail(what + ": the model has no node named " + quote(name));
  if (it->second.size() > 1)
    fail(what + ": " + std::to_string(it->second.size()) + " nodes are named " +
         quote(name) + "; the name is ambiguous");
  return graph.mutable_node(it->second.front());
}

Site Exporter::resolveSite(const NodeInput &site, const std::string &what) {
  NodeProto *node = findNode(site.node, what);
  Site resolved;
  resolved.node = node;
  resolved.input = site.input;
  resolved.position = anchors[node].position;
  resolved.label = "input " + std::to_string(site.input) + " of node " +
                   quote(site.node) + " (" + node->op_type() + ")";
  if (site.input < 0 || site.input >= node->input_size())
    fail(what + ": node " + quote(site.node) + " (" + node->op_type() +
         ") has no input " + std::to_string(site.input) + "; it has " +
         std::to_string(node->input_size()));
  if (node->input(site.input).empty())
    fail(what + ": " + resolved.label + " is an omitted optional input");
  return resolved;
}

TensorProto *Exporter::findInitializer(const std::string &name) {
  auto it = initializers.find(name);
  return it == initializers.end() ? nullptr : it->second;
}

TensorProto *Exporter::addInitializer(const std::string &base, int32_t type,
                                      std::span<const int64_t> dims,
                                      std::string raw) {
  TensorProto *tensor = graph.add_initializer();
  tensor->set_name(uniqueName(base));
  tensor->set_data_type(type);
  for (int64_t dim : dims)
    tensor->add_dims(dim);
  tensor->set_raw_data(std::move(raw));
  initializers[tensor->name()] = tensor;
  return tensor;
}

NodeProto *Exporter::addNode(const std::string &opType,
                             const std::string &baseName,
                             std::vector<std::string> inputs,
                             std::vector<std::string> outputs,
                             int64_t position) {
  NodeProto *node = graph.add_node();
  node->set_op_type(opType);
  node->set_name(uniqueName(baseName));
  for (std::string &input : inputs)
    node->add_input(std::move(input));
  for (std::string &output : outputs)
    node->add_output(std::move(output));
  anchors[node] = Anchor{position, nextSequence++};
  return node;
}

void Exporter::moveAnchorBefore(NodeProto *node, int64_t position) {
  Anchor &anchor = anchors[node];
  anchor.position = std::min(anchor.position, position);
}

void Exporter::require(int64_t opset, const std::string &reason) {
  if (opset > requiredOpset) {
    requiredOpset = opset;
    opsetReason = reason;
  }
}

/// The float type of an activation: the model's declaration when it has
/// one, float32 otherwise (the common case for intermediate values).
int32_t Exporter::activationFloatType(const std::string &tensor,
                                      const std::string &label) {
  auto it = declaredTypes.find(tensor);
  const int32_t type = it == declaredTypes.end() ? kFloat : it->second.first;
  if (type != kFloat && type != kFloat16)
    fail(label + ": " + quote(tensor) + " is " + typeName(type) +
         "; only float and float16 activations can be quantized or scaled");
  return type;
}

void Exporter::removeNode(NodeProto *node, const std::string &name) {
  const std::string what = "removedNodes: node " + quote(name);
  if (node->input_size() == 0 || node->input(0).empty())
    fail(what + " (" + node->op_type() + ") has no input 0 to pass through");
  if (node->output_size() == 0 || node->output(0).empty())
    fail(what + " (" + node->op_type() + ") has no output 0");
  std::unordered_set<std::string> graphOutputs;
  for (const auto &info : graph.output())
    graphOutputs.insert(info.name());
  std::vector<std::string> readers;
  collectSubgraphInputs(graph, readers);
  const std::unordered_set<std::string> read(readers.begin(), readers.end());
  for (int i = 1; i < node->output_size(); ++i) {
    const std::string &output = node->output(i);
    if (!output.empty() && (read.count(output) || graphOutputs.count(output)))
      fail(what + " (" + node->op_type() + "): its output " +
           std::to_string(i) + " " + quote(output) +
           " is still used; only output 0 can be passed through");
  }
  const std::string from = node->output(0), to = node->input(0);
  std::function<void(GraphProto &)> rename = [&](GraphProto &g) {
    for (NodeProto &other : *g.mutable_node()) {
      for (std::string &input : *other.mutable_input())
        if (input == from)
          input = to;
      forEachSubgraph(other, rename);
    }
  };
  rename(graph);
  for (const std::string &input : node->input())
    maybeDead.insert(input);
  maybeDead.insert(node->output().begin(), node->output().end());
  if (graphOutputs.count(from)) {
    // The model's interface keeps its output name: the node becomes an
    // Identity that forwards its input 0.
    node->set_op_type("Identity");
    node->clear_domain();
    node->clear_attribute();
    node->mutable_input()->DeleteSubrange(1, node->input_size() - 1);
    node->mutable_output()->DeleteSubrange(1, node->output_size() - 1);
    return;
  }
  removedNodes.insert(node);
}

void Exporter::replaceFloats(const FloatReplacement &entry, const Site &site) {
  const std::string what = "floats: " + site.label;
  const std::string original = site.node->input(site.input);
  TensorProto *tensor = findInitializer(original);
  if (!tensor)
    fail(what + " reads " + quote(original) +
         ", which is not an initializer; only initializers can be replaced");
  const int32_t type = tensor->data_type();
  if (type != kFloat && type != kFloat16 && type != kDouble)
    fail(what + ": initializer " + quote(original) + " is " + typeName(type) +
         ", not a float type");
  for (int64_t dim : entry.shape)
    if (dim < 0)
      fail(what + ": negative dimension in shape " + shapeString(entry.shape));
  if (rt::elementCount(entry.shape) !=
      static_cast<int64_t>(entry.values.size()))
    fail(what + ": " + std::to_string(entry.values.size()) +
         " values do not fill shape " + shapeString(entry.shape));
  TensorProto *replacement =
      addInitializer(original + "_replaced", type, entry.shape,
                     encodeFloats(entry.values, type));
  site.node->set_input(site.input, replacement->name());
  maybeDead.insert(original);
}

void Exporter::quantizeWeight(const WeightQuant &entry, const Site &site) {
  const std::string what = "weights: " + site.label;
  const rt::QuantParams &params = entry.params;
  const std::string original = site.node->input(site.input);
  if (params.format == rt::Format::NF4)
    fail(what + ": NF4 weights cannot be exported to ONNX; export to .mlir "
                "or use int4");
  TensorProto *tensor = findInitializer(original);
  if (!tensor)
    fail(what + " reads " + quote(original) +
         ", which is not an initializer; only initializer weights can be "
         "quantized");
  const std::vector<int64_t> dims(tensor->dims().begin(), tensor->dims().end());
  if (dims != entry.shape)
    fail(what + ": the plan's shape " + shapeString(entry.shape) +
         " does not match initializer " + quote(original) + " of shape " +
         shapeString(dims));
  const int32_t floatType = tensor->data_type();
  if (floatType != kFloat && floatType != kFloat16)
    fail(what + ": initializer " + quote(original) + " is " +
         typeName(floatType) +
         "; only float and float16 weights can be "
         "replaced by DequantizeLinear");

  // The plan comes from the compiler, but a wrong table here would write a
  // model that ONNX Runtime rejects or, worse, runs with the wrong numbers.
  const rt::Granularity &granularity = params.granularity;
  const int64_t rank = static_cast<int64_t>(dims.size());
  if (!granularity.isPerTensor() && granularity.axis >= rank)
    fail(what + ": quantization axis " + std::to_string(granularity.axis) +
         " is out of range for rank " + std::to_string(rank));
  if (granularity.blockSize < 0)
    fail(what + ": negative block size");
  const int64_t count = rt::elementCount(dims);
  if (static_cast<int64_t>(entry.codes.size()) != count)
    fail(what + ": " + std::to_string(entry.codes.size()) +
         " codes for a tensor of " + std::to_string(count) + " elements");
  const int64_t scaleCount =
      rt::elementCount(rt::scaleTableShape(dims, granularity));
  if (static_cast<int64_t>(params.scales.size()) != scaleCount)
    fail(what + ": " + std::to_string(params.scales.size()) +
         " scales where the granularity needs " + std::to_string(scaleCount));
  if (!params.zeroPoints.empty() &&
      static_cast<int64_t>(params.zeroPoints.size()) != scaleCount)
    fail(what + ": " + std::to_string(params.zeroPoints.size()) +
         " zero points for " + std::to_string(scaleCount) + " scales");
  const int32_t low = rt::codeMin(params.format),
                high = rt::codeMax(params.format);
  for (int64_t i = 0; i < count; ++i)
    if (entry.codes[i] < low || entry.codes[i] > high)
      fail(what + ": code " + std::to_string(entry.codes[i]) + " at index " +
           std::to_string(i) + " is outside the " +
           std::string(rt::formatName(params.format)) + " range");
  for (size_t i = 0; i < params.scales.size(); ++i)
    if (!std::isfinite(params.scales[i]) || params.scales[i] <= 0)
      fail(what + ": scale " + std::to_string(i) + " is " +
           std::to_string(params.scales[i]) +
           "; scales must be positive and finite");
  for (size_t i = 0; i < params.zeroPoints.size(); ++i) {
    const int32_t zp = params.zeroPoints[i];
    if (rt::isFloat8Format(params.format) ? zp != 0 : (zp < low || zp > high))
      fail(what + ": zero point " + std::to_string(zp) + " is not valid for " +
           std::string(rt::formatName(params.format)));
  }

  const int64_t blockSize = granularity.blockSize;
  const bool matMulNBits =
      entry.preferMatMulNBits &&
      (params.format == rt::Format::I4 || params.format == rt::Format::U4) &&
      site.node->op_type() == "MatMul" &&
      isDefaultDomain(site.node->domain()) && site.input == 1 && rank == 2 &&
      granularity.isPerBlock() && granularity.axis == 0 && blockSize >= 16 &&
      (blockSize & (blockSize - 1)) == 0;
  if (matMulNBits)
    emitMatMulNBits(entry, site, original, floatType);
  else
    emitDequantizeLinear(entry, site, original, floatType);
  maybeDead.insert(original);
}

void Exporter::emitDequantizeLinear(const WeightQuant &entry, const Site &site,
                                    const std::string &original,
                                    int32_t floatType) {
  const rt::QuantParams &params = entry.params;
  const rt::Granularity &granularity = params.granularity;
  const std::string format(rt::formatName(params.format));
  std::vector<int64_t> scaleDims;
  if (granularity.isPerAxis())
    scaleDims = {entry.shape[granularity.axis]};
  else if (granularity.isPerBlock())
    scaleDims = rt::scaleTableShape(entry.shape, granularity);

  require(opsetForFormat(params.format), format + " weight at " + site.label);
  if (granularity.isPerAxis())
    require(13, "the per-axis weight at " + site.label);
  if (granularity.isPerBlock())
    require(21, "the blocked weight at " + site.label);
  if (floatType == kFloat16)
    require(19, "the float16 weight at " + site.label);
  requiredIr = std::max(requiredIr, irForFormat(params.format));

  // The zero point is always written: unsigned formats need it even when it
  // is 0 (an omitted zero point means a uint8 input, not this type).
  std::vector<int32_t> zeroPoints = params.zeroPoints;
  if (zeroPoints.empty())
    zeroPoints.assign(params.scales.size(), 0);
  const int32_t type = storageType(params.format);
  TensorProto *codes =
      addInitializer(original + "_quantized", type, entry.shape,
                     encodeCodes(entry.codes, params.format));
  TensorProto *scales =
      addInitializer(original + "_scale", floatType, scaleDims,
                     encodeFloats(params.scales, floatType));
  TensorProto *zps = addInitializer(original + "_zero_point", type, scaleDims,
                                    encodeCodes(zeroPoints, params.format));
  NodeProto *dq =
      addNode("DequantizeLinear", original + "_DequantizeLinear",
              {codes->name(), scales->name(), zps->name()},
              {uniqueName(original + "_dequantized")}, site.position);
  if (!granularity.isPerTensor())
    setIntAttribute(*dq, "axis", granularity.axis);
  if (granularity.isPerBlock())
    setIntAttribute(*dq, "block_size", granularity.blockSize);
  site.node->set_input(site.input, dq->output(0));
}

/// com.microsoft MatMulNBits (ONNX Runtime contrib op): B is uint8
/// [N, blocks, blockSize / 2] holding the codes of W transposed to N x K,
/// two per byte with the lower K index in the low nibble; scales are
/// [N * blocks], N-major; zero points are unsigned 4-bit, packed per row of N
/// ([N * ceil(blocks / 2)]) and default to 8 when the input is absent. Signed
/// int4 codes c are stored as c + 8 with zero point z + 8, which dequantizes
/// to the same (c - z) * scale.
void Exporter::emitMatMulNBits(const WeightQuant &entry, const Site &site,
                               const std::string &original, int32_t floatType) {
  const rt::QuantParams &params = entry.params;
  const int64_t k = entry.shape[0], n = entry.shape[1];
  const int64_t blockSize = params.granularity.blockSize;
  const int64_t blocks = (k + blockSize - 1) / blockSize;
  const int32_t offset = params.format == rt::Format::I4 ? 8 : 0;
  auto zeroPoint = [&](int64_t block, int64_t column) {
    return params.zeroPoint(block * n + column) + offset;
  };

  std::string packed(static_cast<size_t>(n * blocks * (blockSize / 2)), '\0');
  for (int64_t column = 0; column < n; ++column)
    for (int64_t row = 0; row < blocks * blockSize; ++row) {
      const int64_t block = row / blockSize;
      // Rows past K pad the last block; they meet no activation, but the
      // zero point makes them dequantize to 0 all the same.
      const int32_t code = row < k ? entry.codes[row * n + column] + offset
                                   : zeroPoint(block, column);
      const int64_t byte =
          (column * blocks + block) * (blockSize / 2) + (row % blockSize) / 2;
      packed[byte] = static_cast<char>(static_cast<uint8_t>(packed[byte]) |
                                       (row % 2 == 0 ? code : code << 4));
    }
  std::vector<float> scales(n * blocks);
  for (int64_t column = 0; column < n; ++column)
    for (int64_t block = 0; block < blocks; ++block)
      scales[column * blocks + block] = params.scales[block * n + column];

  bool defaultZeroPoints = true;
  const int64_t zpRowBytes = (blocks + 1) / 2;
  std::string zpBytes(static_cast<size_t>(n * zpRowBytes), '\0');
  for (int64_t column = 0; column < n; ++column)
    for (int64_t block = 0; block < blocks; ++block) {
      const int32_t zp = zeroPoint(block, column);
      defaultZeroPoints &= zp == 8;
      const int64_t byte = column * zpRowBytes + block / 2;
      zpBytes[byte] = static_cast<char>(static_cast<uint8_t>(zpBytes[byte]) |
                                        (block % 2 == 0 ? zp : zp << 4));
    }

  const int64_t bDims[] = {n, blocks, blockSize / 2};
  TensorProto *b =
      addInitializer(original + "_quantized", kUInt8, bDims, std::move(packed));
  const int64_t scaleDims[] = {n * blocks};
  TensorProto *s = addInitializer(original + "_scale", floatType, scaleDims,
                                  encodeFloats(scales, floatType));
  NodeProto &node = *site.node;
  node.set_input(1, b->name());
  node.add_input(s->name());
  if (!defaultZeroPoints) {
    const int64_t zpDims[] = {n * zpRowBytes};
    node.add_input(addInitializer(original + "_zero_point", kUInt8, zpDims,
                                  std::move(zpBytes))
                       ->name());
  }
  node.set_op_type("MatMulNBits");
  node.set_domain("com.microsoft");
  node.clear_attribute();
  setIntAttribute(node, "K", k);
  setIntAttribute(node, "N", n);
  setIntAttribute(node, "bits", 4);
  setIntAttribute(node, "block_size", blockSize);
  usesMicrosoftDomain = true;
}

void Exporter::insertInputScale(const InputScale &entry, const Site &site) {
  const std::string what = "inputScales: " + site.label;
  const std::string tensor = site.node->input(site.input);
  if (entry.factors.empty())
    fail(what + ": no factors");
  for (float factor : entry.factors)
    if (!std::isfinite(factor))
      fail(what + ": factors must be finite");
  const int32_t type = activationFloatType(tensor, what);
  auto declared = declaredTypes.find(tensor);
  if (declared != declaredTypes.end()) {
    const std::vector<int64_t> &dims = declared->second.second;
    if (dims.empty() ||
        (dims.back() >= 0 &&
         dims.back() != static_cast<int64_t>(entry.factors.size())))
      fail(what + ": " + std::to_string(entry.factors.size()) +
           " factors do not match the last axis of " + quote(tensor) +
           " of shape " + shapeString(dims));
  }

  std::vector<uint32_t> key(entry.factors.size());
  std::memcpy(key.data(), entry.factors.data(), key.size() * 4);
  std::vector<NodeProto *> &shared = inputScales[{tensor, key, type}];
  if (shared.empty()) {
    const int64_t dims[] = {static_cast<int64_t>(entry.factors.size())};
    TensorProto *factors = addInitializer(tensor + "_input_scale", type, dims,
                                          encodeFloats(entry.factors, type));
    shared.push_back(addNode("Mul", tensor + "_Mul", {tensor, factors->name()},
                             {uniqueName(tensor + "_scaled")}, site.position));
  }
  moveAnchorBefore(shared.front(), site.position);
  site.node->set_input(site.input, shared.front()->output(0));
}

void Exporter::insertActivationQuant(const ActivationQuant &entry,
                                     const Site &site) {
  const std::string what = "activations: " + site.label;
  const rt::Format format = entry.format;
  const std::string formatText(rt::formatName(format));
  if (format == rt::Format::NF4)
    fail(what + ": NF4 activations cannot be exported to ONNX");
  if (!std::isfinite(entry.scale) || entry.scale <= 0)
    fail(what + ": scale " + std::to_string(entry.scale) +
         " must be positive and finite");
  if (rt::isFloat8Format(format) ? entry.zeroPoint != 0
                                 : (entry.zeroPoint < rt::codeMin(format) ||
                                    entry.zeroPoint > rt::codeMax(format)))
    fail(what + ": zero point " + std::to_string(entry.zeroPoint) +
         " is not valid for " + formatText);
  const std::string tensor = site.node->input(site.input);
  const int32_t type = activationFloatType(tensor, what);
  require(opsetForFormat(format), formatText + " activation at " + site.label);
  if (type == kFloat16)
    require(19, "the float16 activation at " + site.label);
  requiredIr = std::max(requiredIr, irForFormat(format));

  uint32_t scaleBits;
  std::memcpy(&scaleBits, &entry.scale, 4);
  std::vector<NodeProto *> &shared =
      activationPairs[{tensor, format, scaleBits, entry.zeroPoint, type}];
  if (shared.empty()) {
    const float scale = entry.scale;
    const int32_t zeroPoint = entry.zeroPoint;
    TensorProto *scaleTensor = addInitializer(tensor + "_scale", type, {},
                                              encodeFloats({&scale, 1}, type));
    TensorProto *zpTensor =
        addInitializer(tensor + "_zero_point", storageType(format), {},
                       encodeCodes({&zeroPoint, 1}, format));
    NodeProto *q = addNode("QuantizeLinear", tensor + "_QuantizeLinear",
                           {tensor, scaleTensor->name(), zpTensor->name()},
                           {uniqueName(tensor + "_quantized")}, site.position);
    NodeProto *dq =
        addNode("DequantizeLinear", tensor + "_DequantizeLinear",
                {q->output(0), scaleTensor->name(), zpTensor->name()},
                {uniqueName(tensor + "_dequantized")}, site.position);
    shared = {q, dq};
  }
  for (NodeProto *node : shared)
    moveAnchorBefore(node, site.position);
  site.node->set_input(site.input, shared.back()->output(0));
}

void Exporter::insertDynamicQuant(const Site &site) {
  const std::string what = "dynamicActivations: " + site.label;
  const std::string tensor = site.node->input(site.input);
  if (activationFloatType(tensor, what) != kFloat)
    fail(what + ": DynamicQuantizeLinear needs a float32 input; " +
         quote(tensor) + " is float16");
  require(11, "the dynamic quantization at " + site.label);
  std::vector<NodeProto *> &shared = dynamicPairs[tensor];
  if (shared.empty()) {
    NodeProto *q = addNode(
        "DynamicQuantizeLinear", tensor + "_DynamicQuantizeLinear", {tensor},
        {uniqueName(tensor + "_quantized"), uniqueName(tensor + "_scale"),
         uniqueName(tensor + "_zero_point")},
        site.position);
    NodeProto *dq =
        addNode("DequantizeLinear", tensor + "_DequantizeLinear",
                {q->output(0), q->output(1), q->output(2)},
                {uniqueName(tensor + "_dequantized")}, site.position);
    shared = {q, dq};
  }
  for (NodeProto *node : shared)
    moveAnchorBefore(node, site.position);
  site.node->set_input(site.input, shared.back()->output(0));
}

/// Drops what the edits orphaned: initializers nobody reads any more (the
/// float originals of replaced weights, the parameters of removed nodes) and
/// value_info entries for values that no longer exist. Values that were
/// unused in the source stay as they were.
void Exporter::removeDeadValues() {
  std::vector<std::string> readers;
  for (const NodeProto &node : graph.node())
    if (!removedNodes.count(&node)) {
      readers.insert(readers.end(), node.input().begin(), node.input().end());
      for (const AttributeProto &attr : node.attribute()) {
        if (attr.has_g())
          collectSubgraphInputs(attr.g(), readers);
        for (const GraphProto &sub : attr.graphs())
          collectSubgraphInputs(sub, readers);
      }
    }
  std::unordered_set<std::string> live(readers.begin(), readers.end());
  for (const auto &info : graph.output())
    live.insert(info.name());
  for (const NodeProto &node : graph.node())
    if (!removedNodes.count(&node))
      live.insert(node.output().begin(), node.output().end());
  for (const auto &info : graph.input())
    if (!initializers.count(info.name()))
      live.insert(info.name()); // the model's interface stays as it was

  auto dead = [&](const std::string &name) {
    return maybeDead.count(name) && !live.count(name);
  };
  for (const std::string &name : maybeDead)
    if (!live.count(name))
      initializers.erase(name);
  eraseIf(*graph.mutable_initializer(),
          [&](const TensorProto &tensor) { return dead(tensor.name()); });
  eraseIf(*graph.mutable_input(),
          [&](const auto &info) { return dead(info.name()); });
  eraseIf(*graph.mutable_value_info(),
          [&](const auto &info) { return dead(info.name()); });
}

/// Puts the nodes in topological order (originals in their relative order,
/// new nodes just before their first reader) and checks what the ONNX
/// checker would: every value has exactly one producer and every input is
/// defined.
void Exporter::sortAndValidate() {
  // The graph keeps owning its nodes until the order is known to be valid.
  std::vector<NodeProto *> kept;
  for (NodeProto &node : *graph.mutable_node())
    if (!removedNodes.count(&node))
      kept.push_back(&node);

  std::unordered_set<std::string> defined;
  for (const auto &info : graph.input())
    defined.insert(info.name());
  for (const TensorProto &tensor : graph.initializer())
    defined.insert(tensor.name());
  for (const auto &sparse : graph.sparse_initializer())
    defined.insert(sparse.values().name());
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < kept.size(); ++i)
    for (const std::string &output : kept[i]->output()) {
      if (output.empty())
        continue;
      if (defined.count(output) || !producer.emplace(output, i).second)
        fail("value " + quote(output) + " (output of node " +
             quote(kept[i]->name()) + ") is defined more than once");
    }

  // Kahn's algorithm; ties go to the smallest anchor.
  std::vector<std::vector<size_t>> readersOf(kept.size());
  std::vector<size_t> pending(kept.size(), 0);
  for (size_t i = 0; i < kept.size(); ++i) {
    std::vector<std::string> inputs(kept[i]->input().begin(),
                                    kept[i]->input().end());
    for (const std::string &input : inputs)
      if (!input.empty() && !defined.count(input) && !producer.count(input))
        fail("node " + quote(kept[i]->name()) + " (" + kept[i]->op_type() +
             ") reads " + quote(input) +
             ", which no node, initializer or graph input defines");
    forEachSubgraph(
        *kept[i], [&](GraphProto &sub) { collectSubgraphInputs(sub, inputs); });
    std::unordered_set<size_t> sources;
    for (const std::string &input : inputs) {
      auto it = producer.find(input);
      if (it != producer.end() && it->second != i)
        sources.insert(it->second);
    }
    for (size_t source : sources)
      readersOf[source].push_back(i);
    pending[i] = sources.size();
  }
  using Entry = std::pair<Anchor, size_t>;
  auto later = [](const Entry &a, const Entry &b) { return b.first < a.first; };
  std::priority_queue<Entry, std::vector<Entry>, decltype(later)> ready(later);
  for (size_t i = 0; i < kept.size(); ++i)
    if (pending[i] == 0)
      ready.push({anchors[kept[i]], i});
  std::vector<NodeProto *> sorted;
  while (!ready.empty()) {
    const size_t i = ready.top().second;
    ready.pop();
    sorted.push_back(kept[i]);
    for (size_t reader : readersOf[i])
      if (--pending[reader] == 0)
        ready.push({anchors[kept[reader]], reader});
  }
  if (sorted.size() != kept.size())
    for (size_t i = 0; i < kept.size(); ++i)
      if (pending[i] != 0)
        fail("the exported graph has a cycle through node " +
             quote(kept[i]->name()));
  for (const auto &info : graph.output())
    if (!defined.count(info.name()) && !producer.count(info.name()))
      fail("graph output " + quote(info.name()) + " is not produced");

  const int count = graph.node_size();
  std::vector<NodeProto *> owned(count);
  graph.mutable_node()->ExtractSubrange(0, count, owned.data());
  for (NodeProto *node : owned)
    if (removedNodes.count(node))
      delete node;
  removedNodes.clear();
  for (NodeProto *node : sorted)
    graph.mutable_node()->AddAllocated(node);
}

//===----------------------------------------------------------------------===//
// Raising the opset.
//===----------------------------------------------------------------------===//

/// The IR version that introduced each default-domain opset (ONNX's
/// versioning table), so a raised opset comes with an IR that knows it.
int64_t irVersionForOpset(int64_t opset) {
  if (opset >= 21)
    return 10;
  if (opset >= 19)
    return 9;
  if (opset >= 15)
    return 8;
  if (opset >= 12)
    return 7;
  if (opset >= 11)
    return 6;
  return 5;
}

/// Raising the default-domain opset changes the meaning of every operator
/// whose definition changed in between. Most changes only add types; the
/// ones below moved an attribute to an input or changed the semantics, and
/// are rewritten (or refused) so the model computes the same function.
void Exporter::raiseOpset() {
  ::onnx::OperatorSetIdProto *defaultOpset = nullptr;
  for (auto &opset : *model.mutable_opset_import())
    if (isDefaultDomain(opset.domain()))
      defaultOpset = &opset;
  if (!defaultOpset && nextSequence > 0) {
    // A model of custom-domain operators only, now with ONNX operators too.
    defaultOpset = model.add_opset_import();
    defaultOpset->set_domain("");
    defaultOpset->set_version(std::max<int64_t>(requiredOpset, 13));
  }
  const int64_t current = defaultOpset ? defaultOpset->version() : 0;
  if (defaultOpset && requiredOpset > current) {
    if (current < 11)
      fail(opsetReason + " needs opset " + std::to_string(requiredOpset) +
           ", but the model is opset " + std::to_string(current) +
           "; convert it to opset 11 or newer first (onnx.version_converter)");
    upgradeGraph(graph, current, requiredOpset);
    defaultOpset->set_version(requiredOpset);
  }
  if (usesMicrosoftDomain) {
    bool found = false;
    for (auto &opset : *model.mutable_opset_import())
      if (opset.domain() == "com.microsoft") {
        found = true;
        opset.set_version(std::max<int64_t>(opset.version(), 1));
      }
    if (!found) {
      auto *opset = model.add_opset_import();
      opset->set_domain("com.microsoft");
      opset->set_version(1);
    }
  }
  const int64_t ir = std::max(
      {model.ir_version(), requiredIr,
       requiredOpset > current ? irVersionForOpset(requiredOpset) : 0});
  model.set_ir_version(ir);
}

void Exporter::upgradeGraph(GraphProto &g, int64_t from, int64_t to) {
  const int count = g.node_size();
  std::vector<NodeProto *> nodes(count);
  g.mutable_node()->ExtractSubrange(0, count, nodes.data());
  std::vector<NodeProto *> result;
  try {
    for (NodeProto *node : nodes) {
      forEachSubgraph(*node,
                      [&](GraphProto &sub) { upgradeGraph(sub, from, to); });
      std::vector<NodeProto *> before, after;
      if (isDefaultDomain(node->domain()))
        upgradeNode(g, *node, from, to, before, after);
      result.insert(result.end(), before.begin(), before.end());
      result.push_back(node);
      result.insert(result.end(), after.begin(), after.end());
    }
  } catch (...) {
    // Give the nodes back so the model stays whole while the error unwinds.
    for (NodeProto *node : nodes)
      if (std::find(result.begin(), result.end(), node) == result.end())
        result.push_back(node);
    for (NodeProto *node : result)
      g.mutable_node()->AddAllocated(node);
    throw;
  }
  for (NodeProto *node : result)
    g.mutable_node()->AddAllocated(node);
}

void Exporter::moveAttributeToInput(GraphProto &g, NodeProto &node,
                                    const std::string &attr, int position) {
  const AttributeProto *found = findAttribute(node, attr);
  if (!found)
    return;
  const std::string base =
      (node.name().empty() ? node.op_type() : node.name()) + "_" + attr;
  TensorProto *tensor = g.add_initializer();
  tensor->set_name(uniqueName(base));
  if (found->type() == AttributeProto::FLOAT) {
    tensor->set_data_type(kFloat);
    const float value = found->f();
    tensor->set_raw_data(encodeFloats({&value, 1}, kFloat));
  } else {
    tensor->set_data_type(kInt64);
    tensor->add_dims(found->ints_size());
    const std::vector<int64_t> values(found->ints().begin(),
                                      found->ints().end());
    tensor->set_raw_data(encodeInt64s(values));
  }
  while (node.input_size() <= position)
    node.add_input("");
  node.set_input(position, tensor->name());
  removeAttribute(node, attr);
}

void Exporter::upgradeNode(GraphProto &g, NodeProto &node, int64_t from,
                           int64_t to, std::vector<NodeProto *> &before,
                           std::vector<NodeProto *> &after) {
  auto crosses = [&](int64_t version) {
    return from < version && to >= version;
  };
  const std::string &op = node.op_type();
  const std::string label =
      op + " node " + quote(node.name().empty() ? op : node.name());
  auto refuse = [&](const std::string &why) {
    fail(opsetReason + " needs opset " + std::to_string(to) +
         ", but raising the model from opset " + std::to_string(from) +
         " would change " + label + ": " + why);
  };

  if (crosses(12) && op == "Dropout")
    moveAttributeToInput(g, node, "ratio", 1);
  if (crosses(13)) {
    if (op == "Squeeze" || op == "Unsqueeze" || op == "ReduceSum")
      moveAttributeToInput(g, node, "axes", 1);
    if (op == "Split")
      moveAttributeToInput(g, node, "split", 1);
    if (op == "Softmax" || op == "LogSoftmax" || op == "Hardmax") {
      // Before opset 13 these flatten the input to 2-D at `axis` (default
      // 1) and normalize each row; from 13 on they normalize along `axis`
      // only (default -1). The two agree when axis is the last axis.
      const AttributeProto *attr = findAttribute(node, "axis");
      const int64_t axis = attr ? attr->i() : 1;
      auto declared = declaredTypes.find(node.input(0));
      const int64_t rank =
          declared == declaredTypes.end() ||
                  (!declared->second.second.empty() &&
                   declared->second.second[0] == -2)
              ? -1
              : static_cast<int64_t>(declared->second.second.size());
      const bool lastAxis =
          axis == -1 ||
          (rank > 0 && (axis < 0 ? axis + rank : axis) == rank - 1);
      if (lastAxis) {
        setIntAttribute(node, "axis", axis);
      } else {
        const std::string input = node.input(0), output = node.output(0);
        auto *shape = new NodeProto;
        shape->set_op_type("Shape");
        shape->set_name(uniqueName(output + "_Shape"));
        shape->add_input(input);
        shape->add_output(uniqueName(output + "_shape"));
        auto *flatten = new NodeProto;
        flatten->set_op_type("Flatten");
        flatten->set_name(uniqueName(output + "_Flatten"));
        flatten->add_input(input);
        flatten->add_output(uniqueName(output + "_2d"));
        setIntAttribute(*flatten, "axis", axis);
        before = {shape, flatten};
        const std::string rows = uniqueName(output + "_normalized_2d");
        node.set_input(0, flatten->output(0));
        node.set_output(0, rows);
        setIntAttribute(node, "axis", 1);
        auto *reshape = new NodeProto;
        reshape->set_op_type("Reshape");
        reshape->set_name(uniqueName(output + "_Reshape"));
        reshape->add_input(rows);
        reshape->add_input(shape->output(0));
        reshape->add_output(output);
        after = {reshape};
      }
    }
  }
  if (crosses(16) && op == "RoiAlign" &&
      !findAttribute(node, "coordinate_transformation_mode"))
    // Opset 16 added the mode with default half_pixel; the older operator
    // behaves as output_half_pixel.
    setStringAttribute(node, "coordinate_transformation_mode",
                       "output_half_pixel");
  if (crosses(18)) {
    static const std::set<std::string> reductions = {
        "ReduceL1",        "ReduceL2",   "ReduceLogSum",
        "ReduceLogSumExp", "ReduceMax",  "ReduceMean",
        "ReduceMin",       "ReduceProd", "ReduceSumSquare"};
    if (reductions.count(op))
      moveAttributeToInput(g, node, "axes", 1);
    // Split-18 needs num_outputs when no split sizes are given.
    if (op == "Split" && (node.input_size() < 2 || node.input(1).empty()) &&
        !findAttribute(node, "num_outputs"))
      setIntAttribute(node, "num_outputs", node.output_size());
  }
  if (crosses(20)) {
    if (op == "GridSample") {
      const AttributeProto *mode = findAttribute(node, "mode");
      if (mode && mode->s() == "bilinear")
        setStringAttribute(node, "mode", "linear");
      else if (mode && mode->s() == "bicubic")
        setStringAttribute(node, "mode", "cubic");
    }
    if (op == "DFT")
      refuse("its axis moved from an attribute to an input in opset 20");
  }
  if (crosses(21) && op == "GroupNormalization")
    refuse("its scale and bias became per-channel in opset 21");
}

//===----------------------------------------------------------------------===//
// Applying a plan.
//===----------------------------------------------------------------------===//

void Exporter::apply(const QdqPlan &plan) {
  // Resolve everything first, so a bad plan fails before any edit, and
  // catch sites that two entries would both rewrite.
  std::vector<std::pair<NodeProto *, std::string>> toRemove;
  std::set<std::string> removedNames;
  for (const std::string &name : plan.removedNodes)
    if (removedNames.insert(name).second)
      toRemove.emplace_back(findNode(name, "removedNodes"), name);
  std::unordered_set<NodeProto *> removing;
  for (const auto &entry : toRemove)
    removing.insert(entry.first);
  std::map<std::pair<NodeProto *, int>, std::string> valueOwner, quantOwner,
      scaleOwner;
  auto resolve =
      [&](const NodeInput &input, const std::string &what,
          std::map<std::pair<NodeProto *, int>, std::string> &owners) {
        Site site = resolveSite(input, what);
        if (removing.count(site.node))
          fail(what + ": node " + quote(input.node) +
               " is also listed in removedNodes");
        auto [it, inserted] =
            owners.emplace(std::make_pair(site.node, site.input), what);
        if (!inserted)
          fail(what + ": " + site.label + " is already rewritten by " +
               it->second + "; one site takes one entry of each kind");
        return site;
      };
  std::vector<Site> floatSites, weightSites, scaleSites, activationSites,
      dynamicSites;
  for (const FloatReplacement &entry : plan.floats)
    floatSites.push_back(resolve(entry.site, "floats", valueOwner));
  for (const WeightQuant &entry : plan.weights)
    weightSites.push_back(resolve(entry.site, "weights", valueOwner));
  for (const InputScale &entry : plan.inputScales)
    scaleSites.push_back(resolve(entry.site, "inputScales", scaleOwner));
  for (const ActivationQuant &entry : plan.activations)
    activationSites.push_back(resolve(entry.site, "activations", quantOwner));
  for (const DynamicActivationQuant &entry : plan.dynamicActivations)
    dynamicSites.push_back(
        resolve(entry.site, "dynamicActivations", quantOwner));
  for (const Site &site : weightSites) {
    const auto key = std::make_pair(site.node, site.input);
    if (scaleOwner.count(key) || quantOwner.count(key))
      fail("weights: " + site.label +
           " is a quantized weight and cannot also take an input scale or "
           "activation quantization");
  }

  // Removal goes first, so sites downstream of a removed node see the
  // tensor they will actually read (and can share a Q/DQ pair with the
  // sites already reading it).
  for (const auto &[node, name] : toRemove)
    removeNode(node, name);
  for (size_t i = 0; i < plan.floats.size(); ++i)
    replaceFloats(plan.floats[i], floatSites[i]);
  for (size_t i = 0; i < plan.weights.size(); ++i)
    quantizeWeight(plan.weights[i], weightSites[i]);
  for (size_t i = 0; i < plan.inputScales.size(); ++i)
    insertInputScale(plan.inputScales[i], scaleSites[i]);
  for (size_t i = 0; i < plan.activations.size(); ++i)
    insertActivationQuant(plan.activations[i], activationSites[i]);
  for (const Site &site : dynamicSites)
    insertDynamicQuant(site);

  removeDeadValues();
  sortAndValidate();
  raiseOpset();

  model.set_producer_name("qcc");
  model.clear_producer_version();
  if (!plan.producerNote.empty())
    model.set_doc_string(model.doc_string().empty()
                             ? plan.producerNote
                             : model.doc_string() + "\n" + plan.producerNote);
}

//===----------------------------------------------------------------------===//
// Reading and writing files.
//===----------------------------------------------------------------------===//

std::string readFile(const std::string &path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream)
    fail(path + ": cannot open file");
  std::ostringstream contents;
  contents << stream.rdbuf();
  if (stream.bad())
    fail(path + ": read error");
  return contents.str();
}

/// Any tensor inside node attributes or subgraphs that still points at
/// external data: only the main graph's initializers are inlined.
void rejectNestedExternalData(const GraphProto &g, bool isMain,
                              const std::string &origin) {
  auto check = [&](const TensorProto &tensor, const std::string &where) {
    if (tensor.data_location() == TensorProto::EXTERNAL)
      fail(origin + ": " + where +
           " keeps its data in an external file; "
           "the exporter inlines only top-level "
           "initializers");
  };
  if (!isMain)
    for (const TensorProto &tensor : g.initializer())
      check(tensor, "subgraph initializer " + quote(tensor.name()));
  for (const NodeProto &node : g.node())
    for (const AttributeProto &attr : node.attribute()) {
      const std::string where =
          "attribute " + quote(attr.name()) + " of node " + quote(node.name());
      if (attr.has_t())
        check(attr.t(), where);
      for (const TensorProto &tensor : attr.tensors())
        check(tensor, where);
      if (attr.has_g())
        rejectNestedExternalData(attr.g(), false, origin);
      for (const GraphProto &sub : attr.graphs())
        rejectNestedExternalData(sub, false, origin);
    }
}

/// Moves external initializer data into the model: the output is one
/// self-contained file. The bytes come from the validated reader, which has
/// already checked locations, offsets and sizes.
void inlineExternalData(ModelProto &model, const Model &validated,
                        const std::string &origin) {
  std::unordered_map<std::string, const Tensor *> tensors;
  for (const Tensor &tensor : validated.graph.initializers)
    tensors[tensor.name] = &tensor;
  for (TensorProto &proto : *model.mutable_graph()->mutable_initializer()) {
    if (proto.data_location() != TensorProto::EXTERNAL)
      continue;
    auto it = tensors.find(proto.name());
    if (it == tensors.end())
      fail(origin + ": external initializer " + quote(proto.name()) +
           " was not read");
    const Tensor &tensor = *it->second;
    std::string raw;
    if (tensor.type == DataType::Int4 || tensor.type == DataType::UInt4) {
      std::vector<int32_t> codes(tensor.bytes.begin(), tensor.bytes.end());
      for (int32_t &code : codes)
        code = static_cast<int8_t>(code);
      raw = encodeCodes(codes, rt::Format::I4);
    } else {
      raw.assign(tensor.bytes.begin(), tensor.bytes.end());
    }
    proto.clear_external_data();
    proto.clear_data_location();
    proto.set_raw_data(std::move(raw));
  }
  rejectNestedExternalData(model.graph(), true, origin);
}

/// Serializes to a temporary file beside the output and renames it into
/// place, so readers never see a partial model and a failure leaves none.
void writeAtomically(const ModelProto &model, const std::string &path) {
  const size_t size = model.ByteSizeLong();
  if (size > static_cast<size_t>(INT_MAX))
    fail(path + ": the exported model would take " + std::to_string(size) +
         " bytes; protobuf cannot write an ONNX file over 2 GiB, and the "
         "exporter writes all data inline");
  std::string bytes;
  if (!model.SerializeToString(&bytes))
    fail(path + ": serializing the exported model failed");

  std::string temp = path + ".tmp-XXXXXX";
  const int fd = mkstemp(temp.data());
  if (fd < 0)
    fail(path +
         ": cannot create a temporary file beside it: " + std::strerror(errno));
  const char *data = bytes.data();
  size_t left = bytes.size();
  std::string problem;
  while (left > 0 && problem.empty()) {
    const ssize_t written = ::write(fd, data, left);
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      problem = std::string("write failed: ") + std::strerror(errno);
    else {
      data += written;
      left -= static_cast<size_t>(written);
    }
  }
  // mkstemp creates the file private to the user; a model is an ordinary
  // output file.
  if (problem.empty() && ::fchmod(fd, 0644) != 0)
    problem = std::string("chmod failed: ") + std::strerror(errno);
  if (problem.empty() && ::fsync(fd) != 0)
    problem = std::string("fsync failed: ") + std::strerror(errno);
  if (::close(fd) != 0 && problem.empty())
    problem = std::string("close failed: ") + std::strerror(errno);
  if (problem.empty() && std::rename(temp.c_str(), path.c_str()) != 0)
    problem = std::string("rename failed: ") + std::strerror(errno);
  if (!problem.empty()) {
    std::remove(temp.c_str());
    fail(path + ": " + problem);
  }
}

} // namespace

bool exportQdqModel(const std::string &sourcePath, const QdqPlan &plan,
                    const std::string &outputPath, std::string &error) {
  error.clear();
  try {
    ModelProto model;
    {
      Result<Model> validated = loadModel(sourcePath);
      if (!validated) {
        error = validated.error().message;
        return false;
      }
      const std::string bytes = readFile(sourcePath);
      if (!model.ParseFromString(bytes))
        fail(sourcePath + ": not a valid ONNX model");
      inlineExternalData(model, *validated, sourcePath);
    }
    try {
      Exporter exporter(model);
      exporter.apply(plan);
    } catch (const ExportError &e) {
      fail(sourcePath + ": " + e.message);
    }
    writeAtomically(model, outputPath);
    return true;
  } catch (const ExportError &e) {
    error = e.message;
  } catch (const std::bad_alloc &) {
    error = sourcePath + ": out of memory while exporting";
  }
  return false;
}

} // namespace qcc::onnx
