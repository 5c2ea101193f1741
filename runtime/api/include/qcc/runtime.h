/* The qcc runtime C API: loads a compiled model package (.qpkg) and runs it.
 *
 * A model is loaded once and is read-only afterwards, so several threads may
 * run it at the same time, each through its own context. A context owns the
 * scratch memory of one run (the memory plan's arena) and a thread pool, or
 * for a CUDA model a device arena and a stream; it must not be used by two
 * threads at once. Free a model's contexts before the model.
 *
 * Every function that can fail returns QCC_OK (0) or QCC_ERROR; the reason is
 * then in qcc_last_error(), which is kept per calling thread.
 *
 * The library has no dependency on MLIR or LLVM. */
#ifndef QCC_RUNTIME_H
#define QCC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QCC_OK 0
#define QCC_ERROR 1

typedef struct qcc_model qcc_model;
typedef struct qcc_context qcc_context;

/* Element types of inputs and outputs (the values match the package). */
typedef enum qcc_dtype {
  QCC_F32 = 1,
  QCC_U8 = 2,
  QCC_I8 = 3,
  QCC_I32 = 4,
  QCC_I64 = 5
} qcc_dtype;

/* One input or output. The pointers stay valid while the model is loaded. */
typedef struct qcc_tensor_info {
  const char *name;
  qcc_dtype dtype;
  size_t rank;
  const int64_t *shape;
  size_t bytes; /* element count times element size */
} qcc_tensor_info;

/* "0.1.0" */
const char *qcc_version(void);

/* The last error of the calling thread, or "" if there was none. */
const char *qcc_last_error(void);

/* Reads and validates a package: its container, manifest, weights, kernel
 * parameters and code. Nothing of an invalid package is run. */
int qcc_model_load_file(const char *path, qcc_model **model);
int qcc_model_load_memory(const void *data, size_t size, qcc_model **model);
void qcc_model_free(qcc_model *model);

size_t qcc_model_num_inputs(const qcc_model *model);
size_t qcc_model_num_outputs(const qcc_model *model);
int qcc_model_input(const qcc_model *model, size_t index,
                    qcc_tensor_info *info);
int qcc_model_output(const qcc_model *model, size_t index,
                     qcc_tensor_info *info);
/* Bytes of scratch memory one context holds for its runs. */
size_t qcc_model_arena_bytes(const qcc_model *model);
/* Bytes of the model's weights section: what a run reads of its weights
 * (for a CUDA package, what is uploaded to the GPU once). */
size_t qcc_model_weight_bytes(const qcc_model *model);
/* The target the code was compiled for, e.g. "cpu x86_64 skylake-avx512" or
 * "cuda sm_80,sm_90". */
const char *qcc_model_target(const qcc_model *model);
/* Where the model runs: "cpu", or "cuda" for a package of PTX code, which
 * runs on GPU 0 through the NVIDIA driver (libcuda.so.1, loaded when such a
 * package is; the environment variable QCC_CUDA_DRIVER names another path).
 * Loading a CUDA package fails, with the reason, on a machine without a
 * driver or GPU. */
const char *qcc_model_device(const qcc_model *model);

/* threads: worker threads of the context, the caller included; 0 uses one
 * per online CPU. CUDA models ignore it (and qcc_context_threads gives 1):
 * their context holds the device arena and a stream instead. */
int qcc_context_create(const qcc_model *model, int threads,
                       qcc_context **context);
void qcc_context_free(qcc_context *context);
int qcc_context_threads(const qcc_context *context);

/* Runs the model: copies inputs[i] (qcc_model_input(i).bytes bytes each) into
 * the context, runs, and copies each output to outputs[i]. */
int qcc_run(qcc_context *context, const void *const *inputs, size_t num_inputs,
            void *const *outputs, size_t num_outputs);

/* Zero-copy use: write inputs in place, call qcc_context_run, read outputs in
 * place. The pointers stay valid for the life of the context; a run may
 * overwrite input buffers (the memory plan reuses them), and output buffers
 * hold the outputs until the next run. */
void *qcc_context_input_data(qcc_context *context, size_t index);
const void *qcc_context_output_data(const qcc_context *context, size_t index);
int qcc_context_run(qcc_context *context);

/* For benchmarks of CUDA packages (qcc-bench-cuda). The number of kernels a
 * run launches (for a CPU package: of kernel calls its code may make). */
size_t qcc_model_num_kernels(const qcc_model *model);

/* Times each kernel of CUDA contexts with CUDA events, on the stream of
 * contexts[0]: per kernel i, one warm-up round, then `repeats` rounds that
 * each launch kernel i of every context in turn. Several copies of a model
 * (each loaded on its own, so each with its own device weights) run
 * round-robin this way keep their weights out of the GPU's L2 cache.
 * ms_per_kernel[i] receives the mean time of one launch, in milliseconds;
 * num_kernels must be qcc_model_num_kernels of every context's model. The
 * kernels read whatever the device arenas hold (zeros, or the inputs of the
 * last run). Returns QCC_ERROR for a context of a CPU package. */
int qcc_context_time_kernels(qcc_context *const *contexts, size_t num_contexts,
                             int repeats, double *ms_per_kernel,
                             size_t num_kernels);

#ifdef __cplusplus
}
#endif

#endif /* QCC_RUNTIME_H */
