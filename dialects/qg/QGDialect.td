//===- QGDialect.td - the qg dialect ----------------------------*- tablegen -*-===//
#ifndef QCC_QG_DIALECT_TD
#define QCC_QG_DIALECT_TD

include "mlir/IR/OpBase.td"

def QG_Dialect : Dialect {
  let name = "qg";
  let cppNamespace = "::qcc::qg";
  let summary = "The qcc graph dialect: ONNX-level ops on quantized tensors";
  let description = [{
    `qg` holds a neural network as a graph of ONNX-level operations on ranked
    tensors. Quantized tensors carry all their metadata in the element type
    `!qg.quant<...>`: storage format, scales, zero points and granularity.
    Quantization ops (`qg.quantize`, `qg.dequantize`, `qg.requantize`) move
    values between float and quantized tensors with the numerics of
    DESIGN.md section 3, which the numeric core library implements.
  }];
  let useDefaultTypePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
  let extraClassDeclaration = [{
    void registerTypes();
  }];
}

#endif // QCC_QG_DIALECT_TD
