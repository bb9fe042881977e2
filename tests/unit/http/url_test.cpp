#include "http/url.hpp"

#include <gtest/gtest.h>

namespace switchboard::http {
namespace {

TEST(PercentDecode, PlainTextIsUnchanged) {
  EXPECT_EQ(percent_decode(""), "");
  EXPECT_EQ(percent_decode("/chat/room-1"), "/chat/room-1");
}

TEST(PercentDecode, DecodesEscapesInEitherCase) {
  EXPECT_EQ(percent_decode("%41%42%43"), "ABC");
  EXPECT_EQ(percent_decode("a%2fb%2Fc"), "a/b/c");
  EXPECT_EQ(percent_decode("%7e%7E"), "~~");
  EXPECT_EQ(percent_decode("%25"), "%") << "an escaped percent sign";
  EXPECT_EQ(percent_decode("%2541"), "%41") << "decoded once, not twice";
  EXPECT_EQ(percent_decode("100%25"), "100%") << "an escape at the very end";
}

TEST(PercentDecode, DecodesUtf8Bytes) {
  EXPECT_EQ(percent_decode("caf%C3%A9"), "caf\xc3\xa9");
  EXPECT_EQ(percent_decode("%FF"), "\xff") << "bytes, not validated as UTF-8";
}

TEST(PercentDecode, PlusIsASpaceOnlyWhenAsked) {
  EXPECT_EQ(percent_decode("a+b"), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("a%2Bb", true), "a+b") << "an escaped plus stays a plus";
  EXPECT_EQ(percent_decode("a%20b"), "a b");
}

TEST(PercentDecode, BadEscapesAreRefused) {
  EXPECT_EQ(percent_decode("%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("abc%"), std::nullopt);
  EXPECT_EQ(percent_decode("abc%4"), std::nullopt);
  EXPECT_EQ(percent_decode("%zz"), std::nullopt);
  EXPECT_EQ(percent_decode("%4g"), std::nullopt);
  EXPECT_EQ(percent_decode("%g4"), std::nullopt);
  EXPECT_EQ(percent_decode("% 41"), std::nullopt);
  EXPECT_EQ(percent_decode("%%41"), std::nullopt);
}

TEST(PercentDecode, NulIsRefusedEncodedOrNot) {
  EXPECT_EQ(percent_decode("%00"), std::nullopt);
  EXPECT_EQ(percent_decode("a%00b"), std::nullopt);
  EXPECT_EQ(percent_decode(std::string_view("a\0b", 3)), std::nullopt);
}

TEST(QueryParams, EveryPairDecodedInOrder) {
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(query_params(""), Pairs{});
  EXPECT_EQ(query_params("EIO=4&transport=polling&t=P1"),
            (Pairs{{"EIO", "4"}, {"transport", "polling"}, {"t", "P1"}}));
  EXPECT_EQ(query_params("a=1&a=2"), (Pairs{{"a", "1"}, {"a", "2"}})) << "repeats kept";
  EXPECT_EQ(query_params("flag&&x="), (Pairs{{"flag", ""}, {"x", ""}})) << "empty pairs skipped";
  EXPECT_EQ(query_params("na%6De=a+b%21"), (Pairs{{"name", "a b!"}}));
  EXPECT_EQ(query_params("bad=%zz"), (Pairs{{"bad", "%zz"}})) << "a malformed escape is kept as sent";
}

TEST(QueryParam, TheFirstWithThatDecodedName) {
  EXPECT_EQ(query_param("a=1&b=2&a=3", "a"), "1");
  EXPECT_EQ(query_param("%61=x", "a"), "x");
  EXPECT_EQ(query_param("ab=1", "a"), std::nullopt);
  EXPECT_EQ(query_param("", "a"), std::nullopt);
}

TEST(QueryOf, WhatFollowsTheFirstQuestionMark) {
  EXPECT_EQ(query_of("/socket.io/?EIO=4&t=a?b"), "EIO=4&t=a?b");
  EXPECT_EQ(query_of("/path?"), "");
  EXPECT_EQ(query_of("/path"), "");
}

TEST(RedactedTarget, KeepsThePathAndTheNamesButNoValues) {
  EXPECT_EQ(redacted_target("/api/publish"), "/api/publish");
  EXPECT_EQ(redacted_target("/sse?room=lobby&token=eyJhbGciOi.x.y"), "/sse?room=*&token=*");
  EXPECT_EQ(redacted_target("/a?flag&b="), "/a?flag&b=*");
  EXPECT_EQ(redacted_target("/a?"), "/a?");
}

TEST(RedactedTarget, KeepsTheEngineIoParameters) {
  EXPECT_EQ(redacted_target("/socket.io/?EIO=4&transport=polling&t=Pabc&sid=AbC_12"),
            "/socket.io/?EIO=4&transport=polling&t=*&sid=AbC_12");
}

TEST(RedactedTarget, ANameThatIsNotANameIsHiddenToo) {
  // A bare token ("?eyJ...") or an encoded name is a value in disguise.
  EXPECT_EQ(redacted_target("/x?eyJhbGciOiJIUzI1NiJ9.eyJpZCI6IjEifQ.sig"), "/x?*");
  EXPECT_EQ(redacted_target("/x?a%3Db=1&" + std::string(40, 'n') + "=2"), "/x?*&*");
}

}  // namespace
}  // namespace switchboard::http
