// Weight quantization algorithms on a plain matrix (DESIGN.md section 4):
// RTN, GPTQ, the AWQ scale search and SmoothQuant's migration scales, plus
// the output-error measure they share. Plain C++: no MLIR or LLVM.
//
// Every function sees a weight as qg.matmul's right operand: W is K x N,
// row-major, row k holding input feature k's weights for all N outputs, so
// y = x W for an activation row x of length K. Granularities are expressed
// on that layout: per-output-channel is {axis = 1}, groups of g inputs are
// {axis = 0, blockSize = g}, per-tensor is {axis = -1}.
#ifndef QCC_PASSES_ALGORITHMS_WEIGHTALGORITHMS_H
#define QCC_PASSES_ALGORITHMS_WEIGHTALGORITHMS_H

#include "runtime/numerics/Numerics.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace qcc::qg {

/// The target of weight quantization.
struct WeightSpec {
  rt::Format format = rt::Format::I8;
  /// 0: one scale per output channel; g > 0: groups of g consecutive input
  /// features per output channel; -1: one scale for the whole tensor.
  int64_t groupSize = 0;
  bool symmetric = true;

  rt::Granularity granularity() const;
};

struct QuantizedWeight {
  rt::QuantParams params;     ///< granularity as WeightSpec::granularity()
  std::vector<int32_t> codes; ///< K x N
  /// codes dequantized (K x N), what the quantized layer multiplies by.
  std::vector<float> dequantized;
};

/// Round to nearest with each group's own range.
QuantizedWeight quantizeRTN(std::span<const float> w, int64_t k, int64_t n,
                            const WeightSpec &spec);

struct GptqOptions {
  /// Added to the Hessian's diagonal: dampening x mean(diag(H)).
  double dampening = 0.01;
  /// Input features processed together before the error is propagated to the
  /// remaining ones (lazy batch updates).
  int64_t blockSize = 128;
  /// Process input features by decreasing Hessian diagonal. Group scales
  /// are then fixed from the unmodified weights up front ("static groups"),
  /// so groups stay contiguous in the natural order and the result is
  /// expressible as an ONNX blocked layout.
  bool activationOrder = false;
};

/// GPTQ (Frantar et al. 2022): quantizes input features one at a time and
/// spreads each one's rounding error over the features not yet quantized,
/// weighted by the inverse Hessian. `gram` is sum x x^T over calibration
/// rows (K x K). Returns false with `error` set when the damped Hessian is
/// not positive definite, or when sizes mismatch or an input is not finite.
/// Inputs with a zero Gram diagonal (never active) are quantized as weight 0.
bool quantizeGPTQ(std::span<const float> w, int64_t k, int64_t n,
                  std::span<const double> gram, const WeightSpec &spec,
                  const GptqOptions &options, QuantizedWeight &result,
                  std::string &error);

/// sum over calibration rows of |x (W - What)|^2, from the Gram matrix:
/// trace((W - What)^T G (W - What)). The layer output error every weight
/// algorithm here minimizes. G must be symmetric: only its diagonal and
/// upper triangle are read.
double outputError(std::span<const float> w, std::span<const float> wHat,
                   int64_t k, int64_t n, std::span<const double> gram);

/// AWQ (Lin et al. 2023): per-input-feature scales s = meanAbs^alpha /
/// sqrt(max(meanAbs^alpha) * min(meanAbs^alpha)), and the alpha on the grid
/// {0, 1/gridPoints, ..., (gridPoints-1)/gridPoints} that minimizes the output
/// error of x diag(1/s) Q(diag(s) W) (ties take the smaller alpha). meanAbs is
/// clamped below to 1e-6 of its largest entry so that no scale is 0.
struct AwqResult {
  double alpha = 0;
  std::vector<float> scales;      ///< K; multiply W's rows, divide x
  std::vector<double> gridErrors; ///< outputError for each grid point
  QuantizedWeight weight;         ///< Q(diag(s) W)
};
AwqResult searchAWQ(std::span<const float> w, int64_t k, int64_t n,
                    std::span<const double> gram,
                    std::span<const double> meanAbs, const WeightSpec &spec,
                    int gridPoints = 20);

/// SmoothQuant (Xiao et al. 2023): s_k = max|x_k|^alpha / max_n |W_kn|^(1 -
/// alpha), so x / s and diag(s) W share the quantization difficulty. Scales
/// of channels with no activation or no weight are 1; all are finite and
/// positive, clamped to [2^-20, 2^20].
std::vector<float> smoothQuantScales(std::span<const double> activationAbsMax,
                                     std::span<const float> w, int64_t k,
                                     int64_t n, double alpha = 0.5);

} // namespace qcc::qg

#endif // QCC_PASSES_ALGORITHMS_WEIGHTALGORITHMS_H
