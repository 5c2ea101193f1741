// Serialized ONNX models for the importer tests, built with protobuf in a
// separate translation unit (protobuf wants RTTI; MLIR code is built
// without).
#ifndef QCC_TEST_UNIT_ONNXTESTMODELS_H
#define QCC_TEST_UNIT_ONNXTESTMODELS_H

#include <string>

namespace qcc::testmodels {

/// y = MatMul(x[2, 3], W[3, 2]) + B[2], W and B as initializers.
std::string validModel();
/// validModel() with W's raw data 8 bytes short.
std::string shortInitializerModel();
/// MatMul of x[2, 3] with an initializer of shape [4, 5].
std::string inconsistentShapesModel();
/// Two Relu nodes, each reading the other's output.
std::string cyclicModel();
/// An Add node reading a value nobody defines.
std::string danglingInputModel();
/// W stored as external data in `location`.
std::string externalDataModel(const std::string &location);
/// Uses the unsupported ops Foo (nodes f1, f2) and Bar (node b1).
std::string unsupportedOpsModel();
/// ConvInteger with a 1-D weight (found by the fuzzer: it once read past a
/// shape).
std::string convIntegerBadWeightModel();
/// An initializer with a negative dimension.
std::string negativeDimModel();

} // namespace qcc::testmodels

#endif // QCC_TEST_UNIT_ONNXTESTMODELS_H
