//===- QGTypes.td - qg types ------------------------------------*- tablegen -*-===//
#ifndef QCC_QG_TYPES_TD
#define QCC_QG_TYPES_TD

include "dialects/qg/QGDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/BuiltinTypeInterfaces.td"

def QG_QuantType : TypeDef<QG_Dialect, "Quant"> {
  let mnemonic = "quant";
  let summary = "Quantized element type with its scales, zero points and granularity";
  let description = [{
    One element type describes every storage format qcc knows:

    * affine integers `i8`, `u8`, `i4`, `u4`: `x = (q - zero_point) * scale`;
    * `nf4`: a 4-bit index into the NormalFloat table, times a block absmax;
    * `f8e4m3fn`, `f8e5m2`: an FP8 value times a scale.

    Granularity follows from the keys given: no `axis` is per-tensor, `axis`
    alone is per-axis (one scale per index along it), and `axis` with
    `block` is per-block (consecutive `block` elements along `axis` share a
    scale, the ONNX opset-21 layout; the scale table has the tensor's shape
    with that dimension divided by `block`).

    ```mlir
    !qg.quant<i8, scale = 0.05>
    !qg.quant<u8, scale = 0.02, zero_point = 128>
    !qg.quant<i8, axis = 0, scales = [0.1, 0.2, 0.4]>
    !qg.quant<u4, axis = 1, block = 32, scales = dense<...> : tensor<64x4xf32>,
              zero_points = dense<8> : tensor<64x4xi32>>
    !qg.quant<nf4, axis = 1, block = 64, scales = dense_resource<absmax> : tensor<128x2xf32>>
    !qg.quant<nf4, axis = 1, block = 64, scales = dense<...> : tensor<128x2xui8>,
              dq_block = 256, dq_scales = dense<[0.01]> : tensor<1xf32>>
    !qg.quant<f8e4m3fn, scale = 0.5>
    ```

    NF4 absmaxes may be double-quantized: `scales` then holds u8 codes and
    every `dq_block` consecutive codes (row-major over the scale table) share
    one f32 scale from `dq_scales`.

    Whether the scale table fits a tensor's shape is checked where the type
    is used in a tensor (every qg op verifies its operands and results).
  }];
  let parameters = (ins
    "::qcc::rt::Format":$format,
    "int64_t":$axis,
    "int64_t":$blockSize,
    "::mlir::ElementsAttr":$scales,
    "::mlir::ElementsAttr":$zeroPoints,
    "int64_t":$dqBlock,
    "::mlir::ElementsAttr":$dqScales
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let builders = [
    TypeBuilder<(ins "::qcc::rt::Format":$format, "float":$scale,
                     CArg<"int32_t", "0">:$zeroPoint)>,
    TypeBuilder<(ins "const ::qcc::rt::QuantParams &":$params,
                     "::llvm::ArrayRef<int64_t>":$tensorShape)>
  ];
  let extraClassDeclaration = [{
    ::qcc::rt::Granularity getGranularity() const {
      return {getAxis(), getBlockSize()};
    }
    bool isPerTensor() const { return getAxis() < 0; }
    bool isPerAxis() const { return getAxis() >= 0 && getBlockSize() == 0; }
    bool isPerBlock() const { return getBlockSize() > 0; }
    bool isDoubleQuantized() const { return getDqBlock() > 0; }

    /// The builtin type that holds one stored code: i8, ui8, i4, ui4 (also
    /// for nf4), f8E4M3FN or f8E5M2.
    ::mlir::Type getStorageType() const;

    /// Scales (expanded if double-quantized) and zero points as numbers.
    /// Fails when a table lives in a resource whose data is not available.
    ::mlir::FailureOr<::qcc::rt::QuantParams> getParams() const;

    /// Checks the scale and zero-point tables against a tensor shape.
    ::llvm::LogicalResult verifyForShape(
        ::llvm::ArrayRef<int64_t> shape,
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) const;
  }];
}

#endif // QCC_QG_TYPES_TD
