#include "app/size_option.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace switchboard::app {
namespace {

TEST(ParseSize, PlainBytes) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1"), 1u);
  EXPECT_EQ(parse_size("16777216"), 16777216u);
}

TEST(ParseSize, SuffixesAre1024BasedInEitherCase) {
  EXPECT_EQ(parse_size("64K"), 64u * 1024);
  EXPECT_EQ(parse_size("64k"), 64u * 1024);
  EXPECT_EQ(parse_size("16M"), 16u * 1024 * 1024);
  EXPECT_EQ(parse_size("16m"), 16u * 1024 * 1024);
  EXPECT_EQ(parse_size("1G"), std::size_t(1) << 30);
  EXPECT_EQ(parse_size("3g"), std::size_t(3) << 30);
  EXPECT_EQ(parse_size("0K"), 0u);
}

TEST(ParseSize, EmptyOrNoDigitsIsRefused) {
  EXPECT_EQ(parse_size(""), std::nullopt);
  EXPECT_EQ(parse_size("K"), std::nullopt);
  EXPECT_EQ(parse_size("M16"), std::nullopt);
}

TEST(ParseSize, UnknownOrLongerSuffixesAreRefused) {
  EXPECT_EQ(parse_size("16KB"), std::nullopt);
  EXPECT_EQ(parse_size("16MiB"), std::nullopt);
  EXPECT_EQ(parse_size("16T"), std::nullopt);
  EXPECT_EQ(parse_size("16 M"), std::nullopt);
  EXPECT_EQ(parse_size("16M "), std::nullopt);
  EXPECT_EQ(parse_size("1.5M"), std::nullopt);
  EXPECT_EQ(parse_size("0x10"), std::nullopt);
}

TEST(ParseSize, SignsAndSpacesAreRefused) {
  EXPECT_EQ(parse_size("-1"), std::nullopt);
  EXPECT_EQ(parse_size("+1"), std::nullopt);
  EXPECT_EQ(parse_size(" 1"), std::nullopt);
}

TEST(ParseSize, OverflowIsRefused) {
  EXPECT_EQ(parse_size("18446744073709551615"), std::size_t(UINT64_MAX));
  EXPECT_EQ(parse_size("18446744073709551616"), std::nullopt) << "past 64 bits";
  EXPECT_EQ(parse_size("17179869183G"), std::size_t(17179869183ull) << 30) << "the largest G that fits";
  EXPECT_EQ(parse_size("17179869184G"), std::nullopt) << "2^64 bytes";
  EXPECT_EQ(parse_size("18014398509481984K"), std::nullopt);
  EXPECT_EQ(parse_size("17592186044416M"), std::nullopt);
}

}  // namespace
}  // namespace switchboard::app
