// The C API (compiler.h) over the C++ API: handles, status codes and a
// per-thread last error. Uses only the public headers.
#include "qcc/compiler.h"
#include "qcc/compiler.hpp"

#include <optional>
#include <string>

using namespace qcc::compiler;

struct qcc_compiler_model {
  Model model;
  std::string reportJson;
};

namespace {

thread_local std::string lastError;
thread_local std::string lastDiagnostics;

int failWith(const Error &error) {
  lastError = error.message;
  lastDiagnostics = error.describe();
  return QCC_COMPILER_ERROR;
}

int failWith(const std::string &message) {
  return failWith(Error{message, {}});
}

std::optional<DType> toDType(qcc_compiler_dtype dtype) {
  switch (dtype) {
  case QCC_COMPILER_F32:
    return DType::F32;
  case QCC_COMPILER_U8:
    return DType::U8;
  case QCC_COMPILER_I8:
    return DType::I8;
  case QCC_COMPILER_I32:
    return DType::I32;
  case QCC_COMPILER_I64:
    return DType::I64;
  case QCC_COMPILER_F64:
    return DType::F64;
  case QCC_COMPILER_F16:
    return DType::F16;
  case QCC_COMPILER_BOOL:
    return DType::Bool;
  }
  return std::nullopt;
}

template <typename Options>
std::optional<Error>
setOptions(Options &out, const qcc_compiler_option *options, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (!options[i].name || !options[i].value)
      return Error{"option " + std::to_string(i) + " has a null name or value",
                   {}};
    if (Status s = setOption(out, options[i].name, options[i].value); !s)
      return s.error();
  }
  return std::nullopt;
}

int wrap(Result<Model> model, qcc_compiler_model **out) {
  if (!model)
    return failWith(model.error());
  auto *handle = new qcc_compiler_model{std::move(*model), {}};
  if (const Report *report = handle->model.report())
    handle->reportJson = reportToJson(*report);
  *out = handle;
  return QCC_COMPILER_OK;
}

} // namespace

extern "C" {

const char *qcc_compiler_version(void) { return version(); }
const char *qcc_compiler_last_error(void) { return lastError.c_str(); }
const char *qcc_compiler_last_diagnostics(void) {
  return lastDiagnostics.c_str();
}

int qcc_compiler_import_file(const char *path,
                             const qcc_compiler_option *options,
                             size_t num_options, qcc_compiler_model **model) {
  if (!path || !model || (num_options && !options))
    return failWith("qcc_compiler_import_file: null argument");
  ImportOptions parsed;
  if (std::optional<Error> e = setOptions(parsed, options, num_options))
    return failWith(*e);
  return wrap(Model::importOnnx(path, parsed), model);
}

int qcc_compiler_import_memory(const void *data, size_t size, const char *name,
                               const qcc_compiler_option *options,
                               size_t num_options, qcc_compiler_model **model) {
  if ((!data && size) || !model || (num_options && !options))
    return failWith("qcc_compiler_import_memory: null argument");
  ImportOptions parsed;
  if (std::optional<Error> e = setOptions(parsed, options, num_options))
    return failWith(*e);
  return wrap(Model::importOnnx(data, size, name ? name : "<memory>", parsed),
              model);
}

void qcc_compiler_model_free(qcc_compiler_model *model) { delete model; }

int qcc_compiler_quantize(const qcc_compiler_model *model,
                          const qcc_compiler_array *arrays,
                          size_t arrays_per_sample, size_t num_samples,
                          const char *calib_files,
                          const qcc_compiler_option *options,
                          size_t num_options, qcc_compiler_model **quantized) {
  if (!model || !quantized || (num_options && !options) ||
      (num_samples && arrays_per_sample && !arrays))
    return failWith("qcc_compiler_quantize: null argument");
  QuantizeOptions parsed;
  if (std::optional<Error> e = setOptions(parsed, options, num_options))
    return failWith(*e);
  SampleSet calibration;
  if (calib_files)
    calibration.files = calib_files;
  for (size_t s = 0; s < num_samples; ++s) {
    Sample sample;
    for (size_t a = 0; a < arrays_per_sample; ++a) {
      const qcc_compiler_array &array = arrays[s * arrays_per_sample + a];
      std::optional<DType> dtype = toDType(array.dtype);
      if (!dtype)
        return failWith("calibration sample " + std::to_string(s) + ": array " +
                        std::to_string(a) + " has an unknown dtype " +
                        std::to_string(static_cast<int>(array.dtype)));
      if (array.rank && !array.shape)
        return failWith("calibration sample " + std::to_string(s) + ": array " +
                        std::to_string(a) + " has no shape");
      sample.push_back(
          {array.name ? array.name : "", *dtype,
           std::vector<int64_t>(array.shape, array.shape + array.rank),
           array.data});
    }
    calibration.samples.push_back(std::move(sample));
  }
  return wrap(model->model.quantize(calibration, parsed), quantized);
}

const char *qcc_compiler_report_json(const qcc_compiler_model *model) {
  return model && model->model.report() ? model->reportJson.c_str() : nullptr;
}

int qcc_compiler_save(const qcc_compiler_model *model, const char *path) {
  if (!model || !path)
    return failWith("qcc_compiler_save: null argument");
  if (Status s = model->model.save(path); !s)
    return failWith(s.error());
  return QCC_COMPILER_OK;
}

int qcc_compiler_compile(const qcc_compiler_model *model,
                         const qcc_compiler_option *options, size_t num_options,
                         const char *path) {
  if (!model || !path || (num_options && !options))
    return failWith("qcc_compiler_compile: null argument");
  CompileOptions parsed;
  if (std::optional<Error> e = setOptions(parsed, options, num_options))
    return failWith(*e);
  Result<Artifact> artifact = model->model.compile(parsed);
  if (!artifact)
    return failWith(artifact.error());
  if (Status s = artifact->save(path); !s)
    return failWith(s.error());
  return QCC_COMPILER_OK;
}

} // extern "C"
