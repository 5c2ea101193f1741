/* The qcc compiler's C API, for programs and languages that cannot use the
 * C++ API (compiler.hpp) it wraps: import an ONNX model, quantize it with
 * calibration samples in memory or in files, get the report as JSON, and
 * write the model or compile it into a package that the runtime (runtime.h)
 * runs.
 *
 * Every function that can fail returns QCC_COMPILER_OK (0) or
 * QCC_COMPILER_ERROR; the reason is then in qcc_compiler_last_error() (one
 * line) and qcc_compiler_last_diagnostics() (every diagnostic, each naming
 * the model file and ONNX node), kept per calling thread until the next
 * failing call. Options are set by their command-line names as strings
 * ("scheme" = "int8", "group-size" = "64"), so the ABI does not change as
 * options are added. */
#ifndef QCC_COMPILER_H
#define QCC_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QCC_COMPILER_OK 0
#define QCC_COMPILER_ERROR 1

/* A model in qcc's IR (imported, or quantized). */
typedef struct qcc_compiler_model qcc_compiler_model;

/* Element types of calibration arrays; the values match runtime.h's
 * qcc_dtype where both have the type. */
typedef enum qcc_compiler_dtype {
  QCC_COMPILER_F32 = 1,
  QCC_COMPILER_U8 = 2,
  QCC_COMPILER_I8 = 3,
  QCC_COMPILER_I32 = 4,
  QCC_COMPILER_I64 = 5,
  QCC_COMPILER_F64 = 6,
  QCC_COMPILER_F16 = 7,
  QCC_COMPILER_BOOL = 8
} qcc_compiler_dtype;

/* An array in memory, borrowed for the duration of a call. */
typedef struct qcc_compiler_array {
  const char *name; /* the model input it feeds */
  qcc_compiler_dtype dtype;
  size_t rank;
  const int64_t *shape;
  const void *data; /* row-major, native byte order */
} qcc_compiler_array;

/* A name/value option, by its command-line name. */
typedef struct qcc_compiler_option {
  const char *name;
  const char *value;
} qcc_compiler_option;

const char *qcc_compiler_version(void);
const char *qcc_compiler_last_error(void);
const char *qcc_compiler_last_diagnostics(void);

/* Imports an ONNX model from a file or from memory (`name` names it in
 * diagnostics). Import options: "input-shape" = "NAME=1x3x224x224"
 * (repeatable) and "inline-limit". */
int qcc_compiler_import_file(const char *path,
                             const qcc_compiler_option *options,
                             size_t num_options, qcc_compiler_model **model);
int qcc_compiler_import_memory(const void *data, size_t size, const char *name,
                               const qcc_compiler_option *options,
                               size_t num_options, qcc_compiler_model **model);
void qcc_compiler_model_free(qcc_compiler_model *model);

/* Quantizes `model` into a new model. Calibration samples come from memory
 * (`arrays` holds num_samples groups of arrays_per_sample arrays, one per
 * model input) or from files (`calib_files`, as qcc quantize --calib takes
 * them; NULL when arrays are given). Options are those of qcc quantize
 * (scheme, method, group-size, size-budget, ...). */
int qcc_compiler_quantize(const qcc_compiler_model *model,
                          const qcc_compiler_array *arrays,
                          size_t arrays_per_sample, size_t num_samples,
                          const char *calib_files,
                          const qcc_compiler_option *options,
                          size_t num_options, qcc_compiler_model **quantized);

/* The quantization report as JSON, or NULL for a model that was not
 * quantized. Owned by the model. */
const char *qcc_compiler_report_json(const qcc_compiler_model *model);

/* Writes the model: .mlir, .onnx (QDQ) or .qpkg (compiled for this CPU). */
int qcc_compiler_save(const qcc_compiler_model *model, const char *path);

/* Compiles the model with the options of qcc compile (target, cuda-arch, cpu,
 * cpu-features, opt-level, emit) and writes the result to `path`. */
int qcc_compiler_compile(const qcc_compiler_model *model,
                         const qcc_compiler_option *options, size_t num_options,
                         const char *path);

#ifdef __cplusplus
}
#endif

#endif /* QCC_COMPILER_H */
