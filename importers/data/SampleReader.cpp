// Reads calibration and evaluation samples; see SampleReader.h.
#include "importers/data/SampleReader.h"

#include "importers/onnx/OnnxImporter.h"
#include "importers/onnx/OnnxModel.h"
#include "runtime/io/Npy.h"
#include "runtime/io/Npz.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>

using namespace mlir;
namespace fs = llvm::sys::fs;

namespace qcc::data {

struct SampleReader::Array {
  std::vector<int64_t> shape;
  std::vector<double> values;
};

namespace {
using Array = SampleReader::Array;

bool isSampleFile(llvm::StringRef path) {
  return path.ends_with(".npy") || path.ends_with(".npz") ||
         path.ends_with(".pb");
}

std::string shapeText(llvm::ArrayRef<int64_t> shape) {
  std::string text;
  for (auto [i, dim] : llvm::enumerate(shape))
    text += (i ? "x" : "") + std::to_string(dim);
  return text.empty() ? "scalar" : text;
}

Array fromHost(const rt::HostArray &host) {
  Array array;
  array.shape = host.shape;
  array.values.resize(host.elementCount());
  for (int64_t i = 0; i < host.elementCount(); ++i)
    array.values[i] = host.at(i);
  return array;
}

bool fromOnnx(const std::string &file, Array &array, std::string &error) {
  onnx::Result<onnx::Tensor> loaded = onnx::loadTensor(file);
  if (!loaded) {
    error = loaded.error().message;
    return false;
  }
  if (loaded->type == onnx::DataType::String) {
    error = file + ": string tensors cannot be model inputs";
    return false;
  }
  array.shape = loaded->dims;
  if (loaded->type == onnx::DataType::Int64 ||
      loaded->type == onnx::DataType::Int32 ||
      loaded->type == onnx::DataType::Bool ||
      loaded->type == onnx::DataType::UInt8 ||
      loaded->type == onnx::DataType::Int8) {
    std::vector<int64_t> ints = loaded->toInts();
    array.values.assign(ints.begin(), ints.end());
  } else {
    std::vector<float> floats = loaded->toFloats();
    array.values.assign(floats.begin(), floats.end());
  }
  return true;
}

/// How many samples `array` holds for an input of `type`: 1 when the shapes
/// are equal, b when the array stacks b samples along a new first axis, or
/// b / type.dim(0) when it concatenates them along the first axis.
std::optional<int64_t> samplesIn(const Array &array, RankedTensorType type) {
  llvm::ArrayRef<int64_t> want = type.getShape();
  llvm::ArrayRef<int64_t> have = array.shape;
  if (have == want)
    return 1;
  if (have.size() == want.size() + 1 && have.drop_front() == want)
    return have.front();
  if (!want.empty() && have.size() == want.size() && want.front() > 0 &&
      have.drop_front() == want.drop_front() &&
      have.front() % want.front() == 0)
    return have.front() / want.front();
  return std::nullopt;
}

} // namespace

bool SampleReader::collectInputs(func::FuncOp function, std::string &error) {
  inputs.clear();
  sources.clear();
  pending.clear();
  memory = nullptr;
  nextSource = 0;
  for (auto [i, type] : llvm::enumerate(function.getArgumentTypes())) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    std::string name = "input" + std::to_string(i);
    if (auto attr = function.getArgAttrOfType<StringAttr>(i, "qg.name"))
      name = attr.str();
    if (!tensor || !tensor.hasStaticShape()) {
      error = "input '" + name +
              "' has a dynamic shape; fix it (e.g. --input-shape " + name +
              "=1x...) before running samples through the model";
      return false;
    }
    inputs.push_back({name, tensor});
  }
  return true;
}

bool SampleReader::open(const std::vector<BorrowedSample> &samples,
                        func::FuncOp function, std::string &error) {
  if (!collectInputs(function, error))
    return false;
  memory = &samples;
  return true;
}

bool SampleReader::open(const std::string &spec, func::FuncOp function,
                        std::string &error) {
  if (!collectInputs(function, error))
    return false;
  llvm::SmallVector<llvm::StringRef> items;
  llvm::StringRef(spec).split(items, ',', -1, false);
  for (llvm::StringRef item : items) {
    if (!fs::exists(item)) {
      error = item.str() + ": no such file or directory";
      return false;
    }
    if (!fs::is_directory(item)) {
      sources.push_back(item.str());
      continue;
    }
    // A test_data_set_* directory is one sample; any other directory lists
    // samples (files, or test_data_set_* subdirectories).
    if (llvm::sys::path::filename(item).starts_with("test_data_set_")) {
      sources.push_back(item.str());
      continue;
    }
    std::vector<std::string> found;
    std::error_code ec;
    for (fs::directory_iterator it(item, ec), end; it != end && !ec;
         it.increment(ec)) {
      llvm::StringRef path = it->path();
      llvm::StringRef base = llvm::sys::path::filename(path);
      if (base.starts_with("."))
        continue;
      if (isSampleFile(path) ||
          (fs::is_directory(path) && base.starts_with("test_data_set_")))
        found.push_back(path.str());
    }
    if (ec) {
      error = item.str() + ": " + ec.message();
      return false;
    }
    // Sorted, so runs are deterministic whatever the file system's order.
    std::sort(found.begin(), found.end());
    sources.insert(sources.end(), found.begin(), found.end());
  }
  if (sources.empty()) {
    error = "'" + spec + "' holds no .npy, .npz or .pb samples";
    return false;
  }
  return true;
}

bool SampleReader::loadMemory(const BorrowedSample &sample,
                              const std::string &origin, std::string &error) {
  std::vector<Array> arrays(inputs.size());
  std::vector<bool> used(sample.size(), false);
  for (size_t i = 0; i < inputs.size(); ++i) {
    size_t found = sample.size();
    for (size_t a = 0; a < sample.size(); ++a)
      if (sample[a].name == inputs[i].name)
        found = a;
    if (found == sample.size() && inputs.size() == 1 && sample.size() == 1)
      found = 0;
    if (found == sample.size()) {
      error =
          origin + ": no array for the model's input '" + inputs[i].name + "'";
      return false;
    }
    const BorrowedArray &given = sample[found];
    used[found] = true;
    int64_t count = 1;
    for (int64_t dim : given.shape) {
      if (dim < 0) {
        error =
            origin + ": array '" + given.name + "' has a negative dimension";
        return false;
      }
      count *= dim;
    }
    if (count > 0 && !given.data) {
      error = origin + ": array '" + given.name + "' has no data";
      return false;
    }
    arrays[i].shape = given.shape;
    arrays[i].values.resize(count);
    for (int64_t e = 0; e < count; ++e)
      arrays[i].values[e] = rt::readElement(given.kind, given.data, e);
  }
  for (size_t a = 0; a < sample.size(); ++a)
    if (!used[a]) {
      std::string names;
      for (const InputInfo &input : inputs)
        names += (names.empty() ? "'" : ", '") + input.name + "'";
      error = origin + ": array '" + sample[a].name +
              "' feeds no model input (the inputs are " + names + ")";
      return false;
    }
  return addSamples(arrays, origin, error);
}

bool SampleReader::loadSource(int64_t index, std::string &error) {
  if (memory)
    return loadMemory((*memory)[index],
                      "calibration sample " + std::to_string(index), error);
  const std::string &source = sources[index];
  // Gather one array per input.
  std::vector<Array> arrays(inputs.size());
  if (fs::is_directory(source)) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      std::string file = source + "/input_" + std::to_string(i) + ".pb";
      if (!fromOnnx(file, arrays[i], error))
        return false;
    }
  } else if (llvm::StringRef(source).ends_with(".npz")) {
    std::vector<std::pair<std::string, rt::HostArray>> members;
    if (!rt::readNpz(source, members, error))
      return false;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto it = llvm::find_if(
          members, [&](const auto &m) { return m.first == inputs[i].name; });
      if (it == members.end()) {
        if (inputs.size() == 1 && members.size() == 1) {
          arrays[i] = fromHost(members.front().second);
          continue;
        }
        error = source + ": no array named '" + inputs[i].name +
                "' (the model's input)";
        return false;
      }
      arrays[i] = fromHost(it->second);
    }
  } else {
    if (inputs.size() != 1) {
      error = source + ": the model has " + std::to_string(inputs.size()) +
              " inputs; give each sample as an .npz with one array per "
              "input name, or as a test_data_set_* directory";
      return false;
    }
    if (llvm::StringRef(source).ends_with(".pb")) {
      if (!fromOnnx(source, arrays[0], error))
        return false;
    } else {
      rt::HostArray host;
      if (!rt::readNpy(source, host, error))
        return false;
      arrays[0] = fromHost(host);
    }
  }
  return addSamples(arrays, source, error);
}

bool SampleReader::addSamples(const std::vector<Array> &arrays,
                              const std::string &source, std::string &error) {
  // Split into samples; every input must agree on the count.
  int64_t count = -1;
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::optional<int64_t> n = samplesIn(arrays[i], inputs[i].type);
    if (!n || *n <= 0) {
      error = source + ": input '" + inputs[i].name + "' has shape " +
              shapeText(arrays[i].shape) + ", expected " +
              shapeText(inputs[i].type.getShape()) +
              " (or a batch of those along the first axis)";
      return false;
    }
    if (count >= 0 && *n != count) {
      error = source + ": inputs hold different numbers of samples (" +
              std::to_string(count) + " and " + std::to_string(*n) + ")";
      return false;
    }
    count = *n;
  }
  for (int64_t s = 0; s < count; ++s) {
    std::vector<ref::Tensor> sample;
    for (size_t i = 0; i < inputs.size(); ++i) {
      RankedTensorType type = inputs[i].type;
      ref::Tensor tensor;
      tensor.elementType = type.getElementType();
      tensor.shape.assign(type.getShape().begin(), type.getShape().end());
      const int64_t size = type.getNumElements();
      tensor.data.resize(size);
      const double *from = arrays[i].values.data() + s * size;
      for (int64_t e = 0; e < size; ++e)
        tensor.data[e] = ref::roundToType(tensor.elementType, from[e]);
      sample.push_back(std::move(tensor));
    }
    pending.push_back(std::move(sample));
  }
  return true;
}

bool SampleReader::next(std::vector<ref::Tensor> &sample, std::string &error) {
  error.clear();
  while (pending.empty()) {
    if (nextSource >= sourceCount())
      return false;
    if (!loadSource(nextSource++, error))
      return false;
  }
  sample = std::move(pending.front());
  pending.pop_front();
  return true;
}

} // namespace qcc::data
