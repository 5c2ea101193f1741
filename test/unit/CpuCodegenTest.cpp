// In-process code generation: LLVM dialect -> shared object (TargetMachine
// and lld as libraries), then loaded from memory by the runtime's loader and
// called. Expected values come from the arithmetic written in the tests.
#include "codegen/cpu/ObjectEmitter.h"
#include "runtime/cpu/CodeLoader.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <vector>

namespace {

constexpr const char *kModule = R"mlir(
llvm.func @qcc_add(%a: i32, %b: i32) -> i32 {
  %c = llvm.add %a, %b : i32
  llvm.return %c : i32
}
llvm.func @qcc_scale(%p: !llvm.ptr, %n: i64, %s: f32) {
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  llvm.br ^loop(%c0 : i64)
^loop(%i: i64):
  %done = llvm.icmp "sge" %i, %n : i64
  llvm.cond_br %done, ^exit, ^body
^body:
  %addr = llvm.getelementptr %p[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
  %v = llvm.load %addr : !llvm.ptr -> f32
  %w = llvm.fmul %v, %s : f32
  llvm.store %w, %addr : f32, !llvm.ptr
  %next = llvm.add %i, %c1 : i64
  llvm.br ^loop(%next : i64)
^exit:
  llvm.return
}
)mlir";

class CpuCodegen : public ::testing::Test {
protected:
  CpuCodegen() {
    context.loadDialect<mlir::LLVM::LLVMDialect>();
    module = mlir::parseSourceString<mlir::ModuleOp>(kModule, &context);
  }
  mlir::MLIRContext context;
  mlir::OwningOpRef<mlir::ModuleOp> module;
};

void expectRuns(const qcc::cpu::SharedObject &so) {
  qcc::rt::LoadedCode code;
  ASSERT_EQ(code.load(so.bytes), "");
  auto add =
      reinterpret_cast<int32_t (*)(int32_t, int32_t)>(code.symbol("qcc_add"));
  auto scale = reinterpret_cast<void (*)(float *, int64_t, float)>(
      code.symbol("qcc_scale"));
  ASSERT_NE(add, nullptr);
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(add(40, 2), 42);
  EXPECT_EQ(add(-7, 3), -4);
  std::vector<float> values(37);
  for (size_t i = 0; i < values.size(); ++i)
    values[i] = static_cast<float>(i) - 3.0f;
  scale(values.data(), static_cast<int64_t>(values.size()), 0.5f);
  for (size_t i = 0; i < values.size(); ++i)
    EXPECT_EQ(values[i], (static_cast<float>(i) - 3.0f) * 0.5f) << i;
  EXPECT_EQ(code.symbol("no_such_symbol"), nullptr);
}

TEST_F(CpuCodegen, HostSharedObjectLoadsAndRuns) {
  ASSERT_TRUE(module);
  qcc::cpu::SharedObject so;
  ASSERT_EQ(qcc::cpu::emitSharedObject(*module, {}, so), "");
  EXPECT_FALSE(so.cpu.empty());
  EXPECT_NE(so.triple.find("x86_64"), std::string::npos);
  expectRuns(so);
  // The same object cut short: its segments now lie outside the bytes.
  EXPECT_NE(qcc::rt::checkElfSharedObject(
                {so.bytes.data(), so.bytes.size() / 2}),
            "");
}

TEST_F(CpuCodegen, ExplicitBaselineCpuAndFeatures) {
  ASSERT_TRUE(module);
  qcc::cpu::SharedObject so;
  ASSERT_EQ(qcc::cpu::emitSharedObject(*module, {"x86-64", "+sse4.2", 0}, so),
            "");
  EXPECT_EQ(so.cpu, "x86-64");
  EXPECT_EQ(so.features, "+sse4.2");
  expectRuns(so);
}

TEST_F(CpuCodegen, RejectsUnknownCpuAndFeature) {
  ASSERT_TRUE(module);
  qcc::cpu::SharedObject so;
  EXPECT_NE(qcc::cpu::emitSharedObject(*module, {"pentium-9000", ""}, so)
                .find("unknown CPU 'pentium-9000'"),
            std::string::npos);
  EXPECT_NE(qcc::cpu::emitSharedObject(*module, {"x86-64", "+avx9000"}, so)
                .find("bad CPU feature '+avx9000'"),
            std::string::npos);
  EXPECT_NE(qcc::cpu::emitSharedObject(*module, {"x86-64", "avx2"}, so)
                .find("bad CPU feature 'avx2'"),
            std::string::npos);
}

TEST(CodeLoader, RejectsBytesThatAreNotASharedObject) {
  qcc::rt::LoadedCode code;
  std::vector<uint8_t> junk(100, 0);
  EXPECT_EQ(code.load(junk), "code section is not an ELF file");
  EXPECT_EQ(code.load({junk.data(), 10}),
            "code section is 10 bytes, too short for an ELF header");
}

} // namespace
