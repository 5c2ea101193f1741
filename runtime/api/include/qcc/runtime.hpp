// A thin C++ wrapper over the qcc runtime C API (runtime.h): owning handles
// and exceptions instead of status codes.
#ifndef QCC_RUNTIME_HPP
#define QCC_RUNTIME_HPP

#include "qcc/runtime.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace qcc {

/// Thrown when a runtime call fails; what() is qcc_last_error().
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

namespace detail {
inline void check(int status) {
  if (status != QCC_OK)
    throw Error(qcc_last_error());
}
} // namespace detail

struct TensorInfo {
  std::string name;
  qcc_dtype dtype;
  std::vector<int64_t> shape;
  size_t bytes;
};

class Model {
public:
  /// Loads and validates a .qpkg file.
  static Model load(const std::string &path) {
    qcc_model *m = nullptr;
    detail::check(qcc_model_load_file(path.c_str(), &m));
    return Model(m);
  }
  static Model fromMemory(const void *data, size_t size) {
    qcc_model *m = nullptr;
    detail::check(qcc_model_load_memory(data, size, &m));
    return Model(m);
  }

  std::vector<TensorInfo> inputs() const { return list(false); }
  std::vector<TensorInfo> outputs() const { return list(true); }
  std::string target() const { return qcc_model_target(handle.get()); }
  /// "cpu" or "cuda"; see qcc_model_device.
  std::string device() const { return qcc_model_device(handle.get()); }
  const qcc_model *get() const { return handle.get(); }

private:
  explicit Model(qcc_model *m) : handle(m, &qcc_model_free) {}
  std::vector<TensorInfo> list(bool outputs) const {
    std::vector<TensorInfo> result;
    size_t n = outputs ? qcc_model_num_outputs(handle.get())
                       : qcc_model_num_inputs(handle.get());
    for (size_t i = 0; i < n; ++i) {
      qcc_tensor_info info;
      detail::check(outputs ? qcc_model_output(handle.get(), i, &info)
                            : qcc_model_input(handle.get(), i, &info));
      result.push_back({info.name, info.dtype,
                        std::vector<int64_t>(info.shape, info.shape + info.rank),
                        info.bytes});
    }
    return result;
  }
  std::shared_ptr<qcc_model> handle;
};

/// One run context: use one per thread. Keeps its model alive.
class Context {
public:
  explicit Context(const Model &model, int threads = 0) : model(model) {
    qcc_context *c = nullptr;
    detail::check(qcc_context_create(model.get(), threads, &c));
    handle.reset(c);
  }

  /// Copies the inputs in, runs, copies the outputs out; each buffer has
  /// exactly the byte size given by Model::inputs()/outputs().
  void run(const std::vector<const void *> &inputs,
           const std::vector<void *> &outputs) {
    detail::check(qcc_run(handle.get(), inputs.data(), inputs.size(),
                          outputs.data(), outputs.size()));
  }

  /// Zero-copy access; see qcc_context_input_data.
  void *input(size_t i) { return qcc_context_input_data(handle.get(), i); }
  const void *output(size_t i) const {
    return qcc_context_output_data(handle.get(), i);
  }
  void run() { detail::check(qcc_context_run(handle.get())); }
  int threads() const { return qcc_context_threads(handle.get()); }

private:
  struct Free {
    void operator()(qcc_context *c) const { qcc_context_free(c); }
  };
  Model model;
  std::unique_ptr<qcc_context, Free> handle;
};

} // namespace qcc

#endif // QCC_RUNTIME_HPP
