// qg-quantize-weights: round-to-nearest quantization of constant weights.
#include "dialects/qg/QGElements.h"
#include "dialects/qg/QGOps.h"
#include "passes/Passes.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

namespace qcc::qg {
#define GEN_PASS_DEF_QGQUANTIZEWEIGHTS
#include "passes/Passes.h.inc"
} // namespace qcc::qg

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

/// Where an op keeps its weight, and which of the weight's axes indexes
/// output channels and which is reduced.
struct WeightSite {
  OpOperand *operand;
  int64_t channelAxis; // -1 when the weight has no channel axis (1-D)
  int64_t reductionAxis;
};

std::optional<WeightSite> findWeight(Operation *op) {
  if (auto matmul = dyn_cast<MatMulOp>(op)) {
    const int64_t rank =
        cast<RankedTensorType>(matmul.getRhs().getType()).getRank();
    if (rank == 1)
      return WeightSite{&op->getOpOperand(1), -1, 0};
    return WeightSite{&op->getOpOperand(1), rank - 1, rank - 2};
  }
  if (auto gemm = dyn_cast<GemmOp>(op))
    return gemm.getTransB() ? WeightSite{&op->getOpOperand(1), 0, 1}
                            : WeightSite{&op->getOpOperand(1), 1, 0};
  if (isa<Conv2DOp>(op))
    return WeightSite{&op->getOpOperand(1), 0, 1};
  return std::nullopt;
}

std::string describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string text;
    for (Location inner : fused.getLocations())
      text += (text.empty() ? "" : "+") + describeLocation(inner);
    return text;
  }
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (llvm::sys::path::filename(file.getFilename().getValue()) + ":" +
            Twine(file.getLine()) + ":" + Twine(file.getColumn()))
        .str();
  std::string text;
  llvm::raw_string_ostream os(text);
  loc.print(os);
  return text;
}

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text;
  for (auto [i, dim] : llvm::enumerate(shape))
    text += (i ? "x" : "") + std::to_string(dim);
  return text.empty() ? "scalar" : text;
}

struct ReportRow {
  std::string weight, op, shape;
  int64_t scales;
  rt::ErrorStats error;
  int64_t bytesBefore, bytesAfter;
};

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
      SmallVector<int32_t> codes(values->size());
      rt::quantizeTensor(*values, type.getShape(), params, codes);
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
      const int64_t bits = rt::formatBits(*storage);
      int64_t after = (count * bits + 7) / 8 + 4 * scaleCount;
      if (!params.zeroPoints.empty())
        after += (scaleCount * bits + 7) / 8;
      const int64_t before = 4 * count;
      ++numQuantized;
      bytesBefore += before;
      bytesAfter += after;
      rows.push_back({describeLocation(user->getLoc()),
                      user->getName().getStringRef().str(),
                      shapeText(type.getShape()), scaleCount,
                      rt::compareTensors(*values, approx), before, after});
    }
    for (ConstantOp constant : replaced)
      if (constant->use_empty())
        constant->erase();

    if (report)
      printReport(rows);
  }

private:
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
       << llvm::right_justify("bytes", 10) << "\n";
    int64_t totalBefore = 0, totalAfter = 0;
    for (const ReportRow &row : rows) {
      os << llvm::left_justify(row.weight, 21) << " "
         << llvm::left_justify(row.op, 14) << llvm::left_justify(row.shape, 14)
         << llvm::right_justify(std::to_string(row.scales), 8)
         << llvm::format("%12.3e%10.2f%12.3e", row.error.mse, row.error.sqnrDb,
                         row.error.maxAbsError)
         << llvm::right_justify(std::to_string(row.bytesBefore), 12)
         << llvm::right_justify(std::to_string(row.bytesAfter), 10) << "\n";
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
