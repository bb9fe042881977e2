#include "core/encoding.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include <span>
#include <utility>

#include <random>
#include <string>

namespace switchboard::core {
namespace {

std::string hex(const std::array<std::byte, 20>& digest) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::byte b : digest) {
    out += digits[std::to_integer<unsigned>(b) >> 4];
    out += digits[std::to_integer<unsigned>(b) & 15];
  }
  return out;
}

// RFC 4648 §10.
TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(std::string_view("")), "");
  EXPECT_EQ(base64_encode(std::string_view("f")), "Zg==");
  EXPECT_EQ(base64_encode(std::string_view("fo")), "Zm8=");
  EXPECT_EQ(base64_encode(std::string_view("foo")), "Zm9v");
  EXPECT_EQ(base64_encode(std::string_view("foob")), "Zm9vYg==");
  EXPECT_EQ(base64_encode(std::string_view("fooba")), "Zm9vYmE=");
  EXPECT_EQ(base64_encode(std::string_view("foobar")), "Zm9vYmFy");
}

TEST(Base64, DecodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_decode(""), "");
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9v"), "foo");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
}

std::string url_encode(std::string_view text) {
  return base64url_encode(std::as_bytes(std::span(text.data(), text.size())));
}

TEST(Base64url, TheRfc4648VectorsWithoutPadding) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(url_encode(plain), encoded);
    EXPECT_EQ(base64url_decode(encoded), plain);
  }
  // Symbols 62 and 63 are '-' and '_'.
  EXPECT_EQ(url_encode(std::string_view("\xfb\xff\xbf", 3)), "-_-_");
  EXPECT_EQ(base64url_decode("-_-_"), std::string("\xfb\xff\xbf", 3));
}

TEST(Base64url, RefusesPaddingTheStandardAlphabetAndImpossibleLengths) {
  EXPECT_EQ(base64url_decode("Zg=="), std::nullopt);
  EXPECT_EQ(base64url_decode("+/+/"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9 v"), std::nullopt);
  EXPECT_EQ(base64url_decode("Zm9vY"), std::nullopt);  // 4n+1 characters
}

TEST(RandomBytes, FillsEveryByte) {
  // 4 KiB of zeros from a working CSPRNG: a chance of 2^-32768.
  std::vector<std::byte> bytes(4096);
  random_bytes(bytes);
  EXPECT_TRUE(std::any_of(bytes.begin(), bytes.end(), [](std::byte b) { return b != std::byte{0}; }));
  std::vector<std::byte> tail(bytes.end() - 64, bytes.end());
  EXPECT_TRUE(std::any_of(tail.begin(), tail.end(), [](std::byte b) { return b != std::byte{0}; }));
}

TEST(Base64url, RandomIdsAre22CharactersAndDiffer) {
  const std::string a = random_base64url(16), b = random_base64url(16);
  EXPECT_EQ(a.size(), 22u);
  EXPECT_NE(a, b);
  EXPECT_EQ(base64url_decode(a).value().size(), 16u);
}

TEST(Base64, UsesTheStandardAlphabetForTheLastTwoSymbols) {
  // 0xfb 0xff 0xbf -> "+/+/" style symbols 62 and 63.
  EXPECT_EQ(base64_encode(std::string_view("\xfb\xff\xbf", 3)), "+/+/");
  EXPECT_EQ(base64_decode("+/+/"), std::string("\xfb\xff\xbf", 3));
}

TEST(Base64, RoundTripsEveryByteValueAndLength) {
  std::mt19937 rng(42);
  for (std::size_t length = 0; length < 200; ++length) {
    std::string bytes(length, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    std::string encoded = base64_encode(bytes);
    EXPECT_EQ(encoded.size(), (length + 2) / 3 * 4);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded) << "length " << length;
    EXPECT_EQ(*decoded, bytes) << "length " << length;
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);
}

TEST(Base64, RefusesCharactersOutsideTheAlphabet) {
  EXPECT_EQ(base64_decode("Zm9*"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9-"), std::nullopt);  // base64url is another alphabet
  EXPECT_EQ(base64_decode("Zm9_"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm 9"), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9v\nYmFy"), std::nullopt);
  EXPECT_EQ(base64_decode(std::string_view("Zm\0v", 4)), std::nullopt);
  EXPECT_EQ(base64_decode("Zm9\xc3"), std::nullopt);
}

TEST(Base64, RefusesALengthThatIsNotAMultipleOfFour) {
  EXPECT_EQ(base64_decode("Z"), std::nullopt);
  EXPECT_EQ(base64_decode("Zg"), std::nullopt);   // unpadded
  EXPECT_EQ(base64_decode("Zm8"), std::nullopt);  // unpadded
  EXPECT_EQ(base64_decode("Zm9vY"), std::nullopt);
  EXPECT_EQ(base64_decode("Zg==="), std::nullopt);
}

TEST(Base64, RefusesMisplacedPadding) {
  EXPECT_EQ(base64_decode("===="), std::nullopt);
  EXPECT_EQ(base64_decode("Z==="), std::nullopt);
  EXPECT_EQ(base64_decode("Zg=A"), std::nullopt);      // '=' followed by data
  EXPECT_EQ(base64_decode("=Zm9"), std::nullopt);
  EXPECT_EQ(base64_decode("Zg==Zm9v"), std::nullopt);  // padding before the last group
  EXPECT_EQ(base64_decode("Zm=vYmFy"), std::nullopt);
}

TEST(Sha1, MatchesTheFips180Vectors) {
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(Sha1, MatchesOpenSslForEveryLengthAcrossTheBlockBoundaries) {
  std::string text;
  for (int size = 0; size <= 300; ++size) {
    std::array<unsigned char, SHA_DIGEST_LENGTH> expected;
    SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), expected.data());
    ASSERT_EQ(std::memcmp(sha1(text).data(), expected.data(), expected.size()), 0) << "length " << size;
    text.push_back(static_cast<char>(size * 37 + 11));
  }
  EXPECT_EQ(hex(sha1(std::string(1'000'000, 'a'))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

TEST(Sha1, HashesEmbeddedNulBytes) {
  EXPECT_NE(hex(sha1(std::string_view("a\0b", 3))), hex(sha1("ab")));
}

TEST(JsonQuote, WrapsPlainTextInQuotes) {
  EXPECT_EQ(json_quote(""), "\"\"");
  EXPECT_EQ(json_quote("hello world"), "\"hello world\"");
}

TEST(JsonQuote, EscapesQuoteAndBackslash) {
  EXPECT_EQ(json_quote("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(json_quote("C:\\dir\\"), R"("C:\\dir\\")");
  EXPECT_EQ(json_quote("/"), "\"/\"") << "the solidus needs no escape";
}

TEST(JsonQuote, EscapesEveryControlCharacter) {
  EXPECT_EQ(json_quote("\n\r\t"), R"("\n\r\t")");
  EXPECT_EQ(json_quote(std::string_view("\0", 1)), R"("\u0000")");
  EXPECT_EQ(json_quote("\x01\x08\x0c\x1b\x1f"), R"("\u0001\u0008\u000c\u001b\u001f")");
  for (int c = 0; c < 0x20; ++c) {
    std::string quoted = json_quote(std::string(1, static_cast<char>(c)));
    for (char q : quoted) EXPECT_GE(static_cast<unsigned char>(q), 0x20) << "control " << c;
  }
  EXPECT_EQ(json_quote("\x20\x7f"), "\"\x20\\u007f\"") << "space needs no escape; DEL gets one";
}

TEST(JsonQuote, PassesUtf8Through) {
  EXPECT_EQ(json_quote("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"), "\"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\"");
}

TEST(JsonQuote, ReplacesBytesThatAreNotUtf8SoThatTheResultParses) {
  // An error body that echoes what a client sent stays JSON whatever it sent.
  EXPECT_EQ(json_quote("bad \xff event"), "\"bad \\ufffd event\"");
  const std::string fffd = "\xef\xbf\xbd";
  EXPECT_EQ(boost::json::parse(json_quote("ok\xfe\xc0\xaf\"end")).as_string(), "ok" + fffd + fffd + fffd + "\"end");
}

std::string escaped(std::string_view text) {
  std::string out;
  append_json_escaped(text, out);
  return out;
}

// What a JSON parser reads back from the escaped text.
std::string round_trip(std::string_view text) {
  return std::string(boost::json::parse("\"" + escaped(text) + "\"").as_string());
}

TEST(AppendJsonEscaped, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped("plain text"), "plain text");
  EXPECT_EQ(escaped("a \"quoted\" \\ path"), "a \\\"quoted\\\" \\\\ path");
  EXPECT_EQ(escaped("line\nbreak\r\ttab"), "line\\nbreak\\r\\ttab");
  EXPECT_EQ(escaped(std::string_view("\x00\x01\x1b[31m\x7f", 8)), "\\u0000\\u0001\\u001b[31m\\u007f");
  EXPECT_EQ(round_trip("a \"b\" \\ \n\x1b"), "a \"b\" \\ \n\x1b");
}

TEST(AppendJsonEscaped, KeepsValidUtf8) {
  std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";  // é € 😀 U+10FFFF
  EXPECT_EQ(escaped(text), text);
  EXPECT_EQ(round_trip(text), text);
}

TEST(AppendJsonEscaped, ReplacesBytesThatAreNotUtf8) {
  const std::string fffd = "\\ufffd";
  EXPECT_EQ(escaped("\xff"), fffd);
  EXPECT_EQ(escaped("a\x80z"), "a" + fffd + "z");
  EXPECT_EQ(escaped("\xc0\xaf"), fffd + fffd);            // overlong '/'
  EXPECT_EQ(escaped("\xed\xa0\x80"), fffd + fffd + fffd);  // a surrogate
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd);  // past U+10FFFF
  EXPECT_EQ(escaped("\xe2\x82"), fffd + fffd);             // cut short at the end
  EXPECT_EQ(escaped("\xe2\x82z"), fffd + fffd + "z");      // cut short by another character
  EXPECT_EQ(round_trip("ok\xfe\"end"), "ok\xef\xbf\xbd\"end");
}


TEST(Iequals, ComparesAsciiWithoutCase) {
  EXPECT_TRUE(iequals("Content-Length", "content-length"));
  EXPECT_TRUE(iequals("UPGRADE", "upgrade"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_TRUE(iequals("a1-_", "A1-_"));
}

TEST(Iequals, DiffersOnLengthOrLetters) {
  EXPECT_FALSE(iequals("upgrade", "upgrades"));
  EXPECT_FALSE(iequals("abc", "abd"));
  EXPECT_FALSE(iequals("a", ""));
  // Only ASCII letters fold: '@' (0x40) and '`' (0x60) differ by 32 but are not letters.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("\xc3\xa9", "\xc3\x89")) << "no Unicode case folding";
}

}  // namespace
}  // namespace switchboard::core

namespace switchboard::core {
namespace {

TEST(TrimWhitespace, DropsSpacesAndTabsAtBothEndsOnly) {
  EXPECT_EQ(trim_whitespace("  \tvalue with space\t "), "value with space");
  EXPECT_EQ(trim_whitespace(""), "");
  EXPECT_EQ(trim_whitespace(" \t "), "");
  EXPECT_EQ(trim_whitespace("x"), "x");
}

TEST(HasToken, FindsATokenInACommaSeparatedListCaseInsensitively) {
  EXPECT_TRUE(has_token("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(has_token("Upgrade", "upgrade"));
  EXPECT_TRUE(has_token(" upgrade ,close", "UPGRADE"));
  EXPECT_FALSE(has_token("keep-alive", "upgrade"));
  EXPECT_FALSE(has_token("upgrades", "upgrade"));
  EXPECT_FALSE(has_token("", "upgrade"));
}

}  // namespace
}  // namespace switchboard::core
