// In-place type rewriting shared by qg-import-quant-types and
// qg-export-quant-types.
#include "passes/RewriteTypes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;

LogicalResult qcc::qg::rewriteValueTypes(
    ModuleOp module, function_ref<FailureOr<Type>(Type, Location)> convert) {
  bool ok = true;
  // One conversion (and at most one diagnostic) per distinct type.
  DenseMap<Type, FailureOr<Type>> cache;
  auto convertOnce = [&](Type type, Location loc) -> FailureOr<Type> {
    auto it = cache.find(type);
    if (it != cache.end())
      return it->second;
    FailureOr<Type> converted = convert(type, loc);
    cache.try_emplace(type, converted);
    return converted;
  };
  auto apply = [&](Value value) {
    FailureOr<Type> converted = convertOnce(value.getType(), value.getLoc());
    if (failed(converted))
      ok = false;
    else if (*converted != value.getType())
      value.setType(*converted);
  };
  module.walk([&](Operation *op) {
    for (Value result : op->getResults())
      apply(result);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument argument : block.getArguments())
          apply(argument);
    if (auto function = dyn_cast<func::FuncOp>(op)) {
      SmallVector<Type> inputs, results;
      for (Type type : function.getFunctionType().getInputs()) {
        FailureOr<Type> converted = convertOnce(type, function.getLoc());
        ok &= succeeded(converted);
        inputs.push_back(succeeded(converted) ? *converted : type);
      }
      for (Type type : function.getFunctionType().getResults()) {
        FailureOr<Type> converted = convertOnce(type, function.getLoc());
        ok &= succeeded(converted);
        results.push_back(succeeded(converted) ? *converted : type);
      }
      function.setFunctionType(
          FunctionType::get(function.getContext(), inputs, results));
    }
  });
  return success(ok);
}
