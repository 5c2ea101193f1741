// The _qcc extension module: a thin layer over the compiler API
// (qcc/compiler.hpp) and the runtime's C++ wrapper (qcc/runtime.hpp). The
// Python package (python/qcc) builds the user-facing API on it. Arrays cross
// as (name, dtype, shape, address) so that numpy buffers are used in place:
// the Python side keeps them alive for the call.
#include "qcc/compiler.hpp"
#include "qcc/runtime.hpp"

#include <nanobind/nanobind.h>
#include <nanobind/stl/function.h>
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

namespace nb = nanobind;
using namespace nb::literals;
namespace qc = qcc::compiler;

namespace {

/// An error as Python data: (message, [(severity, location, nodes, message)]).
using ErrorTuple =
    std::pair<std::string,
              std::vector<std::tuple<std::string, std::string,
                                     std::vector<std::string>, std::string>>>;

ErrorTuple toTuple(const qc::Error &error) {
  ErrorTuple result{error.message, {}};
  for (const qc::Diagnostic &d : error.diagnostics)
    result.second.emplace_back(d.severity, d.location, d.nodes, d.message);
  return result;
}

/// A Result as (value, None) or (None, error).
template <typename T, typename F,
          typename U = decltype(std::declval<F>()(std::declval<T>()))>
std::pair<std::optional<U>, std::optional<ErrorTuple>>
unpack(qc::Result<T> result, F &&convert) {
  if (!result)
    return {std::nullopt, toTuple(result.error())};
  return {convert(std::move(*result)), std::nullopt};
}

std::optional<ErrorTuple> unpack(const qc::Status &status) {
  if (status)
    return std::nullopt;
  return toTuple(status.error());
}

qc::DType parseDType(const std::string &name) {
  static const std::map<std::string, qc::DType> names = {
      {"float64", qc::DType::F64}, {"float32", qc::DType::F32},
      {"float16", qc::DType::F16}, {"int64", qc::DType::I64},
      {"int32", qc::DType::I32},   {"int16", qc::DType::I16},
      {"int8", qc::DType::I8},     {"uint64", qc::DType::U64},
      {"uint32", qc::DType::U32},  {"uint16", qc::DType::U16},
      {"uint8", qc::DType::U8},    {"bool", qc::DType::Bool}};
  auto it = names.find(name);
  if (it == names.end())
    throw nb::value_error(("qcc cannot read arrays of dtype " + name).c_str());
  return it->second;
}

/// (name, dtype, shape, address) for each array of each sample.
using ArrayTuple =
    std::tuple<std::string, std::string, std::vector<int64_t>, uintptr_t>;

qc::SampleSet toSamples(const std::vector<std::vector<ArrayTuple>> &samples,
                        const std::string &files) {
  qc::SampleSet set;
  set.files = files;
  for (const auto &sample : samples) {
    qc::Sample arrays;
    for (const auto &[name, dtype, shape, address] : sample)
      arrays.push_back({name, parseDType(dtype), shape,
                        reinterpret_cast<const void *>(address)});
    set.samples.push_back(std::move(arrays));
  }
  return set;
}

/// Runs a Python progress callback; an exception it raises is reported as
/// unraisable rather than thrown through the compiler.
qc::ProgressCallback wrapProgress(nb::object callback) {
  if (callback.is_none())
    return {};
  return [callback](const qc::Progress &p) {
    try {
      callback(p.stage, p.done, p.total, p.finished);
    } catch (nb::python_error &e) {
      e.discard_as_unraisable("qcc progress callback");
    }
  };
}

const char *dtypeName(qcc_dtype dtype) {
  switch (dtype) {
  case QCC_F32:
    return "float32";
  case QCC_U8:
    return "uint8";
  case QCC_I8:
    return "int8";
  case QCC_I32:
    return "int32";
  case QCC_I64:
    return "int64";
  }
  return "unknown";
}

using TensorTuple = std::tuple<std::string, std::string, std::vector<int64_t>>;

std::vector<TensorTuple> describe(const std::vector<qcc::TensorInfo> &infos) {
  std::vector<TensorTuple> result;
  for (const qcc::TensorInfo &t : infos)
    result.emplace_back(t.name, dtypeName(t.dtype), t.shape);
  return result;
}

/// A loaded package with one run context.
struct Runtime {
  qcc::Model model;
  qcc::Context context;
  std::vector<qcc::TensorInfo> inputs, outputs;

  Runtime(qcc::Model m, int threads)
      : model(std::move(m)), context(model, threads), inputs(model.inputs()),
        outputs(model.outputs()) {}

  /// Runs on buffers the caller checked: inputs[i] and outputs[i] hold
  /// exactly the bytes of input and output i.
  void run(const std::vector<uintptr_t> &in,
           const std::vector<uintptr_t> &out) {
    if (in.size() != inputs.size() || out.size() != outputs.size())
      throw nb::value_error("wrong number of buffers");
    std::vector<const void *> inPointers;
    for (uintptr_t a : in)
      inPointers.push_back(reinterpret_cast<const void *>(a));
    std::vector<void *> outPointers;
    for (uintptr_t a : out)
      outPointers.push_back(reinterpret_cast<void *>(a));
    nb::gil_scoped_release release;
    context.run(inPointers, outPointers);
  }
};

} // namespace

NB_MODULE(_qcc, m) {
  m.doc() = "qcc's compiler and runtime (use the qcc package, not this)";
  m.def("version", &qc::version);

  nb::class_<qc::Model>(m, "Model")
      .def_static(
          "import_onnx",
          [](const std::string &path,
             const std::map<std::string, std::vector<int64_t>> &shapes) {
            qc::ImportOptions options;
            options.inputShapes = shapes;
            return unpack(qc::Model::importOnnx(path, options),
                          [](qc::Model m) { return std::move(m); });
          },
          "path"_a, "input_shapes"_a)
      .def_static(
          "import_onnx_bytes",
          [](nb::bytes data, const std::string &name,
             const std::map<std::string, std::vector<int64_t>> &shapes) {
            qc::ImportOptions options;
            options.inputShapes = shapes;
            return unpack(
                qc::Model::importOnnx(data.c_str(), data.size(), name, options),
                [](qc::Model m) { return std::move(m); });
          },
          "data"_a, "name"_a, "input_shapes"_a)
      .def_static(
          "parse_mlir",
          [](const std::string &path) {
            return unpack(qc::Model::parseMlir(path),
                          [](qc::Model m) { return std::move(m); });
          },
          "path"_a)
      .def(
          "quantize",
          [](const qc::Model &self,
             const std::vector<std::vector<ArrayTuple>> &calib,
             const std::string &calibFiles,
             const std::vector<std::vector<ArrayTuple>> &eval,
             const std::string &evalFiles,
             const std::map<std::string, std::string> &options,
             nb::object progress) -> std::pair<std::optional<qc::Model>,
                                               std::optional<ErrorTuple>> {
            qc::QuantizeOptions parsed;
            for (const auto &[name, value] : options)
              if (qc::Status s = qc::setOption(parsed, name, value); !s)
                return {std::nullopt, toTuple(s.error())};
            parsed.progress = wrapProgress(progress);
            return unpack(self.quantize(toSamples(calib, calibFiles), parsed,
                                        toSamples(eval, evalFiles)),
                          [](qc::Model m) { return std::move(m); });
          },
          "calib"_a, "calib_files"_a, "eval"_a, "eval_files"_a, "options"_a,
          "progress"_a.none())
      .def(
          "compile",
          [](const qc::Model &self,
             const std::map<std::string, std::string> &options)
              -> std::pair<std::optional<std::pair<nb::bytes, std::string>>,
                           std::optional<ErrorTuple>> {
            qc::CompileOptions parsed;
            for (const auto &[name, value] : options)
              if (qc::Status s = qc::setOption(parsed, name, value); !s)
                return {std::nullopt, toTuple(s.error())};
            return unpack(self.compile(parsed), [](qc::Artifact a) {
              return std::make_pair(
                  nb::bytes(reinterpret_cast<const char *>(a.bytes.data()),
                            a.bytes.size()),
                  a.summary);
            });
          },
          "options"_a)
      .def("save",
           [](const qc::Model &self, const std::string &path) {
             return unpack(self.save(path));
           })
      .def("mlir", &qc::Model::mlir)
      .def("report_json",
           [](const qc::Model &self) -> std::optional<std::string> {
             if (const qc::Report *report = self.report())
               return qc::reportToJson(*report);
             return std::nullopt;
           })
      .def("report_html",
           [](const qc::Model &self) -> std::optional<std::string> {
             if (const qc::Report *report = self.report())
               return qc::reportToHtml(*report);
             return std::nullopt;
           })
      .def("inputs", &qc::Model::inputs)
      .def("source", &qc::Model::source)
      .def("warnings", [](const qc::Model &self) {
        std::vector<std::string> lines;
        for (const qc::Diagnostic &d : self.warnings())
          lines.push_back((d.location.empty() ? "" : d.location + ": ") +
                          d.message);
        return lines;
      });

  nb::class_<Runtime>(m, "Runtime")
      .def_static(
          "load_file",
          [](const std::string &path, int threads) {
            return new Runtime(qcc::Model::load(path), threads);
          },
          "path"_a, "threads"_a, nb::rv_policy::take_ownership)
      .def_static(
          "load_bytes",
          [](nb::bytes data, int threads) {
            return new Runtime(
                qcc::Model::fromMemory(data.c_str(), data.size()), threads);
          },
          "data"_a, "threads"_a, nb::rv_policy::take_ownership)
      .def("inputs", [](const Runtime &r) { return describe(r.inputs); })
      .def("outputs", [](const Runtime &r) { return describe(r.outputs); })
      .def("target", [](const Runtime &r) { return r.model.target(); })
      .def("device", [](const Runtime &r) { return r.model.device(); })
      .def("threads", [](const Runtime &r) { return r.context.threads(); })
      .def("run", &Runtime::run, "inputs"_a, "outputs"_a);
}
