// qrun on a compiled package: inputs from .npy files, outputs to .npy files,
// and --bench timing, all through the runtime's C API (no MLIR here).
#include "tools/qrun/RunPackage.h"

#include "qcc/runtime.h"
#include "runtime/io/Npy.h"
#include "tools/common/NpyKinds.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

namespace qcc::tools {
namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return 1;
}

const char *dtypeName(qcc_dtype t) {
  switch (t) {
  case QCC_F32:
    return "f32";
  case QCC_U8:
    return "u8";
  case QCC_I8:
    return "i8";
  case QCC_I32:
    return "i32";
  case QCC_I64:
    return "i64";
  }
  return "?";
}

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool isFloatKind(rt::ElementKind k) {
  return k == rt::ElementKind::F32 || k == rt::ElementKind::F64 ||
         k == rt::ElementKind::F16;
}

struct Input {
  qcc_tensor_info info;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data; // samples * info.bytes, in the model's type
  int64_t samples = 1;
};

/// Reads `file` for `info`: the exact shape, or with --stacked any number of
/// samples along a leading axis ([S] + shape, or [S] + shape[1:] when the
/// model's first dimension is 1). Floats of another width are converted;
/// integers must have the model's type.
bool readInput(const std::string &name, const std::string &file,
               bool stacked, Input &in, std::string &error) {
  rt::HostArray array;
  if (!rt::readNpy(file, array, error))
    return false;
  const rt::ElementKind want = npyKindOf(in.info.dtype);
  if (array.kind != want && !(isFloatKind(want) && isFloatKind(array.kind))) {
    error = file + ": input '" + name + "' needs " + dtypeName(in.info.dtype) +
            " data, the file holds " + std::string(rt::npyDescr(array.kind));
    return false;
  }
  const std::vector<int64_t> &shape = in.shape;
  bool ok = array.shape == shape;
  in.samples = 1;
  if (!ok && stacked && !array.shape.empty()) {
    std::vector<int64_t> rest(array.shape.begin() + 1, array.shape.end());
    if (rest == shape ||
        (!shape.empty() && shape[0] == 1 &&
         rest == std::vector<int64_t>(shape.begin() + 1, shape.end()))) {
      ok = true;
      in.samples = array.shape[0];
    }
  }
  if (!ok) {
    error = file + ": input '" + name + "' has shape " +
            shapeText(array.shape) + ", the model takes " + shapeText(shape) +
            (stacked ? " (or that shape with a leading sample axis)" : "");
    return false;
  }
  const size_t elementSize = static_cast<size_t>(rt::elementSize(want));
  in.data.resize(static_cast<size_t>(array.elementCount()) * elementSize);
  if (array.kind == want) {
    std::memcpy(in.data.data(), array.bytes.data(), in.data.size());
    return true;
  }
  for (int64_t i = 0; i < array.elementCount(); ++i) {
    const float v = static_cast<float>(array.at(i));
    std::memcpy(in.data.data() + i * 4, &v, 4);
  }
  return true;
}

double percentile(std::vector<double> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  const double pos = p / 100.0 * (sorted.size() - 1);
  const size_t lo = static_cast<size_t>(pos);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

struct ModelFree {
  void operator()(qcc_model *m) const { qcc_model_free(m); }
};
struct ContextFree {
  void operator()(qcc_context *c) const { qcc_context_free(c); }
};

} // namespace

int runPackage(const PackageRunOptions &options) {
  qcc_model *raw = nullptr;
  if (qcc_model_load_file(options.path.c_str(), &raw) != QCC_OK) {
    // A CUDA package fails to load without a GPU; with --device cpu the
    // mismatch is the news.
    const std::string error = qcc_last_error();
    if (options.device == "cpu" && error.find(": CUDA: ") != std::string::npos)
      return fail(options.path + " is a package for cuda, not for --device "
                                 "cpu (" + error + ")");
    return fail(error);
  }
  std::unique_ptr<qcc_model, ModelFree> model(raw);
  const std::string device = qcc_model_device(model.get());
  if (!options.device.empty() && options.device != device)
    return fail(options.path + " is a package for " + device +
                ", not for --device " + options.device);
  qcc_context *rawContext = nullptr;
  if (qcc_context_create(model.get(), options.threads, &rawContext) != QCC_OK)
    return fail(qcc_last_error());
  std::unique_ptr<qcc_context, ContextFree> context(rawContext);

  const size_t numInputs = qcc_model_num_inputs(model.get());
  const size_t numOutputs = qcc_model_num_outputs(model.get());
  std::vector<Input> inputs(numInputs);
  std::map<std::string, size_t> byName;
  for (size_t i = 0; i < numInputs; ++i) {
    qcc_model_input(model.get(), i, &inputs[i].info);
    inputs[i].shape.assign(inputs[i].info.shape,
                           inputs[i].info.shape + inputs[i].info.rank);
    byName[inputs[i].info.name] = i;
  }
  std::vector<bool> given(numInputs, false);
  for (const auto &[name, file] : options.inputs) {
    auto it = byName.find(name);
    if (it == byName.end())
      return fail("the model has no input named '" + name + "'");
    std::string error;
    if (!readInput(name, file, options.stacked, inputs[it->second], error))
      return fail(error);
    given[it->second] = true;
  }
  int64_t samples = 1;
  for (size_t i = 0; i < numInputs; ++i) {
    if (!given[i])
      return fail(std::string("no --input for '") + inputs[i].info.name + "'");
    if (i == 0)
      samples = inputs[i].samples;
    else if (inputs[i].samples != samples)
      return fail("--stacked inputs hold different numbers of samples");
  }

  std::vector<qcc_tensor_info> outInfo(numOutputs);
  for (size_t o = 0; o < numOutputs; ++o)
    qcc_model_output(model.get(), o, &outInfo[o]);
  std::vector<std::vector<uint8_t>> results(numOutputs);
  for (size_t o = 0; o < numOutputs; ++o)
    results[o].resize(outInfo[o].bytes * static_cast<size_t>(samples));

  auto runSample = [&](int64_t s) -> bool {
    std::vector<const void *> in(numInputs);
    std::vector<void *> out(numOutputs);
    for (size_t i = 0; i < numInputs; ++i)
      in[i] = inputs[i].data.data() + s * inputs[i].info.bytes;
    for (size_t o = 0; o < numOutputs; ++o)
      out[o] = results[o].data() + s * outInfo[o].bytes;
    return qcc_run(context.get(), in.data(), numInputs, out.data(),
                   numOutputs) == QCC_OK;
  };
  for (int64_t s = 0; s < samples; ++s)
    if (!runSample(s))
      return fail(qcc_last_error());

  if (options.bench > 0) {
    // Warm up, then time each run of the first sample.
    for (int i = 0; i < std::min(options.bench, 10); ++i)
      runSample(0);
    std::vector<double> ms;
    ms.reserve(options.bench);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < options.bench; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      if (!runSample(0))
        return fail(qcc_last_error());
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - t0)
                       .count());
    }
    const double total = std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    std::printf("bench: %d runs, %d thread%s: latency p50 %.4f ms, p90 %.4f "
                "ms, p99 %.4f ms; throughput %.1f runs/s\n",
                options.bench, qcc_context_threads(context.get()),
                qcc_context_threads(context.get()) == 1 ? "" : "s",
                percentile(ms, 50), percentile(ms, 90), percentile(ms, 99),
                options.bench / total);
  }

  if (!options.outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.outputDir, ec);
    if (ec)
      return fail(options.outputDir + ": " + ec.message());
  }
  for (size_t o = 0; o < numOutputs; ++o) {
    rt::HostArray array;
    array.kind = npyKindOf(outInfo[o].dtype);
    array.shape.assign(outInfo[o].shape, outInfo[o].shape + outInfo[o].rank);
    if (options.stacked) {
      // Concatenated along the first axis, as qrun --reference --stacked.
      if (array.shape.empty())
        array.shape.push_back(samples);
      else
        array.shape[0] *= samples;
    }
    array.bytes = std::move(results[o]);
    if (options.outputDir.empty()) {
      std::printf("%s: %s %s\n", outInfo[o].name, dtypeName(outInfo[o].dtype),
                  shapeText(array.shape).c_str());
      continue;
    }
    const std::string path =
        (std::filesystem::path(options.outputDir) /
         (std::string(outInfo[o].name) + ".npy"))
            .string();
    std::string error;
    if (!rt::writeNpy(path, array, error))
      return fail(error);
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

} // namespace qcc::tools
