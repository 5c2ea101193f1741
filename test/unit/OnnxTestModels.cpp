// Builds the ONNX models of OnnxTestModels.h with the ONNX protobuf API.
#include "OnnxTestModels.h"

#include <onnx/onnx_pb.h>

#include <cstring>

namespace qcc::testmodels {

namespace {
void addValue(::onnx::ValueInfoProto *info, const std::string &name,
              std::initializer_list<int64_t> dims) {
  info->set_name(name);
  auto *tensor = info->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    tensor->mutable_shape()->add_dim()->set_dim_value(d);
}

::onnx::TensorProto *addInitializer(::onnx::GraphProto *graph,
                                    const std::string &name,
                                    std::initializer_list<int64_t> dims) {
  auto *tensor = graph->add_initializer();
  tensor->set_name(name);
  tensor->set_data_type(::onnx::TensorProto::FLOAT);
  int64_t count = 1;
  for (int64_t d : dims) {
    tensor->add_dims(d);
    count *= d;
  }
  std::string raw(count * sizeof(float), '\0');
  for (int64_t i = 0; i < count; ++i) {
    float v = 0.25f * static_cast<float>(i + 1);
    std::memcpy(raw.data() + i * sizeof(float), &v, sizeof(float));
  }
  tensor->set_raw_data(raw);
  return tensor;
}

::onnx::NodeProto *addNode(::onnx::GraphProto *graph, const std::string &op,
                           const std::string &name,
                           std::initializer_list<std::string> inputs,
                           std::initializer_list<std::string> outputs) {
  auto *node = graph->add_node();
  node->set_op_type(op);
  node->set_name(name);
  for (const auto &in : inputs)
    node->add_input(in);
  for (const auto &out : outputs)
    node->add_output(out);
  return node;
}

::onnx::ModelProto baseModel() {
  ::onnx::ModelProto model;
  model.set_ir_version(8);
  auto *opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  auto *graph = model.mutable_graph();
  graph->set_name("test");
  addValue(graph->add_input(), "x", {2, 3});
  return model;
}

::onnx::ModelProto matmulModel() {
  ::onnx::ModelProto model = baseModel();
  auto *graph = model.mutable_graph();
  addInitializer(graph, "W", {3, 2});
  addInitializer(graph, "B", {2});
  addNode(graph, "MatMul", "mm", {"x", "W"}, {"h"});
  addNode(graph, "Add", "bias", {"h", "B"}, {"y"});
  addValue(graph->add_output(), "y", {2, 2});
  return model;
}
} // namespace

std::string validModel() { return matmulModel().SerializeAsString(); }

std::string shortInitializerModel() {
  ::onnx::ModelProto model = matmulModel();
  auto *w = model.mutable_graph()->mutable_initializer(0);
  w->set_raw_data(w->raw_data().substr(8));
  return model.SerializeAsString();
}

std::string inconsistentShapesModel() {
  ::onnx::ModelProto model = baseModel();
  auto *graph = model.mutable_graph();
  addInitializer(graph, "W", {4, 5});
  addNode(graph, "MatMul", "mm_bad", {"x", "W"}, {"y"});
  addValue(graph->add_output(), "y", {2, 5});
  return model.SerializeAsString();
}

std::string cyclicModel() {
  ::onnx::ModelProto model = baseModel();
  auto *graph = model.mutable_graph();
  addNode(graph, "Add", "a", {"x", "d"}, {"c"});
  addNode(graph, "Relu", "b", {"c"}, {"d"});
  addValue(graph->add_output(), "d", {2, 3});
  return model.SerializeAsString();
}

std::string danglingInputModel() {
  ::onnx::ModelProto model = baseModel();
  auto *graph = model.mutable_graph();
  addNode(graph, "Add", "adder", {"x", "nowhere"}, {"y"});
  addValue(graph->add_output(), "y", {2, 3});
  return model.SerializeAsString();
}

std::string externalDataModel(const std::string &location) {
  ::onnx::ModelProto model = matmulModel();
  auto *w = model.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto *entry = w->add_external_data();
  entry->set_key("location");
  entry->set_value(location);
  return model.SerializeAsString();
}

std::string unsupportedOpsModel() {
  ::onnx::ModelProto model = baseModel();
  auto *graph = model.mutable_graph();
  addNode(graph, "Foo", "f1", {"x"}, {"a"});
  addNode(graph, "Foo", "f2", {"a"}, {"b"});
  addNode(graph, "Bar", "b1", {"b"}, {"y"});
  addValue(graph->add_output(), "y", {2, 3});
  return model.SerializeAsString();
}

std::string convIntegerBadWeightModel() {
  ::onnx::ModelProto model = baseModel();
  auto *graph = model.mutable_graph();
  auto *w = graph->add_initializer();
  w->set_name("W");
  w->set_data_type(::onnx::TensorProto::UINT8);
  w->add_dims(3);
  w->set_raw_data(std::string(3, '\x01'));
  addNode(graph, "ConvInteger", "conv_int", {"x", "W"}, {"y"});
  addValue(graph->add_output(), "y", {2, 3});
  return model.SerializeAsString();
}

std::string negativeDimModel() {
  ::onnx::ModelProto model = matmulModel();
  model.mutable_graph()->mutable_initializer(1)->set_dims(0, -2);
  return model.SerializeAsString();
}

} // namespace qcc::testmodels
