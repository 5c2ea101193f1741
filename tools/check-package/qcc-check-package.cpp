// qcc-check-package: loads each case directory's model.qpkg, runs it on the
// case's inputs and compares every output with the expected one.
//
//   qcc-check-package [--device cpu|cuda] [--repeat N] CASE_DIR...
//
// A case directory holds model.qpkg, input_<i>.npy for each input i (in
// manifest order), expected_<o>.npy for each output o, and optionally
// tolerance.txt with "atol rtol" (default "0 0": exact). An element passes
// when |got - want| <= atol + rtol * |want|; NaN matches NaN. Prints one line
// per case (PASS, FAIL or ERROR) and a summary; exits 1 if any case did not
// pass, 2 on bad arguments.
#include "qcc/runtime.h"
#include "runtime/io/Npy.h"
#include "tools/common/NpyKinds.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace qcc;
namespace fs = std::filesystem;

constexpr const char *kUsage =
    "usage: qcc-check-package [--device cpu|cuda] [--repeat N] CASE_DIR...\n"
    "\n"
    "Each CASE_DIR holds model.qpkg, input_<i>.npy per input (manifest\n"
    "order), expected_<o>.npy per output, and optionally tolerance.txt with\n"
    "\"atol rtol\" (default 0 0: exact). Prints PASS, FAIL or ERROR per case\n"
    "and exits 1 if any case did not pass.\n"
    "  --device D   require packages for device D (cpu or cuda)\n"
    "  --repeat N   run each case N times, checking every run (default 1)\n";

struct ModelFree {
  void operator()(qcc_model *m) const { qcc_model_free(m); }
};
struct ContextFree {
  void operator()(qcc_context *c) const { qcc_context_free(c); }
};

std::string shapeText(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Reads `file` and checks that it holds exactly `info`'s type and shape.
std::string readTensor(const fs::path &file, const qcc_tensor_info &info,
                       const char *role, rt::HostArray &array) {
  std::string error;
  if (!rt::readNpy(file.string(), array, error))
    return error;
  const std::vector<int64_t> shape(info.shape, info.shape + info.rank);
  if (array.kind != tools::npyKindOf(info.dtype) || array.shape != shape)
    return file.filename().string() + ": " + role + " '" + info.name + "' is " +
           std::string(rt::npyDescr(tools::npyKindOf(info.dtype))) + " " +
           shapeText(shape) + " in the model, " +
           std::string(rt::npyDescr(array.kind)) + " " +
           shapeText(array.shape) + " in the file";
  return {};
}

struct Tolerance {
  double atol = 0, rtol = 0;
};

std::string readTolerance(const fs::path &dir, Tolerance &tolerance) {
  const fs::path file = dir / "tolerance.txt";
  if (!fs::exists(file))
    return {};
  std::ifstream in(file);
  if (!(in >> tolerance.atol >> tolerance.rtol) ||
      !std::isfinite(tolerance.atol) || !std::isfinite(tolerance.rtol) ||
      tolerance.atol < 0 || tolerance.rtol < 0)
    return "tolerance.txt: expected two non-negative numbers, \"atol rtol\"";
  return {};
}

std::string valueText(const rt::HostArray &a, int64_t i) {
  char buffer[64];
  if (a.kind == rt::ElementKind::I64) {
    int64_t v;
    std::memcpy(&v, a.bytes.data() + i * 8, 8);
    return std::to_string(v);
  }
  std::snprintf(buffer, sizeof buffer, "%.9g", a.at(i));
  return buffer;
}

/// Compares one output; returns "" or what differs.
std::string compare(const rt::HostArray &got, const rt::HostArray &want,
                    const std::string &name, const Tolerance &tol) {
  const bool exactIntegers =
      got.kind == rt::ElementKind::I64 && tol.atol == 0 && tol.rtol == 0;
  int64_t firstBad = -1, badCount = 0;
  double maxError = 0;
  for (int64_t i = 0; i < want.elementCount(); ++i) {
    bool ok;
    double error = 0;
    if (exactIntegers) {
      // Doubles hold 64-bit integers beyond 2^53 inexactly.
      ok = std::memcmp(got.bytes.data() + i * 8, want.bytes.data() + i * 8,
                       8) == 0;
      error = ok ? 0 : std::fabs(got.at(i) - want.at(i));
    } else {
      const double g = got.at(i), w = want.at(i);
      if (std::isnan(g) || std::isnan(w)) {
        ok = std::isnan(g) && std::isnan(w);
        error = ok ? 0 : INFINITY;
      } else if (g == w) {
        ok = true; // equal infinities included
      } else {
        error = std::fabs(g - w);
        ok = error <= tol.atol + tol.rtol * std::fabs(w);
      }
    }
    if (error > maxError || std::isnan(error))
      maxError = error;
    if (!ok) {
      ++badCount;
      if (firstBad < 0)
        firstBad = i;
    }
  }
  if (firstBad < 0)
    return {};
  char summary[128];
  std::snprintf(summary, sizeof summary,
                "(max abs err %.9g, %lld of %lld "
                "elements differ)",
                maxError, static_cast<long long>(badCount),
                static_cast<long long>(want.elementCount()));
  return "output '" + name + "' element " + std::to_string(firstBad) +
         ": got " + valueText(got, firstBad) + " want " +
         valueText(want, firstBad) + " " + summary;
}

enum class Outcome { Pass, Fail, Error };

/// Runs one case; `message` is the reason it failed or errored.
Outcome checkCase(const fs::path &dir, const std::string &device, int repeat,
                  std::string &message) {
  qcc_model *rawModel = nullptr;
  const fs::path package = dir / "model.qpkg";
  if (qcc_model_load_file(package.string().c_str(), &rawModel) != QCC_OK) {
    message = qcc_last_error();
    return Outcome::Error;
  }
  std::unique_ptr<qcc_model, ModelFree> model(rawModel);
  const std::string modelDevice = qcc_model_device(model.get());
  if (!device.empty() && device != modelDevice) {
    message = "the package runs on " + modelDevice + ", not on " + device +
              " (--device " + device + ")";
    return Outcome::Error;
  }
  Tolerance tolerance;
  if ((message = readTolerance(dir, tolerance)) != "")
    return Outcome::Error;

  const size_t numInputs = qcc_model_num_inputs(model.get());
  const size_t numOutputs = qcc_model_num_outputs(model.get());
  std::vector<rt::HostArray> inputs(numInputs), expected(numOutputs),
      results(numOutputs);
  std::vector<qcc_tensor_info> outInfo(numOutputs);
  for (size_t i = 0; i < numInputs; ++i) {
    qcc_tensor_info info;
    qcc_model_input(model.get(), i, &info);
    const fs::path file = dir / ("input_" + std::to_string(i) + ".npy");
    if ((message = readTensor(file, info, "input", inputs[i])) != "")
      return Outcome::Error;
  }
  for (size_t o = 0; o < numOutputs; ++o) {
    qcc_model_output(model.get(), o, &outInfo[o]);
    const fs::path file = dir / ("expected_" + std::to_string(o) + ".npy");
    if ((message = readTensor(file, outInfo[o], "output", expected[o])) != "")
      return Outcome::Error;
    results[o] = expected[o];
  }

  qcc_context *rawContext = nullptr;
  if (qcc_context_create(model.get(), 0, &rawContext) != QCC_OK) {
    message = qcc_last_error();
    return Outcome::Error;
  }
  std::unique_ptr<qcc_context, ContextFree> context(rawContext);
  std::vector<const void *> in(numInputs);
  std::vector<void *> out(numOutputs);
  for (size_t i = 0; i < numInputs; ++i)
    in[i] = inputs[i].bytes.data();
  for (int run = 0; run < repeat; ++run) {
    for (size_t o = 0; o < numOutputs; ++o) {
      // A value no correct run leaves behind, so stale data cannot pass.
      std::memset(results[o].bytes.data(), 0xA5, results[o].bytes.size());
      out[o] = results[o].bytes.data();
    }
    if (qcc_run(context.get(), in.data(), numInputs, out.data(), numOutputs) !=
        QCC_OK) {
      message = qcc_last_error();
      if (repeat > 1)
        message = "run " + std::to_string(run + 1) + ": " + message;
      return Outcome::Error;
    }
    for (size_t o = 0; o < numOutputs; ++o) {
      std::string diff =
          compare(results[o], expected[o], outInfo[o].name, tolerance);
      if (!diff.empty()) {
        message = diff;
        if (repeat > 1)
          message += " in run " + std::to_string(run + 1) + " of " +
                     std::to_string(repeat);
        return Outcome::Fail;
      }
    }
  }
  return Outcome::Pass;
}

int usage(const char *problem) {
  std::fprintf(stderr, "error: %s\n%s", problem, kUsage);
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  std::string device;
  int repeat = 1;
  std::vector<std::string> cases;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    auto option = [&](const char *name) {
      const std::string flag = name;
      if (arg == flag) {
        if (i + 1 >= argc)
          return false;
        value = argv[++i];
        return true;
      }
      if (arg.starts_with(flag + "=")) {
        value = arg.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (option("--device")) {
      if (value != "cpu" && value != "cuda")
        return usage(
            ("--device takes cpu or cuda, not '" + value + "'").c_str());
      device = value;
    } else if (option("--repeat")) {
      char *end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end || n < 1 || n > 1000000)
        return usage(
            ("--repeat takes a positive count, not '" + value + "'").c_str());
      repeat = static_cast<int>(n);
    } else if (arg.starts_with("-")) {
      return usage(("unknown option " + arg).c_str());
    } else {
      cases.push_back(arg);
    }
  }
  if (cases.empty())
    return usage("no case directories");

  int passed = 0, failed = 0, errors = 0;
  for (const std::string &c : cases) {
    fs::path dir(c);
    std::string name = dir.filename().string();
    if (name.empty() || name == ".")
      name = dir.parent_path().filename().string();
    if (name.empty())
      name = c;
    std::string message;
    switch (checkCase(dir, device, repeat, message)) {
    case Outcome::Pass:
      ++passed;
      std::printf("PASS %s\n", name.c_str());
      break;
    case Outcome::Fail:
      ++failed;
      std::printf("FAIL %s: %s\n", name.c_str(), message.c_str());
      break;
    case Outcome::Error:
      ++errors;
      std::printf("ERROR %s: %s\n", name.c_str(), message.c_str());
      break;
    }
    std::fflush(stdout);
  }
  std::printf("%d passed, %d failed, %d errors\n", passed, failed, errors);
  return failed || errors ? 1 : 0;
}
