// Reading ONNX protobufs into the validated Model view.
#include "importers/onnx/OnnxModel.h"

#include "runtime/numerics/Numerics.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

namespace qcc::onnx {

namespace {

/// No tensor may hold more elements than this (16 Gi): larger counts are a
/// corrupt file, not a model.
constexpr int64_t kMaxElements = int64_t{1} << 34;

Error fail(const std::string &message) { return Error{message}; }

bool isFourBit(DataType type) {
  return type == DataType::Int4 || type == DataType::UInt4;
}

bool isKnownType(int32_t type) { return type >= 1 && type <= 22; }

/// Bytes a tensor of `count` elements occupies in raw_data.
int64_t rawByteSize(DataType type, int64_t count) {
  return isFourBit(type) ? (count + 1) / 2 : count * elementByteSize(type);
}

template <typename T> T readLE(const uint8_t *data) {
  T value;
  std::memcpy(&value, data, sizeof(T));
  return value;
}

/// Stores `value` in the element layout of `type` (used for the typed
/// protobuf fields, which hold widened values).
void appendElement(std::vector<uint8_t> &bytes, DataType type, int64_t value) {
  const int64_t size = elementByteSize(type);
  const size_t offset = bytes.size();
  bytes.resize(offset + size);
  std::memcpy(bytes.data() + offset, &value, size); // little-endian host
}

Result<std::string> readExternal(const ::onnx::TensorProto &proto,
                                 const std::string &baseDir,
                                 const std::string &what, int64_t expected) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &entry : proto.external_data()) {
    try {
      if (entry.key() == "location")
        location = entry.value();
      else if (entry.key() == "offset")
        offset = std::stoll(entry.value());
      else if (entry.key() == "length")
        length = std::stoll(entry.value());
    } catch (...) {
      return fail(what + ": external data " + entry.key() +
                  " is not a number: '" + entry.value() + "'");
    }
  }
  if (location.empty())
    return fail(what + ": external data has no location");
  if (baseDir.empty())
    return fail(what + ": external data '" + location +
                "' cannot be resolved for a model read from memory");
  std::filesystem::path relative(location);
  if (relative.is_absolute() ||
      std::any_of(
          relative.begin(), relative.end(),
          [](const std::filesystem::path &part) { return part == ".."; }))
    return fail(what + ": external data location '" + location +
                "' must stay inside the model's directory");
  if (offset < 0 || (length != -1 && length < 0))
    return fail(what + ": negative external data offset or length");
  if (length != -1 && length != expected)
    return fail(what + ": external data length " + std::to_string(length) +
                " does not match the " + std::to_string(expected) +
                " bytes its shape needs");
  const std::filesystem::path file = std::filesystem::path(baseDir) / relative;
  std::ifstream stream(file, std::ios::binary);
  if (!stream)
    return fail(what + ": missing external data file '" + file.string() + "'");
  stream.seekg(0, std::ios::end);
  const int64_t fileSize = static_cast<int64_t>(stream.tellg());
  if (offset > fileSize || expected > fileSize - offset)
    return fail(what + ": external data '" + file.string() + "' holds " +
                std::to_string(fileSize) + " bytes; " +
                std::to_string(expected) + " are needed at offset " +
                std::to_string(offset));
  std::string data(static_cast<size_t>(expected), '\0');
  stream.seekg(offset);
  stream.read(data.data(), expected);
  if (!stream)
    return fail(what + ": reading external data '" + file.string() +
                "' failed");
  return data;
}

Result<Tensor> convertTensor(const ::onnx::TensorProto &proto,
                             const std::string &baseDir,
                             const std::string &context) {
  Tensor tensor;
  tensor.name = proto.name();
  const std::string what =
      context + (proto.name().empty() ? "" : " '" + proto.name() + "'");
  if (!isKnownType(proto.data_type()))
    return fail(what + ": unknown data type " +
                std::to_string(proto.data_type()));
  tensor.type = static_cast<DataType>(proto.data_type());
  if (elementByteSize(tensor.type) == 0)
    return fail(what + ": data type " + std::string(dataTypeName(tensor.type)) +
                " is not supported");
  int64_t count = 1;
  for (int64_t dim : proto.dims()) {
    if (dim < 0)
      return fail(what + ": negative dimension " + std::to_string(dim));
    if (dim > 0 && count > kMaxElements / dim)
      return fail(what + ": more than 2^34 elements");
    count *= dim;
    tensor.dims.push_back(dim);
  }
  const int64_t rawSize = rawByteSize(tensor.type, count);

  std::string raw;
  bool haveRaw = false;
  if (proto.data_location() == ::onnx::TensorProto::EXTERNAL) {
    Result<std::string> data = readExternal(proto, baseDir, what, rawSize);
    if (!data)
      return data.error();
    raw = std::move(*data);
    haveRaw = true;
  } else if (proto.has_raw_data()) {
    raw = proto.raw_data();
    haveRaw = true;
    if (static_cast<int64_t>(raw.size()) != rawSize)
      return fail(what + ": raw data holds " + std::to_string(raw.size()) +
                  " bytes but " + std::string(dataTypeName(tensor.type)) +
                  " with " + std::to_string(count) + " elements needs " +
                  std::to_string(rawSize));
  }

  // Nothing is allocated for the declared size before the data is known to
  // match it: a corrupt file may declare 2^34 elements and hold none.
  if (haveRaw) {
    const auto *data = reinterpret_cast<const uint8_t *>(raw.data());
    if (isFourBit(tensor.type)) {
      for (int64_t i = 0; i < count; ++i) {
        int value = (i % 2 == 0) ? (data[i / 2] & 0xF) : (data[i / 2] >> 4);
        if (tensor.type == DataType::Int4 && value >= 8)
          value -= 16;
        tensor.bytes.push_back(static_cast<uint8_t>(value));
      }
    } else {
      tensor.bytes.assign(data, data + rawSize);
    }
    return tensor;
  }

  auto mismatch = [&](int64_t have, int64_t need) {
    return fail(what + ": holds " + std::to_string(have) + " values but " +
                std::string(dataTypeName(tensor.type)) + " of shape with " +
                std::to_string(count) + " elements needs " +
                std::to_string(need));
  };
  switch (tensor.type) {
  case DataType::Float: {
    if (proto.float_data_size() != count)
      return mismatch(proto.float_data_size(), count);
    for (float v : proto.float_data()) {
      const size_t offset = tensor.bytes.size();
      tensor.bytes.resize(offset + 4);
      std::memcpy(tensor.bytes.data() + offset, &v, 4);
    }
    return tensor;
  }
  case DataType::Double: {
    if (proto.double_data_size() != count)
      return mismatch(proto.double_data_size(), count);
    for (double v : proto.double_data()) {
      const size_t offset = tensor.bytes.size();
      tensor.bytes.resize(offset + 8);
      std::memcpy(tensor.bytes.data() + offset, &v, 8);
    }
    return tensor;
  }
  case DataType::Int64:
    if (proto.int64_data_size() != count)
      return mismatch(proto.int64_data_size(), count);
    for (int64_t v : proto.int64_data())
      appendElement(tensor.bytes, tensor.type, v);
    return tensor;
  case DataType::UInt32:
  case DataType::UInt64:
    if (proto.uint64_data_size() != count)
      return mismatch(proto.uint64_data_size(), count);
    for (uint64_t v : proto.uint64_data())
      appendElement(tensor.bytes, tensor.type, static_cast<int64_t>(v));
    return tensor;
  case DataType::Int4:
  case DataType::UInt4: {
    // Two 4-bit values per int32 entry, lower index in the low nibble.
    if (proto.int32_data_size() != (count + 1) / 2)
      return mismatch(proto.int32_data_size(), (count + 1) / 2);
    for (int64_t i = 0; i < count; ++i) {
      const int32_t packed = proto.int32_data(static_cast<int>(i / 2));
      int value = (i % 2 == 0) ? (packed & 0xF) : ((packed >> 4) & 0xF);
      if (tensor.type == DataType::Int4 && value >= 8)
        value -= 16;
      tensor.bytes.push_back(static_cast<uint8_t>(value));
    }
    return tensor;
  }
  default:
    // Every other fixed-size type travels in int32_data, one per element.
    if (proto.int32_data_size() != count)
      return mismatch(proto.int32_data_size(), count);
    for (int32_t v : proto.int32_data())
      appendElement(tensor.bytes, tensor.type, v);
    return tensor;
  }
}

Result<ValueInfo> convertValueInfo(const ::onnx::ValueInfoProto &proto,
                                   const std::string &context) {
  ValueInfo info;
  info.name = proto.name();
  if (!proto.has_type() || !proto.type().has_tensor_type()) {
    info.isTensor = false;
    return info;
  }
  const auto &tensorType = proto.type().tensor_type();
  // Element types newer than qcc knows are kept by number: the importer
  // rejects them with the value's name, tools may skip them.
  info.type = static_cast<DataType>(tensorType.elem_type());
  if (tensorType.has_shape()) {
    info.hasShape = true;
    int64_t count = 1;
    for (const auto &dim : tensorType.shape().dim()) {
      if (dim.has_dim_value()) {
        if (dim.dim_value() < 0)
          return fail(context + " '" + proto.name() + "': negative dimension " +
                      std::to_string(dim.dim_value()));
        if (dim.dim_value() > 0 && count > kMaxElements / dim.dim_value())
          return fail(context + " '" + proto.name() +
                      "': more than 2^34 elements");
        count *= dim.dim_value();
        info.dims.push_back(dim.dim_value());
        info.dimNames.emplace_back();
      } else {
        info.dims.push_back(-1);
        info.dimNames.push_back(dim.dim_param());
      }
    }
  }
  return info;
}

Result<Attribute> convertAttribute(const ::onnx::AttributeProto &proto,
                                   const std::string &baseDir,
                                   const std::string &context) {
  Attribute attr;
  using A = ::onnx::AttributeProto;
  switch (proto.type()) {
  case A::FLOAT:
    attr.kind = Attribute::Kind::Float;
    attr.f = proto.f();
    break;
  case A::INT:
    attr.kind = Attribute::Kind::Int;
    attr.i = proto.i();
    break;
  case A::STRING:
    attr.kind = Attribute::Kind::String;
    attr.s = proto.s();
    break;
  case A::TENSOR: {
    Result<Tensor> tensor = convertTensor(
        proto.t(), baseDir, context + " attribute '" + proto.name() + "'");
    if (!tensor) {
      // A tensor qcc cannot hold (strings, say) only matters to an op that
      // reads it, and no supported op reads such tensors.
      attr.kind = Attribute::Kind::Other;
      attr.s = tensor.error().message;
      break;
    }
    attr.kind = Attribute::Kind::Tensor;
    attr.t = std::move(*tensor);
    break;
  }
  case A::FLOATS:
    attr.kind = Attribute::Kind::Floats;
    attr.floats.assign(proto.floats().begin(), proto.floats().end());
    break;
  case A::INTS:
    attr.kind = Attribute::Kind::Ints;
    attr.ints.assign(proto.ints().begin(), proto.ints().end());
    break;
  case A::STRINGS:
    attr.kind = Attribute::Kind::Strings;
    attr.strings.assign(proto.strings().begin(), proto.strings().end());
    break;
  default:
    attr.kind = Attribute::Kind::Other;
    break;
  }
  return attr;
}

/// Orders nodes so every input is defined before use; reports dangling
/// inputs and cycles by node name.
Result<std::vector<Node>> sortNodes(std::vector<Node> nodes,
                                    const std::set<std::string> &available,
                                    const std::string &origin) {
  std::unordered_map<std::string, size_t> producer;
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const std::string &output : nodes[i].outputs) {
      if (output.empty())
        continue;
      if (available.count(output) || !producer.emplace(output, i).second)
        return fail(origin + ": node '" + nodes[i].name + "' (" +
                    nodes[i].opType + "): output '" + output +
                    "' is already defined elsewhere");
    }
  for (const Node &node : nodes)
    for (const std::string &input : node.inputs)
      if (!input.empty() && !available.count(input) && !producer.count(input))
        return fail(origin + ": node '" + node.name + "' (" + node.opType +
                    "): input '" + input +
                    "' is not produced by any node, initializer or graph "
                    "input");

  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> users(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i)
    for (const std::string &input : nodes[i].inputs) {
      auto it = input.empty() ? producer.end() : producer.find(input);
      if (it != producer.end()) {
        ++pending[i];
        users[it->second].push_back(i);
      }
    }
  std::vector<size_t> ready, order;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0)
      ready.push_back(i);
  // Keep the file's order where it is already valid: take the lowest index.
  while (!ready.empty()) {
    auto lowest = std::min_element(ready.begin(), ready.end());
    size_t next = *lowest;
    ready.erase(lowest);
    order.push_back(next);
    for (size_t user : users[next])
      if (--pending[user] == 0)
        ready.push_back(user);
  }
  if (order.size() != nodes.size()) {
    std::string names;
    for (size_t i = 0; i < nodes.size(); ++i)
      if (pending[i] > 0)
        names += (names.empty() ? "'" : ", '") + nodes[i].name + "'";
    return fail(origin + ": the graph has a cycle through nodes " + names);
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (size_t i : order)
    sorted.push_back(std::move(nodes[i]));
  return sorted;
}

} // namespace

std::string_view dataTypeName(DataType type) {
  switch (type) {
  case DataType::Float:
    return "FLOAT";
  case DataType::UInt8:
    return "UINT8";
  case DataType::Int8:
    return "INT8";
  case DataType::UInt16:
    return "UINT16";
  case DataType::Int16:
    return "INT16";
  case DataType::Int32:
    return "INT32";
  case DataType::Int64:
    return "INT64";
  case DataType::String:
    return "STRING";
  case DataType::Bool:
    return "BOOL";
  case DataType::Float16:
    return "FLOAT16";
  case DataType::Double:
    return "DOUBLE";
  case DataType::UInt32:
    return "UINT32";
  case DataType::UInt64:
    return "UINT64";
  case DataType::Complex64:
    return "COMPLEX64";
  case DataType::Complex128:
    return "COMPLEX128";
  case DataType::BFloat16:
    return "BFLOAT16";
  case DataType::Float8E4M3FN:
    return "FLOAT8E4M3FN";
  case DataType::Float8E4M3FNUZ:
    return "FLOAT8E4M3FNUZ";
  case DataType::Float8E5M2:
    return "FLOAT8E5M2";
  case DataType::Float8E5M2FNUZ:
    return "FLOAT8E5M2FNUZ";
  case DataType::UInt4:
    return "UINT4";
  case DataType::Int4:
    return "INT4";
  case DataType::Undefined:
    break;
  }
  return "UNDEFINED";
}

int64_t elementByteSize(DataType type) {
  switch (type) {
  case DataType::Float:
  case DataType::Int32:
  case DataType::UInt32:
    return 4;
  case DataType::Int64:
  case DataType::Double:
  case DataType::UInt64:
    return 8;
  case DataType::UInt16:
  case DataType::Int16:
  case DataType::Float16:
  case DataType::BFloat16:
    return 2;
  case DataType::UInt8:
  case DataType::Int8:
  case DataType::Bool:
  case DataType::Float8E4M3FN:
  case DataType::Float8E4M3FNUZ:
  case DataType::Float8E5M2:
  case DataType::Float8E5M2FNUZ:
  case DataType::UInt4:
  case DataType::Int4:
    return 1;
  default:
    return 0;
  }
}

int64_t Tensor::elementCount() const { return rt::elementCount(dims); }

std::vector<int64_t> Tensor::toInts() const {
  const int64_t count = elementCount();
  std::vector<int64_t> values(count);
  const uint8_t *data = bytes.data();
  for (int64_t i = 0; i < count; ++i) {
    switch (type) {
    case DataType::Int64:
      values[i] = readLE<int64_t>(data + 8 * i);
      break;
    case DataType::UInt64:
      values[i] = static_cast<int64_t>(readLE<uint64_t>(data + 8 * i));
      break;
    case DataType::Int32:
      values[i] = readLE<int32_t>(data + 4 * i);
      break;
    case DataType::UInt32:
      values[i] = readLE<uint32_t>(data + 4 * i);
      break;
    case DataType::Int16:
      values[i] = readLE<int16_t>(data + 2 * i);
      break;
    case DataType::UInt16:
      values[i] = readLE<uint16_t>(data + 2 * i);
      break;
    case DataType::Int8:
    case DataType::Int4:
      values[i] = static_cast<int8_t>(data[i]);
      break;
    default:
      values[i] = data[i];
      break; // UINT8, UINT4, BOOL
    }
  }
  return values;
}

std::vector<float> Tensor::toFloats() const {
  const int64_t count = elementCount();
  std::vector<float> values(count);
  const uint8_t *data = bytes.data();
  switch (type) {
  case DataType::Float:
    if (count > 0) // memcpy wants valid pointers even for zero bytes
      std::memcpy(values.data(), data, 4 * count);
    return values;
  case DataType::Double:
    for (int64_t i = 0; i < count; ++i)
      values[i] = static_cast<float>(readLE<double>(data + 8 * i));
    return values;
  case DataType::Float16:
    for (int64_t i = 0; i < count; ++i)
      values[i] = rt::decodeHalf(readLE<uint16_t>(data + 2 * i));
    return values;
  case DataType::BFloat16:
    for (int64_t i = 0; i < count; ++i) {
      uint32_t bits = static_cast<uint32_t>(readLE<uint16_t>(data + 2 * i))
                      << 16;
      std::memcpy(&values[i], &bits, 4);
    }
    return values;
  case DataType::Float8E4M3FN:
  case DataType::Float8E5M2:
    for (int64_t i = 0; i < count; ++i)
      values[i] = rt::decodeFloat8(data[i], type == DataType::Float8E4M3FN
                                                ? rt::Format::F8E4M3FN
                                                : rt::Format::F8E5M2);
    return values;
  default: {
    std::vector<int64_t> ints = toInts();
    for (int64_t i = 0; i < count; ++i)
      values[i] = static_cast<float>(ints[i]);
    return values;
  }
  }
}

const Attribute *Node::attribute(std::string_view key) const {
  auto it = attributes.find(std::string(key));
  return it == attributes.end() ? nullptr : &it->second;
}

int64_t Node::intAttr(std::string_view key, int64_t fallback) const {
  const Attribute *attr = attribute(key);
  return attr && attr->kind == Attribute::Kind::Int ? attr->i : fallback;
}

float Node::floatAttr(std::string_view key, float fallback) const {
  const Attribute *attr = attribute(key);
  return attr && attr->kind == Attribute::Kind::Float ? attr->f : fallback;
}

std::string Node::stringAttr(std::string_view key, std::string fallback) const {
  const Attribute *attr = attribute(key);
  return attr && attr->kind == Attribute::Kind::String ? attr->s : fallback;
}

std::vector<int64_t> Node::intsAttr(std::string_view key) const {
  const Attribute *attr = attribute(key);
  return attr && attr->kind == Attribute::Kind::Ints ? attr->ints
                                                     : std::vector<int64_t>{};
}

int64_t Model::opset(const std::string &domain) const {
  auto it = opsets.find(domain == "ai.onnx" ? "" : domain);
  return it == opsets.end() ? 0 : it->second;
}

Result<Model> parseModel(std::string_view bytes, const std::string &baseDir,
                         const std::string &origin) {
  ::onnx::ModelProto proto;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    return fail(origin + ": larger than 2 GiB; keep weights in external data");
  if (!proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return fail(origin + ": not a valid ONNX model (the protobuf does not "
                         "parse; truncated or corrupt?)");
  if (proto.ir_version() <= 0 || !proto.has_graph())
    return fail(origin + ": not an ONNX model (no ir_version or no graph)");

  Model model;
  model.path = origin;
  model.irVersion = proto.ir_version();
  for (const auto &opset : proto.opset_import()) {
    const std::string domain =
        opset.domain() == "ai.onnx" ? std::string() : opset.domain();
    model.opsets[domain] = opset.version();
  }

  const ::onnx::GraphProto &graph = proto.graph();
  model.graph.name = graph.name();
  std::set<std::string> available;
  for (const auto &initializer : graph.initializer()) {
    Result<Tensor> tensor =
        convertTensor(initializer, baseDir, origin + ": initializer");
    if (!tensor)
      return tensor.error();
    if (!available.insert(tensor->name).second)
      return fail(origin + ": initializer '" + tensor->name +
                  "' is defined twice");
    model.graph.initializers.push_back(std::move(*tensor));
  }
  for (const auto &input : graph.input()) {
    if (available.count(input.name()))
      continue; // an initializer listed as input (IR < 4): a constant here
    Result<ValueInfo> info = convertValueInfo(input, origin + ": graph input");
    if (!info)
      return info.error();
    available.insert(info->name);
    model.graph.inputs.push_back(std::move(*info));
  }

  std::vector<Node> nodes;
  std::unordered_map<std::string, int> opCounts;
  for (const auto &nodeProto : graph.node()) {
    Node node;
    node.opType = nodeProto.op_type();
    node.domain = nodeProto.domain() == "ai.onnx" ? "" : nodeProto.domain();
    node.name =
        nodeProto.name().empty()
            ? node.opType + "#" + std::to_string(opCounts[node.opType]++)
            : nodeProto.name();
    node.inputs.assign(nodeProto.input().begin(), nodeProto.input().end());
    node.outputs.assign(nodeProto.output().begin(), nodeProto.output().end());
    const std::string context =
        origin + ": node '" + node.name + "' (" + node.opType + ")";
    for (const auto &attrProto : nodeProto.attribute()) {
      Result<Attribute> attr = convertAttribute(attrProto, baseDir, context);
      if (!attr)
        return attr.error();
      node.attributes[attrProto.name()] = std::move(*attr);
    }
    nodes.push_back(std::move(node));
  }
  Result<std::vector<Node>> sorted =
      sortNodes(std::move(nodes), available, origin);
  if (!sorted)
    return sorted.error();
  model.graph.nodes = std::move(*sorted);

  std::set<std::string> defined = available;
  for (const Node &node : model.graph.nodes)
    defined.insert(node.outputs.begin(), node.outputs.end());
  for (const auto &output : graph.output()) {
    Result<ValueInfo> info =
        convertValueInfo(output, origin + ": graph output");
    if (!info)
      return info.error();
    if (!defined.count(info->name))
      return fail(origin + ": graph output '" + info->name +
                  "' is not produced by any node");
    model.graph.outputs.push_back(std::move(*info));
  }
  return model;
}

namespace {
Result<std::string> readFile(const std::string &path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream)
    return fail(path + ": cannot open file");
  std::ostringstream contents;
  contents << stream.rdbuf();
  if (stream.bad())
    return fail(path + ": read error");
  return contents.str();
}
} // namespace

Result<Model> loadModel(const std::string &path) {
  Result<std::string> bytes = readFile(path);
  if (!bytes)
    return bytes.error();
  std::string baseDir = std::filesystem::path(path).parent_path().string();
  if (baseDir.empty())
    baseDir = ".";
  return parseModel(*bytes, baseDir, path);
}

Result<Tensor> loadTensor(const std::string &path) {
  Result<std::string> bytes = readFile(path);
  if (!bytes)
    return bytes.error();
  ::onnx::TensorProto proto;
  if (!proto.ParseFromString(*bytes))
    return fail(path + ": not a serialized ONNX TensorProto");
  std::string baseDir = std::filesystem::path(path).parent_path().string();
  return convertTensor(proto, baseDir.empty() ? "." : baseDir,
                       path + ": tensor");
}

} // namespace qcc::onnx
