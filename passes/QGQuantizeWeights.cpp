// qg-quantize-weights: quantization of constant weights by RTN, GPTQ or AWQ.
#include "dialects/qg/QGElements.h"
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"
#include "passes/QuantSites.h"
#include "passes/algorithms/Calibration.h"
#include "passes/algorithms/WeightAlgorithms.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGQUANTIZEWEIGHTS
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

struct ReportRow {
  std::string weight, op, shape, algorithm;
  int64_t scales;
  rt::ErrorStats error;
  int64_t bytesBefore, bytesAfter;
  /// Layer output error on the calibration activations (sum |x dW|^2) of
  /// the chosen algorithm and of RTN, when a Gram matrix is known.
  std::optional<double> outputError, rtnOutputError;
};

/// Rearranges K x N quantization results into the layout of a weight stored
/// N x K (gemm trans_b): codes and per-block scale tables are transposed,
/// and the granularity axis moves.
void transposeQuantized(QuantizedWeight &w, int64_t k, int64_t n) {
  auto transposeTable = [](auto &table, int64_t rows, int64_t cols) {
    auto copy = table;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        table[c * rows + r] = copy[r * cols + c];
  };
  transposeTable(w.codes, k, n);
  transposeTable(w.dequantized, k, n);
  rt::Granularity &g = w.params.granularity;
  if (g.isPerBlock()) {
    const int64_t blocks = (k + g.blockSize - 1) / g.blockSize;
    transposeTable(w.params.scales, blocks, n);
    if (!w.params.zeroPoints.empty())
      transposeTable(w.params.zeroPoints, blocks, n);
  }
  if (g.axis >= 0)
    g.axis = 1 - g.axis;
}

class QuantizeWeightsPass
    : public qcc::qg::impl::QGQuantizeWeightsBase<QuantizeWeightsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<rt::Format> storage = rt::parseFormat(format.getValue());
    if (!storage) {
      module.emitError("qg-quantize-weights: unknown format '")
          << format.getValue()
          << "'; expected i8, u8, i4, u4, nf4, f8e4m3fn or f8e5m2";
      return signalPassFailure();
    }
    const std::string &mode = granularity.getValue();
    if (mode != "tensor" && mode != "channel" && mode != "block") {
      module.emitError("qg-quantize-weights: unknown granularity '")
          << mode << "'; expected tensor, channel or block";
      return signalPassFailure();
    }
    if (mode == "block" && blockSize <= 0) {
      module.emitError("qg-quantize-weights: block-size must be positive, got ")
          << blockSize.getValue();
      return signalPassFailure();
    }
    if (*storage == rt::Format::NF4 && mode != "block") {
      module.emitError("qg-quantize-weights: nf4 needs granularity=block");
      return signalPassFailure();
    }

    const std::string &algo = algorithm.getValue();
    if (algo != "rtn" && algo != "gptq" && algo != "awq") {
      module.emitError("qg-quantize-weights: unknown algorithm '")
          << algo << "'; expected rtn, gptq or awq";
      return signalPassFailure();
    }
    if (algo != "rtn" && stats.empty()) {
      module.emitError("qg-quantize-weights: algorithm=")
          << algo << " needs stats=<file> from qg-calibrate with gram=true";
      return signalPassFailure();
    }
    if (!stats.empty()) {
      std::string error;
      if (!loadStats(stats, calibration, error)) {
        module.emitError("qg-quantize-weights: ") << error;
        return signalPassFailure();
      }
    }
    spec.format = *storage;
    spec.groupSize = mode == "block"     ? blockSize.getValue()
                     : mode == "channel" ? 0
                                         : -1;
    spec.symmetric = symmetric;
    if (func::FuncOp function =
            findEntryFunction(module, "qg-quantize-weights"))
      keys.emplace(function);
    else if (!stats.empty())
      return signalPassFailure();
    if (algo == "awq" && failed(applyAWQScales(module)))
      return signalPassFailure();

    SmallVector<WeightSite> sites;
    module.walk([&](Operation *op) {
      if (std::optional<WeightSite> site = findWeight(op))
        sites.push_back(*site);
    });

    SmallVector<ReportRow> rows;
    SmallVector<ConstantOp> replaced;
    for (const WeightSite &site : sites) {
      auto constant = site.operand->get().getDefiningOp<ConstantOp>();
      if (!constant)
        continue;
      auto type = cast<RankedTensorType>(constant.getType());
      if (!isa<FloatType>(type.getElementType()) || !type.hasStaticShape())
        continue;
      Operation *user = site.operand->getOwner();
      if (!layers.empty() &&
          !llvm::is_contained(layers, describeLocation(user->getLoc())))
        continue;

      rt::Granularity g;
      if (mode == "channel" && site.channelAxis >= 0)
        g = {site.channelAxis, 0};
      if (mode == "block") {
        const int64_t dim = type.getDimSize(site.reductionAxis);
        if (dim % blockSize != 0) {
          user->emitWarning("weight of ")
              << describeLocation(user->getLoc()) << " (shape "
              << shapeText(type.getShape()) << ") left in float: block size "
              << blockSize.getValue() << " does not divide dimension "
              << site.reductionAxis << " of size " << dim;
          ++numSkipped;
          continue;
        }
        g = {site.reductionAxis, blockSize};
      }
      FailureOr<SmallVector<float>> values = readFloats(constant.getValue());
      if (failed(values)) {
        user->emitWarning("weight left in float: its values are not readable");
        ++numSkipped;
        continue;
      }

      rt::QuantParams params = rt::computeRTNParams(*values, type.getShape(),
                                                    *storage, g, symmetric);
      std::vector<int32_t> codes(values->size());
      rt::quantizeTensor(*values, type.getShape(), params, codes);

      // The layer's output error through its Gram matrix, and GPTQ.
      // AWQ layers were measured when their scales were chosen, and their
      // input statistics no longer describe the scaled activation.
      const bool awqLayer = user->hasAttr("qg.awq_alpha");
      std::string usedAlgorithm = awqLayer ? "awq" : "rtn";
      std::optional<double> outputErr, rtnOutputErr;
      std::optional<MatrixView> view = matrixView(user);
      const TensorStats *inputStats = awqLayer ? nullptr : statsFor(user);
      if (view && inputStats && !inputStats->gram.empty() &&
          inputStats->channels() == view->k) {
        std::vector<float> kxn = toKxN(*values, *view);
        std::vector<float> approx(values->size());
        rt::dequantizeTensor(codes, type.getShape(), params, approx);
        rtnOutputErr = outputError(kxn, toKxN(approx, *view), view->k, view->n,
                                   inputStats->gram);
        outputErr = rtnOutputErr;
        if (algo == "gptq") {
          QuantizedWeight result;
          std::string error;
          GptqOptions options;
          options.dampening = dampening;
          options.blockSize = gptqBlock;
          options.activationOrder = actOrder;
          if (!quantizeGPTQ(kxn, view->k, view->n, inputStats->gram, spec,
                            options, result, error)) {
            user->emitError("qg-quantize-weights: GPTQ failed for ")
                << describeLocation(user->getLoc()) << ": " << error;
            return signalPassFailure();
          }
          outputErr = outputError(kxn, result.dequantized, view->k, view->n,
                                  inputStats->gram);
          if (view->transposed)
            transposeQuantized(result, view->k, view->n);
          params = std::move(result.params);
          codes = std::move(result.codes);
          usedAlgorithm = "gptq";
        }
      } else if (algo == "gptq" && !awqLayer) {
        user->emitRemark("GPTQ needs a 2-D matmul or gemm weight and the Gram "
                         "matrix of its input; ")
            << describeLocation(user->getLoc()) << " uses RTN";
      }
      Builder attrs(&getContext());
      user->setAttr("qg.weight_algorithm", attrs.getStringAttr(usedAlgorithm));
      if (awqLayer) {
        if (auto e = user->getAttrOfType<FloatAttr>("qg.output_error"))
          outputErr = e.getValueAsDouble();
        if (auto e = user->getAttrOfType<FloatAttr>("qg.rtn_output_error"))
          rtnOutputErr = e.getValueAsDouble();
      } else if (outputErr) {
        user->setAttr("qg.output_error", attrs.getF64FloatAttr(*outputErr));
        user->setAttr("qg.rtn_output_error",
                      attrs.getF64FloatAttr(*rtnOutputErr));
      }
      auto quantType = QuantType::get(&getContext(), params, type.getShape());

      OpBuilder builder(user);
      Location loc = constant.getLoc();
      auto storageTensor =
          RankedTensorType::get(type.getShape(), quantType.getStorageType());
      Value quantized = ConstantOp::create(
          builder, loc, RankedTensorType::get(type.getShape(), quantType),
          makeCodesAttr(storageTensor, codes));
      Value dequantized = DequantizeOp::create(builder, loc, type, quantized);
      site.operand->set(dequantized);
      replaced.push_back(constant);

      std::vector<float> approx(values->size());
      rt::dequantizeTensor(codes, type.getShape(), params, approx);
      const int64_t count = type.getNumElements();
      const int64_t scaleCount = static_cast<int64_t>(params.scales.size());
      const int64_t after = rt::quantizedBytes(count, *storage, scaleCount,
                                               !params.zeroPoints.empty());
      const int64_t before = 4 * count;
      ++numQuantized;
      bytesBefore += before;
      bytesAfter += after;
      rows.push_back({describeLocation(user->getLoc()),
                      user->getName().getStringRef().str(),
                      shapeText(type.getShape()), usedAlgorithm, scaleCount,
                      rt::compareTensors(*values, approx), before, after,
                      outputErr, rtnOutputErr});
    }
    for (ConstantOp constant : replaced)
      if (constant->use_empty())
        constant->erase();

    if (report)
      printReport(rows);
  }

private:
  /// Calibration statistics of the activation a layer reads, if any.
  const TensorStats *statsFor(Operation *layer) {
    std::optional<ActivationSite> site = findActivation(layer);
    if (!site || !site->rowsAlongLastDim || !keys)
      return nullptr;
    Value x = site->operand->get();
    // AWQ's inserted scaling reads the calibrated tensor.
    if (MulOp scale = inputScaleProducing(x))
      x = scale.getLhs();
    auto it = calibration.tensors.find(keys->key(x));
    return it == calibration.tensors.end() ? nullptr : &it->second;
  }

  /// AWQ: per activation, one set of input-channel scales for all layers
  /// that read it, searched on their weights side by side; the weights'
  /// rows are multiplied by the scales and the activation divided by them.
  LogicalResult applyAWQScales(ModuleOp module) {
    auto groups = groupLayersByActivation(module, this->layers);
    for (auto &[x, group] : groups) {
      const TensorStats *inputStats = statsFor(group.front());
      const int64_t k = matrixView(group.front())->k;
      if (!inputStats || inputStats->gram.empty() ||
          inputStats->channels() != k) {
        group.front()->emitRemark("AWQ needs the Gram matrix of the input "
                                  "of ")
            << describeLocation(group.front()->getLoc()) << "; it uses RTN";
        continue;
      }
      if (spec.groupSize > 0 && k % spec.groupSize != 0)
        continue; // Left in float by the quantization loop, with a warning.
      int64_t width = 0;
      FailureOr<std::vector<float>> stacked = stackWeights(group, k, width);
      if (failed(stacked))
        return group.front()->emitError(
            "qg-quantize-weights: unreadable weight");
      AwqResult result = searchAWQ(*stacked, k, width, inputStats->gram,
                                   inputStats->channelMeanAbs(), spec, awqGrid);
      if (result.alpha == 0)
        continue; // Plain RTN is best: nothing to scale.
      // Each layer's own output error, with and without the scales.
      Builder attrs(&getContext());
      for (Operation *layer : group) {
        MatrixView view = *matrixView(layer);
        std::vector<float> w = toKxN(
            *readFloats(
                layer->getOperand(1).getDefiningOp<ConstantOp>().getValue()),
            view);
        QuantizedWeight plain = quantizeRTN(w, k, view.n, spec);
        std::vector<float> scaled(w);
        for (int64_t r = 0; r < k; ++r)
          for (int64_t c = 0; c < view.n; ++c)
            scaled[r * view.n + c] *= result.scales[r];
        QuantizedWeight awq = quantizeRTN(scaled, k, view.n, spec);
        for (int64_t r = 0; r < k; ++r)
          for (int64_t c = 0; c < view.n; ++c)
            awq.dequantized[r * view.n + c] /= result.scales[r];
        layer->setAttr("qg.rtn_output_error",
                       attrs.getF64FloatAttr(outputError(
                           w, plain.dequantized, k, view.n, inputStats->gram)));
        layer->setAttr("qg.output_error",
                       attrs.getF64FloatAttr(outputError(
                           w, awq.dequantized, k, view.n, inputStats->gram)));
        layer->setAttr("qg.awq_alpha", attrs.getF64FloatAttr(result.alpha));
      }
      for (Operation *layer : group)
        if (failed(scaleWeightRows(layer, result.scales)))
          return layer->emitError("qg-quantize-weights: cannot rescale");
      divideActivation(x, group, result.scales, keys->key(x));
    }
    return success();
  }

  CalibrationStats calibration;
  std::optional<TensorKeys> keys;
  WeightSpec spec;

  void printReport(ArrayRef<ReportRow> rows) {
    llvm::raw_ostream &os = llvm::errs();
    os << "qg-quantize-weights: format=" << format.getValue()
       << " granularity=" << granularity.getValue();
    if (granularity.getValue() == "block")
      os << " block-size=" << blockSize.getValue();
    os << (symmetric ? " symmetric" : " asymmetric") << "\n";
    os << llvm::left_justify("weight of", 22) << llvm::left_justify("op", 14)
       << llvm::left_justify("shape", 14) << llvm::right_justify("scales", 8)
       << llvm::right_justify("MSE", 12) << llvm::right_justify("SQNR dB", 10)
       << llvm::right_justify("max |err|", 12)
       << llvm::right_justify("f32 bytes", 12)
       << llvm::right_justify("bytes", 10) << "  algorithm  out err / RTN"
       << "\n";
    int64_t totalBefore = 0, totalAfter = 0;
    for (const ReportRow &row : rows) {
      os << llvm::left_justify(row.weight, 21) << " "
         << llvm::left_justify(row.op, 14) << llvm::left_justify(row.shape, 14)
         << llvm::right_justify(std::to_string(row.scales), 8)
         << llvm::format("%12.3e%10.2f%12.3e", row.error.mse, row.error.sqnrDb,
                         row.error.maxAbsError)
         << llvm::right_justify(std::to_string(row.bytesBefore), 12)
         << llvm::right_justify(std::to_string(row.bytesAfter), 10) << "  "
         << llvm::left_justify(row.algorithm, 9);
      // The layer output error relative to RTN's: below 1 means the
      // algorithm helped this layer.
      if (row.outputError && row.rtnOutputError && *row.rtnOutputError > 0)
        os << llvm::format("  %.3f", *row.outputError / *row.rtnOutputError);
      os << "\n";
      totalBefore += row.bytesBefore;
      totalAfter += row.bytesAfter;
    }
    os << "total: " << rows.size() << " weights, " << totalBefore << " -> "
       << totalAfter << " bytes";
    if (totalAfter > 0)
      os << llvm::format(" (%.2fx smaller)",
                         static_cast<double>(totalBefore) / totalAfter);
    os << "\n";
  }
};

} // namespace
