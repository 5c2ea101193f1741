// Unit tests of the qg dialect's C++ API that lit cannot reach: numeric
// views of quantized types, reading packed resources, and the round trip
// through upstream quant types. Expected values come from the format rules.
#include "dialects/qg/QGElements.h"
#include "dialects/qg/QGOps.h"
#include "dialects/qg/QuantInterop.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <random>

using namespace mlir;
using namespace qcc;
using namespace qcc::qg;

namespace {

class QGDialectTest : public ::testing::Test {
protected:
  QGDialectTest() { context.loadDialect<QGDialect, quant::QuantDialect>(); }
  QuantType parseQuant(StringRef text) {
    return dyn_cast_or_null<QuantType>(parseType(text, &context));
  }
  MLIRContext context;
};

TEST_F(QGDialectTest, DoubleQuantizedScalesExpandToCodeTimesGroupScale) {
  // Codes 10 and 255 with one group scale of 0.5: absmaxes 5 and 127.5.
  QuantType type = parseQuant(
      "!qg.quant<nf4, axis = 1, block = 2, scales = dense<[[10, 255]]> : "
      "tensor<1x2xui8>, dq_block = 256, dq_scales = [0.5]>");
  ASSERT_TRUE(type);
  FailureOr<rt::QuantParams> params = type.getParams();
  ASSERT_TRUE(succeeded(params));
  EXPECT_EQ(params->scales, (std::vector<float>{5.0f, 127.5f}));
  EXPECT_TRUE(params->zeroPoints.empty());
  EXPECT_TRUE(type.isPerBlock());
  EXPECT_TRUE(type.isDoubleQuantized());
  EXPECT_EQ(type.getStorageType(),
            IntegerType::get(&context, 4, IntegerType::Unsigned));
}

TEST_F(QGDialectTest, StorageTypesFollowTheFormat) {
  EXPECT_TRUE(parseQuant("!qg.quant<i8, scale = 1.0>")
                  .getStorageType()
                  .isSignlessInteger(8));
  EXPECT_TRUE(parseQuant("!qg.quant<u8, scale = 1.0>")
                  .getStorageType()
                  .isUnsignedInteger(8));
  EXPECT_TRUE(parseQuant("!qg.quant<i4, scale = 1.0>")
                  .getStorageType()
                  .isSignlessInteger(4));
  EXPECT_TRUE(parseQuant("!qg.quant<u4, scale = 1.0>")
                  .getStorageType()
                  .isUnsignedInteger(4));
  EXPECT_TRUE(isa<Float8E4M3FNType>(
      parseQuant("!qg.quant<f8e4m3fn, scale = 1.0>").getStorageType()));
  EXPECT_TRUE(isa<Float8E5M2Type>(
      parseQuant("!qg.quant<f8e5m2, scale = 1.0>").getStorageType()));
}

TEST_F(QGDialectTest, PackedFourBitResourceReadsLowNibbleFirst) {
  // Rows of 3 codes, each row padded to 2 bytes: 0x21 0x03 | 0x8F 0x07 holds
  // {1, 2, 3} and {-1, -8, 7} by the nibble rule.
  auto type = RankedTensorType::get({2, 3}, IntegerType::get(&context, 4));
  const char bytes[] = {0x21, 0x03, static_cast<char>(0x8F), 0x07};
  auto attr = DenseResourceElementsAttr::get(
      type, "packed",
      HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<char>(bytes)));
  FailureOr<SmallVector<int32_t>> codes = readCodes(cast<ElementsAttr>(attr));
  ASSERT_TRUE(succeeded(codes));
  EXPECT_EQ(std::vector<int32_t>(codes->begin(), codes->end()),
            (std::vector<int32_t>{1, 2, 3, -1, -8, 7}));

  // A blob of the wrong size is rejected rather than read past its end.
  auto shortAttr = DenseResourceElementsAttr::get(
      type, "short",
      HeapAsmResourceBlob::allocateAndCopyInferAlign(ArrayRef<char>(bytes, 3)));
  EXPECT_TRUE(failed(readCodes(cast<ElementsAttr>(shortAttr))));
}

TEST_F(QGDialectTest, ThirtyTwoBitResourceIntegersKeepTheirSign) {
  // An i32 bias in a dense_resource blob: -207 and 5 as signless i32, and
  // the same bits as ui32 (4294967089 and 5).
  const int32_t values[] = {-207, 5};
  const ArrayRef<char> bytes(reinterpret_cast<const char *>(values),
                             sizeof values);
  auto signless = DenseResourceElementsAttr::get(
      RankedTensorType::get({2}, IntegerType::get(&context, 32)), "bias",
      HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes));
  FailureOr<SmallVector<int64_t>> read =
      readIntegers(cast<ElementsAttr>(signless));
  ASSERT_TRUE(succeeded(read));
  EXPECT_EQ(std::vector<int64_t>(read->begin(), read->end()),
            (std::vector<int64_t>{-207, 5}));
  auto unsignedType = RankedTensorType::get(
      {2}, IntegerType::get(&context, 32, IntegerType::Unsigned));
  auto asUnsigned = DenseResourceElementsAttr::get(
      unsignedType, "bits", HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes));
  read = readIntegers(cast<ElementsAttr>(asUnsigned));
  ASSERT_TRUE(succeeded(read));
  EXPECT_EQ(std::vector<int64_t>(read->begin(), read->end()),
            (std::vector<int64_t>{4294967089LL, 5}));
}

TEST_F(QGDialectTest, FP8CodesRoundTripThroughAttributes) {
  auto type = RankedTensorType::get({256}, Float8E4M3FNType::get(&context));
  std::vector<int32_t> all(256);
  for (int i = 0; i < 256; ++i)
    all[i] = i;
  DenseElementsAttr attr = makeCodesAttr(type, all);
  FailureOr<SmallVector<int32_t>> codes = readCodes(cast<ElementsAttr>(attr));
  ASSERT_TRUE(succeeded(codes));
  EXPECT_EQ(std::vector<int32_t>(codes->begin(), codes->end()), all);
}

TEST_F(QGDialectTest, UpstreamRoundTripKeepsEveryParameter) {
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> scale(1e-3f, 2.0f);
  const rt::Format formats[] = {rt::Format::I8, rt::Format::U8, rt::Format::I4,
                                rt::Format::U4};
  auto emitError = [&] { return mlir::emitError(UnknownLoc::get(&context)); };
  for (rt::Format format : formats) {
    std::uniform_int_distribution<int32_t> zp(rt::codeMin(format),
                                              rt::codeMax(format));
    for (rt::Granularity g :
         {rt::Granularity{}, rt::Granularity{1, 0}, rt::Granularity{1, 4}}) {
      const std::vector<int64_t> shape = {3, 8};
      rt::QuantParams params;
      params.format = format;
      params.granularity = g;
      const int64_t count = rt::elementCount(rt::scaleTableShape(shape, g));
      for (int64_t i = 0; i < count; ++i) {
        params.scales.push_back(scale(rng));
        params.zeroPoints.push_back(zp(rng));
      }
      QuantType type = QuantType::get(&context, params, shape);
      FailureOr<quant::QuantizedType> upstream =
          convertToUpstream(type, shape, Float32Type::get(&context), emitError);
      ASSERT_TRUE(succeeded(upstream)) << rt::formatName(format);
      EXPECT_EQ(upstream->isSigned(), rt::codeMin(format) < 0);
      EXPECT_EQ(upstream->getStorageTypeMin(), rt::codeMin(format));
      EXPECT_EQ(upstream->getStorageTypeMax(), rt::codeMax(format));
      if (auto perAxis =
              dyn_cast<quant::UniformQuantizedPerAxisType>(*upstream)) {
        ASSERT_EQ(perAxis.getScales().size(), params.scales.size());
        for (size_t i = 0; i < params.scales.size(); ++i) {
          EXPECT_EQ(perAxis.getScales()[i],
                    static_cast<double>(params.scales[i]));
          EXPECT_EQ(perAxis.getZeroPoints()[i], params.zeroPoints[i]);
        }
      }
      FailureOr<QuantType> back =
          convertFromUpstream(*upstream, shape, emitError);
      ASSERT_TRUE(succeeded(back));
      EXPECT_EQ(*back, type) << "format " << rt::formatName(format) << " axis "
                             << g.axis << " block " << g.blockSize;
    }
  }
}

TEST_F(QGDialectTest, NF4AndFP8DoNotConvertToUpstream) {
  auto emitError = [&] { return mlir::emitError(UnknownLoc::get(&context)); };
  context.getDiagEngine().registerHandler(
      [](Diagnostic &) { return success(); });
  QuantType fp8 = parseQuant("!qg.quant<f8e4m3fn, scale = 1.0>");
  EXPECT_TRUE(failed(
      convertToUpstream(fp8, {4}, Float32Type::get(&context), emitError)));
  QuantType nf4 = parseQuant("!qg.quant<nf4, axis = 0, block = 4, scales = "
                             "dense<1.0> : tensor<1xf32>>");
  EXPECT_TRUE(failed(
      convertToUpstream(nf4, {4}, Float32Type::get(&context), emitError)));
}

} // namespace
