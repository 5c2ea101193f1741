// Embedding the qcc compiler and runtime: import an ONNX model, quantize it
// to int8 with calibration samples that are already in memory, print the
// report, compile it for this CPU, and run the package.
//
//   quantize-and-run MODEL.onnx SAMPLES.f32 COUNT OUT.qpkg
//
// SAMPLES.f32 holds COUNT raw little-endian float samples for the model's
// one input. The program calibrates on them, runs the compiled package on the
// first one and prints its first output, one value a line.
#include <qcc/compiler.hpp>
#include <qcc/runtime.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

namespace qc = qcc::compiler;

int main(int argc, char **argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.onnx SAMPLES.f32 COUNT OUT.qpkg\n",
                 argv[0]);
    return 2;
  }
  qc::Result<qc::Model> model = qc::Model::importOnnx(argv[1]);
  if (!model) {
    std::fprintf(stderr, "%s", model.error().describe().c_str());
    return 1;
  }
  auto inputs = model->inputs();
  if (inputs.size() != 1) {
    std::fprintf(stderr, "error: the example needs a model with one input\n");
    return 1;
  }
  auto [name, shape] = inputs.front();
  // Symbolic dimensions (a batch) become 1: import again with the shape.
  size_t perSample = 1;
  bool symbolic = false;
  for (int64_t &dim : shape) {
    symbolic |= dim < 0;
    dim = dim < 0 ? 1 : dim;
    perSample *= static_cast<size_t>(dim);
  }
  if (symbolic) {
    qc::ImportOptions fixed;
    fixed.inputShapes[name] = shape;
    model = qc::Model::importOnnx(argv[1], fixed);
    if (!model) {
      std::fprintf(stderr, "%s", model.error().describe().c_str());
      return 1;
    }
  }

  // The samples, in memory: COUNT arrays of the input's shape.
  const long count = std::strtol(argv[3], nullptr, 10);
  std::ifstream file(argv[2], std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                          std::istreambuf_iterator<char>());
  if (count <= 0 || bytes.size() != count * perSample * sizeof(float)) {
    std::fprintf(stderr,
                 "error: %s holds %zu bytes, not %ld samples of %zu "
                 "floats\n",
                 argv[2], bytes.size(), count, perSample);
    return 1;
  }
  const float *data = reinterpret_cast<const float *>(bytes.data());
  qc::SampleSet calibration;
  for (long s = 0; s < count; ++s)
    calibration.samples.push_back(
        {{name, qc::DType::F32, shape, data + s * perSample}});

  qc::QuantizeOptions options;
  options.scheme = "int8";
  options.holdout = 0;
  options.progress = [](const qc::Progress &p) {
    if (p.finished)
      std::fprintf(stderr, "%s: %lld done\n", p.stage.c_str(),
                   static_cast<long long>(p.done));
  };
  qc::Result<qc::Model> quantized = model->quantize(calibration, options);
  if (!quantized) {
    std::fprintf(stderr, "%s", quantized.error().describe().c_str());
    return 1;
  }
  const qc::Report &report = *quantized->report();
  std::fprintf(stderr, "%s: %zu layers, %lld -> %lld weight bytes\n",
               report.scheme.c_str(), report.layers.size(),
               static_cast<long long>(report.bytesFp32),
               static_cast<long long>(report.bytesQuantized));
  for (const qc::LayerReport &layer : report.layers)
    std::fprintf(stderr, "  %-32s %-4s %.2f bits\n", layer.name.c_str(),
                 layer.format.c_str(), layer.bits);

  qc::Result<qc::Artifact> package = quantized->compile();
  if (!package) {
    std::fprintf(stderr, "%s", package.error().describe().c_str());
    return 1;
  }
  if (qc::Status saved = package->save(argv[4]); !saved) {
    std::fprintf(stderr, "%s", saved.error().describe().c_str());
    return 1;
  }
  std::fprintf(stderr, "%s\n", package->summary.c_str());

  // Run it from memory with the runtime.
  try {
    qcc::Model runtimeModel =
        qcc::Model::fromMemory(package->bytes.data(), package->bytes.size());
    qcc::Context context(runtimeModel, 1);
    std::vector<qcc::TensorInfo> outputs = runtimeModel.outputs();
    std::vector<float> out(outputs.at(0).bytes / sizeof(float));
    std::vector<std::vector<char>> rest(outputs.size());
    std::vector<void *> pointers{out.data()};
    for (size_t o = 1; o < outputs.size(); ++o) {
      rest[o].resize(outputs[o].bytes);
      pointers.push_back(rest[o].data());
    }
    context.run({data}, pointers);
    for (float v : out)
      std::printf("%.9g\n", v);
  } catch (const qcc::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
