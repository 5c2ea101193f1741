// The quantization report as a structure: what qcc did to each layer of a
// model and what it cost. Part of the installed compiler API (compiler.hpp);
// plain C++17, no MLIR.
#ifndef QCC_REPORT_HPP
#define QCC_REPORT_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace qcc::compiler {

struct LayerReport {
  std::string name;                 ///< e.g. "/layer0/attn/q/MatMul"
  std::vector<std::string> sources; ///< ONNX node names (fused locations)
  std::string op;                   ///< "qg.matmul"
  std::string format;               ///< "i8", "i4", "nf4", "f32", ...
  std::string granularity;          ///< "channel", "g128", "tensor"
  std::string algorithm;            ///< "rtn", "gptq", "awq", "smoothquant"
  std::string activations;          ///< "f32", "i8 static", "i8 dynamic"
  double bits = 32;                 ///< stored bits per weight, scales included
  int64_t weightElements = 0;
  int64_t bytesFp32 = 0;
  int64_t bytes = 0;
  /// Error of this layer's output against FP32 on held-out samples, with
  /// the whole quantized model upstream (absent when not measured).
  std::optional<double> sqnrDb;
  std::optional<double> mse;
  /// Output error of this layer alone on the calibration activations
  /// (sum |x (W - What)|^2) for the chosen weight algorithm and for RTN at
  /// the same format: how much GPTQ or AWQ helped (absent without Gram
  /// statistics).
  std::optional<double> weightOutputError;
  std::optional<double> rtnWeightOutputError;
};

struct FrontierPoint {
  int64_t bytes = 0;
  double error = 0;
  bool chosen = false;
};

struct ModelMetric {
  std::string name; ///< e.g. "output SQNR (dB)", "top-1 agreement"
  double value = 0;
};

struct Report {
  std::string model;       ///< input file
  std::string scheme;      ///< "int8", "w8a8", "w8a16", "fp8", "w4a16", "nf4", "mixed"
  std::string method;      ///< weight algorithm
  std::string calibration; ///< e.g. "entropy, 500 samples"
  int64_t bytesFp32 = 0;   ///< all float weights of the model
  int64_t bytesQuantized = 0;
  std::vector<ModelMetric> metrics;
  std::vector<LayerReport> layers;
  std::vector<FrontierPoint> frontier; ///< empty unless mixed precision
};

/// The report as JSON text (UTF-8, keys as in the structs, optional fields
/// null, non-finite numbers as the strings "inf", "-inf" and "nan").
std::string reportToJson(const Report &report);
/// The report as one self-contained HTML page (inline SVG charts).
std::string reportToHtml(const Report &report);

} // namespace qcc::compiler

#endif // QCC_REPORT_HPP
