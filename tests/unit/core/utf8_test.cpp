#include "core/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace switchboard::core {
namespace {

// ---------------------------------------------------------------------------------
// A reference written differently from the validator: decode by bit pattern, then
// check the code point's range (RFC 3629 §3). For a sequence cut short, the code points
// its completions can reach form one interval; the prefix is valid when that interval
// holds a valid code point.

struct Reference {
  bool prefix_valid;  // some continuation makes it valid
  bool valid;         // valid as it stands
};

Reference reference(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto lead = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      n = 2, cp = lead & 0x1f;
    } else if ((lead & 0xf0) == 0xe0) {
      n = 3, cp = lead & 0x0f;
    } else if ((lead & 0xf8) == 0xf0) {
      n = 4, cp = lead & 0x07;
    } else {
      return {false, false};
    }
    const std::uint32_t min_cp = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
    std::size_t k = 1;
    for (; k < n && i + k < s.size(); ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xc0) != 0x80) return {false, false};
      cp = (cp << 6) | (c & 0x3f);
    }
    const std::size_t missing = n - k;
    const std::uint32_t lo = cp << (6 * missing);
    const std::uint32_t hi = lo | ((1u << (6 * missing)) - 1);
    const std::uint32_t a = std::max(lo, min_cp);
    const std::uint32_t b = std::min<std::uint32_t>(hi, 0x10ffff);
    const bool reachable = a <= b && !(a >= 0xd800 && b <= 0xdfff);
    if (!reachable) return {false, false};
    if (missing) return {true, false};
    i += n;
  }
  return {true, true};
}

std::string encode(std::uint32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
  return out;
}

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s += char(b);
  return s;
}

// The index of the byte at which a byte-at-a-time feed first fails, or -1.
int failing_byte(const std::string& s) {
  Utf8Validator v;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!v.feed(std::string_view(s).substr(i, 1))) return static_cast<int>(i);
  return -1;
}

// ---------------------------------------------------------------------------------

TEST(Utf8, EmptyAndAscii) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("hello, world"));
  std::string all_ascii;
  for (int c = 0; c < 0x80; ++c) all_ascii += char(c);
  EXPECT_TRUE(is_valid_utf8(all_ascii));
  Utf8Validator v;
  EXPECT_TRUE(v.complete());
  EXPECT_TRUE(v.feed(""));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, BoundariesOfTable3_7AreValid) {
  for (std::uint32_t cp : {0x0u, 0x7fu, 0x80u, 0x7ffu, 0x800u, 0xfffu, 0x1000u, 0xcfffu, 0xd000u,
                           0xd7ffu, 0xe000u, 0xffffu, 0x10000u, 0x3ffffu, 0x40000u, 0xfffffu,
                           0x100000u, 0x10ffffu}) {
    SCOPED_TRACE(cp);
    EXPECT_TRUE(is_valid_utf8(encode(cp)));
    EXPECT_EQ(failing_byte(encode(cp)), -1);
  }
  EXPECT_TRUE(is_valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80 emoji"));
}

TEST(Utf8, EveryScalarValueIsValidWholeAndBytewise) {
  Utf8Validator whole;
  Utf8Validator bytewise;
  for (std::uint32_t cp = 0; cp <= 0x10ffff; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const std::string s = encode(cp);
    ASSERT_TRUE(whole.feed(s)) << cp;
    ASSERT_TRUE(whole.complete()) << cp;
    for (std::size_t i = 0; i < s.size(); ++i) {
      ASSERT_TRUE(bytewise.feed(std::string_view(s).substr(i, 1))) << cp;
      ASSERT_EQ(bytewise.complete(), i + 1 == s.size()) << cp;
    }
  }
}

TEST(Utf8, SurrogatesFailAtTheSecondByte) {
  for (std::uint32_t cp = 0xd800; cp <= 0xdfff; ++cp) {
    const std::string s = encode(cp);  // ED A0..BF xx
    ASSERT_EQ(failing_byte(s), 1) << cp;
    ASSERT_FALSE(is_valid_utf8(s));
  }
  EXPECT_EQ(failing_byte(bytes({0xed, 0xa0})), 1);
  EXPECT_EQ(failing_byte(bytes({0xed, 0x9f, 0xbf})), -1);  // U+D7FF
}

TEST(Utf8, PastU10FFFFFailsAtTheEarliestByte) {
  EXPECT_EQ(failing_byte(bytes({0xf4, 0x90})), 1);
  EXPECT_EQ(failing_byte(bytes({0xf4, 0x90, 0x80, 0x80})), 1);
  EXPECT_EQ(failing_byte(bytes({0xf4, 0x8f, 0xbf, 0xbf})), -1);  // U+10FFFF
  for (int lead = 0xf5; lead <= 0xff; ++lead)
    EXPECT_EQ(failing_byte(bytes({lead, 0x80, 0x80, 0x80})), 0) << lead;
}

TEST(Utf8, OverlongsFailAtTheEarliestByte) {
  EXPECT_EQ(failing_byte(bytes({0xc0, 0x80})), 0);  // U+0000 in two bytes
  EXPECT_EQ(failing_byte(bytes({0xc1, 0xbf})), 0);
  EXPECT_EQ(failing_byte(bytes({0xe0, 0x80, 0x80})), 1);
  EXPECT_EQ(failing_byte(bytes({0xe0, 0x9f, 0xbf})), 1);  // U+07FF in three bytes
  EXPECT_EQ(failing_byte(bytes({0xf0, 0x80, 0x80, 0x80})), 1);
  EXPECT_EQ(failing_byte(bytes({0xf0, 0x8f, 0xbf, 0xbf})), 1);  // U+FFFF in four bytes
  EXPECT_EQ(failing_byte(bytes({0xe0, 0xa0, 0x80})), -1);       // U+0800, the first 3-byte
  EXPECT_EQ(failing_byte(bytes({0xf0, 0x90, 0x80, 0x80})), -1);  // U+10000
}

TEST(Utf8, StrayAndMissingContinuationBytes) {
  for (int c = 0x80; c <= 0xbf; ++c) EXPECT_EQ(failing_byte(bytes({'a', c})), 1) << c;
  EXPECT_EQ(failing_byte(bytes({0xc3, 'a'})), 1);
  EXPECT_EQ(failing_byte(bytes({0xe2, 0x82, 'a'})), 2);
  EXPECT_EQ(failing_byte(bytes({0xf0, 0x9f, 0x98, 0xc3})), 3);
  EXPECT_EQ(failing_byte(bytes({0xc3, 0xc3})), 1);
}

TEST(Utf8, TruncatedSequenceIsAPrefixButNotComplete) {
  for (const std::string& s : {bytes({0xc3}), bytes({0xe2, 0x82}), bytes({0xf0, 0x9f, 0x98}),
                               bytes({'a', 'b', 0xf4})}) {
    Utf8Validator v;
    EXPECT_TRUE(v.feed(s));
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(is_valid_utf8(s));
  }
}

TEST(Utf8, FailureIsStickyUntilReset) {
  Utf8Validator v;
  EXPECT_FALSE(v.feed(bytes({0xff})));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.feed("ascii"));
  EXPECT_FALSE(v.feed(""));
  v.reset();
  EXPECT_TRUE(v.complete());
  EXPECT_TRUE(v.feed("ascii"));
  EXPECT_TRUE(v.complete());
}

TEST(Utf8, ResumesAcrossPieces) {
  const std::string text = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z";  // a é € 😀 z
  for (std::size_t cut1 = 0; cut1 <= text.size(); ++cut1) {
    for (std::size_t cut2 = cut1; cut2 <= text.size(); ++cut2) {
      Utf8Validator v;
      ASSERT_TRUE(v.feed(text.substr(0, cut1)));
      ASSERT_TRUE(v.feed(text.substr(cut1, cut2 - cut1)));
      ASSERT_TRUE(v.feed(text.substr(cut2)));
      ASSERT_TRUE(v.complete());
    }
  }
}

// The ASCII fast path reads words; put the non-ASCII byte at every position of buffers
// of every length around the word sizes.
TEST(Utf8, NonAsciiAtEveryOffsetOfTheFastPath) {
  for (std::size_t len = 1; len <= 40; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      std::string s(len, 'x');
      s[at] = char(0x80);  // stray continuation
      ASSERT_EQ(failing_byte(s), static_cast<int>(at));
      ASSERT_FALSE(is_valid_utf8(s)) << len << " " << at;
      Utf8Validator v;
      ASSERT_FALSE(v.feed(s));
      if (at + 1 < len) {
        s[at] = char(0xc3);  // é, whole
        s[at + 1] = char(0xa9);
        ASSERT_TRUE(is_valid_utf8(s)) << len << " " << at;
      }
      s.assign(len, 'x');
      s[at] = char(0xc3);  // é, cut short unless followed by a continuation
      Utf8Validator w;
      ASSERT_EQ(w.feed(s), at + 1 == len) << len << " " << at;
    }
  }
}

// Compares one string with the reference; quiet on success, so the exhaustive loops
// stay fast.
bool matches_reference(std::string_view s) {
  const Reference ref = reference(s);
  Utf8Validator v;
  const bool fed = v.feed(s);
  if (fed == ref.prefix_valid && (fed && v.complete()) == ref.valid) return true;
  ADD_FAILURE() << "mismatch on " << testing::PrintToString(std::string(s)) << ": fed " << fed
                << ", reference prefix_valid " << ref.prefix_valid << " valid " << ref.valid;
  return false;
}

// Exhaustive against the reference: every string of up to three bytes.
TEST(Utf8, AllStringsUpToThreeBytesMatchTheReference) {
  char s[3];
  for (int a = 0; a < 256; ++a) {
    s[0] = char(a);
    ASSERT_TRUE(matches_reference({s, 1}));
    for (int b = 0; b < 256; ++b) {
      s[1] = char(b);
      ASSERT_TRUE(matches_reference({s, 2}));
      for (int c = 0; c < 256; ++c) {
        s[2] = char(c);
        if (!matches_reference({s, 3})) return;
      }
    }
  }
}

// utf8_sequence_length: the shortest prefix the reference calls valid, or 0 when no
// prefix of up to four bytes is — for every first and second byte, with the third and
// fourth drawn from the bytes on each side of every range boundary.
// Calls f on four-byte strings: every first and second byte, with the third and fourth
// drawn from the bytes on each side of every range boundary; stops when f returns false.
template <typename F>
void for_each_edge_string(F f) {
  const int edges[] = {0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xf4, 0xf5};
  char s[4];
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; ++b)
      for (int c : edges)
        for (int d : edges) {
          s[0] = char(a), s[1] = char(b), s[2] = char(c), s[3] = char(d);
          if (!f(std::string_view(s, 4))) return;
        }
}

TEST(Utf8, SequenceLengthIsTheShortestValidPrefix) {
  auto expected = [](std::string_view s) -> std::size_t {
    for (std::size_t n = 1; n <= s.size() && n <= 4; ++n) {
      if (reference(s.substr(0, n)).valid) return n;
    }
    return 0;
  };
  EXPECT_EQ(utf8_sequence_length(""), 0u);
  for_each_edge_string([&](std::string_view s) {
    for (std::size_t size = 1; size <= 4; ++size) {
      std::string_view text = s.substr(0, size);
      const std::size_t got = utf8_sequence_length(text), want = expected(text);
      EXPECT_EQ(got, want) << testing::PrintToString(std::string(text));
      if (got != want) return false;  // one failure says enough
    }
    return true;
  });
}

TEST(Utf8, FourByteStringsMatchTheReference) {
  for_each_edge_string([](std::string_view s) { return matches_reference(s); });
}

TEST(Utf8, RandomTextSplitAnywhereMatchesTheReference) {
  std::mt19937 rng(6455);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<std::uint32_t> scalar(0, 0x10ffff);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    const int chars = round % 50;
    for (int i = 0; i < chars; ++i) {
      std::uint32_t cp = round % 3 == 0 ? scalar(rng) % 0x80 : scalar(rng);
      if (cp >= 0xd800 && cp <= 0xdfff) cp = 'y';
      s += encode(cp);
    }
    if (round % 2 && !s.empty()) s[byte(rng) % s.size()] = char(byte(rng));  // maybe break it
    const Reference ref = reference(s);
    const std::size_t cut = s.empty() ? 0 : byte(rng) % (s.size() + 1);
    Utf8Validator v;
    const bool fed = v.feed(s.substr(0, cut)) && v.feed(s.substr(cut));
    ASSERT_EQ(fed, ref.prefix_valid) << testing::PrintToString(s);
    ASSERT_EQ(fed && v.complete(), ref.valid) << testing::PrintToString(s);
    ASSERT_EQ(is_valid_utf8(s), ref.valid);
  }
}

}  // namespace
}  // namespace switchboard::core
