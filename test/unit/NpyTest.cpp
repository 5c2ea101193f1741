// .npy reading and writing: round trips and rejection of malformed files.
// Expected values are exactly representable numbers and hand-made headers.
#include "runtime/io/Npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

using namespace qcc;
using ::testing::HasSubstr;

namespace {

TEST(Npy, RoundTripsAndRejectsBadFiles) {
  const auto dir = std::filesystem::temp_directory_path();
  rt::HostArray array;
  array.kind = rt::ElementKind::F16;
  array.shape = {2, 2};
  array.bytes.resize(8);
  const double values[] = {1.0, -2.5, 65504.0, 0.0009765625};
  for (int i = 0; i < 4; ++i)
    array.set(i, values[i]);
  std::string error;
  ASSERT_TRUE(rt::writeNpy((dir / "qcc-f16.npy").string(), array, error))
      << error;
  rt::HostArray back;
  ASSERT_TRUE(rt::readNpy((dir / "qcc-f16.npy").string(), back, error))
      << error;
  EXPECT_EQ(back.shape, array.shape);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(back.at(i), values[i]); // all exactly representable in f16

  EXPECT_FALSE(rt::parseNpy("not npy at all", "x.npy", back, error));
  EXPECT_THAT(error, HasSubstr("x.npy: not a .npy file"));
  std::string header = "\x93NUMPY\x01";
  header += '\0';
  std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
  header += static_cast<char>(dict.size());
  header += '\0';
  header += dict;
  EXPECT_FALSE(
      rt::parseNpy(header + std::string(8, '\0'), "x.npy", back, error));
  EXPECT_THAT(error, HasSubstr("holds 8 data bytes"));
  EXPECT_TRUE(
      rt::parseNpy(header + std::string(12, '\0'), "x.npy", back, error))
      << error;
  std::string fortran = dict;
  fortran.replace(fortran.find("False"), 5, "True ");
  std::string fheader = header.substr(0, 10) + fortran;
  EXPECT_FALSE(
      rt::parseNpy(fheader + std::string(12, '\0'), "x.npy", back, error));
  EXPECT_THAT(error, HasSubstr("Fortran-order"));
}

} // namespace
