// Embedding the qcc runtime: load a compiled package, list its inputs and
// outputs, and run it from two threads at once, each with its own context.
//
//   embed MODEL.qpkg INPUT.f32   (raw little-endian floats for the first
//                                 input; the model must take one f32 input)
//
// Prints each output value of the first output, one per line, and fails if
// the two threads disagree.
#include <qcc/runtime.hpp>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.qpkg INPUT.f32\n", argv[0]);
    return 2;
  }
  try {
    qcc::Model model = qcc::Model::load(argv[1]);
    std::vector<qcc::TensorInfo> inputs = model.inputs(),
                                 outputs = model.outputs();
    std::fprintf(stderr, "%s: %s\n", argv[1], model.target().c_str());
    for (const auto &t : inputs)
      std::fprintf(stderr, "  input %s: %zu bytes\n", t.name.c_str(), t.bytes);
    for (const auto &t : outputs)
      std::fprintf(stderr, "  output %s: %zu bytes\n", t.name.c_str(),
                   t.bytes);
    if (inputs.size() != 1 || inputs[0].dtype != QCC_F32) {
      std::fprintf(stderr, "error: the example needs one f32 input\n");
      return 1;
    }
    std::ifstream file(argv[2], std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
    if (bytes.size() != inputs[0].bytes) {
      std::fprintf(stderr, "error: %s holds %zu bytes, the input takes %zu\n",
                   argv[2], bytes.size(), inputs[0].bytes);
      return 1;
    }
    // Two threads, one context each, one loaded model.
    std::vector<std::vector<float>> results(2);
    std::vector<std::string> errors(2);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&, t] {
        try {
          qcc::Context context(model, 1);
          std::vector<std::vector<char>> out(outputs.size());
          std::vector<void *> outPointers;
          for (size_t o = 0; o < outputs.size(); ++o) {
            out[o].resize(outputs[o].bytes);
            outPointers.push_back(out[o].data());
          }
          for (int run = 0; run < 100; ++run)
            context.run({bytes.data()}, outPointers);
          const float *first = reinterpret_cast<const float *>(out[0].data());
          results[t].assign(first, first + outputs[0].bytes / sizeof(float));
        } catch (const qcc::Error &e) {
          errors[t] = e.what();
        }
      });
    for (std::thread &t : threads)
      t.join();
    for (const std::string &e : errors)
      if (!e.empty()) {
        std::fprintf(stderr, "error: %s\n", e.c_str());
        return 1;
      }
    if (results[0] != results[1]) {
      std::fprintf(stderr, "error: the two threads disagree\n");
      return 1;
    }
    for (float v : results[0])
      std::printf("%.9g\n", v);
  } catch (const qcc::Error &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
