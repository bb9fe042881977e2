#include "ws/codec/deflate.hpp"  // first: the header must compile on its own

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::ws {
namespace {

using Result = PayloadInflater::Result;
using namespace std::string_literals;

constexpr std::string_view tail("\x00\x00\xff\xff", 4);

std::string bytes(std::initializer_list<int> list) {
  std::string s;
  for (int b : list) s.push_back(static_cast<char>(b));
  return s;
}

// ---------------------------------------------------------------------------------
// An independent peer: zlib used directly, the way RFC 7692 §7.2 describes it, so the
// codec is not only checked against itself.

class ZlibInflatePeer {
 public:
  ZlibInflatePeer(int window_bits, bool context_takeover) : takeover_(context_takeover) {
    EXPECT_EQ(inflateInit2(&z_, -window_bits), Z_OK);
  }
  ~ZlibInflatePeer() { inflateEnd(&z_); }
  ZlibInflatePeer(const ZlibInflatePeer&) = delete;
  ZlibInflatePeer& operator=(const ZlibInflatePeer&) = delete;

  // §7.2.2: append 00 00 ff ff and inflate; nullopt on an error.
  std::optional<std::string> message(std::string_view payload) {
    std::string in(payload);
    in += tail;
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(in.data());
    z_.avail_in = static_cast<uInt>(in.size());
    char buffer[4096];
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buffer);
      z_.avail_out = sizeof buffer;
      const int rc = inflate(&z_, Z_SYNC_FLUSH);
      out.append(buffer, sizeof buffer - z_.avail_out);
      if (rc != Z_OK && rc != Z_BUF_ERROR) return std::nullopt;
      if (z_.avail_in == 0 && z_.avail_out != 0) break;
    }
    if (!takeover_) inflateReset(&z_);
    return out;
  }

 private:
  z_stream z_{};
  bool takeover_;
};

class ZlibDeflatePeer {
 public:
  ZlibDeflatePeer(int window_bits, bool context_takeover, int level = 6)
      : takeover_(context_takeover) {
    // zlib ≥ 1.2.9 has no raw 8-bit deflate window; 9 is the documented stand-in.
    EXPECT_EQ(deflateInit2(&z_, level, Z_DEFLATED, -std::max(window_bits, 9), 8,
                           Z_DEFAULT_STRATEGY),
              Z_OK);
  }
  ~ZlibDeflatePeer() { deflateEnd(&z_); }
  ZlibDeflatePeer(const ZlibDeflatePeer&) = delete;
  ZlibDeflatePeer& operator=(const ZlibDeflatePeer&) = delete;

  // §7.2.1: compress with a sync flush, strip 00 00 ff ff.
  std::string message(std::string_view message) {
    std::string out;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
    z_.avail_in = static_cast<uInt>(message.size());
    char buffer[4096];
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buffer);
      z_.avail_out = sizeof buffer;
      const int rc = deflate(&z_, Z_SYNC_FLUSH);
      out.append(buffer, sizeof buffer - z_.avail_out);
      if (rc == Z_BUF_ERROR || z_.avail_out != 0) break;
    }
    if (out.empty()) {
      // zlib will not flush twice in a row without input; the RFC's empty message
      // is one empty stored block, 00 (00 00 ff ff).
      out = bytes({0x00, 0x00, 0x00, 0xff, 0xff});
    }
    EXPECT_GE(out.size(), 4u);
    EXPECT_EQ(std::string_view(out).substr(out.size() - 4), tail);
    out.resize(out.size() - 4);
    if (!takeover_) deflateReset(&z_);
    return out;
  }

 private:
  z_stream z_{};
  bool takeover_;
};

// Inflates one whole message with our Inflater.
Result inflate_message(Inflater& inflater, std::string_view payload, std::string& out,
                       std::size_t max_size = 64 * 1024 * 1024) {
  const Result r = inflater.inflate(payload, out, max_size);
  if (r != Result::ok) return r;
  return inflater.finish(out, max_size);
}

std::string random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

// Text with repeats near and far: exercises matches at all distances.
std::string text_like(std::size_t n, std::uint32_t seed) {
  static constexpr std::string_view words[] = {
      "switchboard", "room", "message", "typing", "presence", "{\"event\":", "\"data\":",
      "user-joined", "timestamp", "1700000000", ", ", "\n", "direct-message", "é", "€"};
  std::mt19937 rng(seed);
  std::string s;
  while (s.size() < n) s += words[rng() % std::size(words)];
  s.resize(n);
  return s;
}

std::vector<std::string> sample_messages() {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  return {
      ""s,
      "a"s,
      "Hello"s,
      text_like(200, 1),
      all_bytes + all_bytes,
      text_like(100 * 1024, 2),          // large, compressible
      random_bytes(300 * 1024, 3),       // large, incompressible (stored blocks)
      std::string(70000, 'x'),           // long runs
      random_bytes(1000, 4) + random_bytes(1000, 4),  // a repeat 1000 bytes back
  };
}

// =================================================================================
// Server-side negotiation (RFC 7692 §5, §7.1)

std::optional<std::pair<DeflateParams, std::string>> negotiate(std::string_view header,
                                                                DeflateOptions options = {}) {
  return negotiate_deflate(header, options);
}

std::string response_of(std::string_view header, DeflateOptions options = {}) {
  auto r = negotiate_deflate(header, options);
  return r ? r->second : "<declined>";
}

TEST(DeflateNegotiate, NoHeaderOrEmptyListDeclines) {
  EXPECT_FALSE(negotiate(""));
  EXPECT_FALSE(negotiate("   "));
  EXPECT_FALSE(negotiate(" , ,"));
}

TEST(DeflateNegotiate, OtherExtensionsOnlyDeclines) {
  EXPECT_FALSE(negotiate("x-webkit-deflate-frame"));
  EXPECT_FALSE(negotiate("foo; bar=1, baz"));
}

TEST(DeflateNegotiate, PlainOfferGetsServerNoContextTakeoverByDefault) {
  auto r = negotiate("permessage-deflate");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover");
  EXPECT_EQ(r->first, (DeflateParams{true, false, 15, 15}));
}

TEST(DeflateNegotiate, BrowserOfferAnswersClientMaxWindowBits) {
  auto r = negotiate("permessage-deflate; client_max_window_bits");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=15");
  EXPECT_EQ(r->first, (DeflateParams{true, false, 15, 15}));
}

TEST(DeflateNegotiate, ServerContextTakeoverKeptWhenOptionsAllowIt) {
  DeflateOptions options;
  options.server_no_context_takeover = false;
  auto r = negotiate("permessage-deflate", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate");
  EXPECT_FALSE(r->first.server_no_context_takeover);
}

TEST(DeflateNegotiate, OfferedServerNoContextTakeoverIsAnswered) {
  DeflateOptions options;
  options.server_no_context_takeover = false;
  auto r = negotiate("permessage-deflate; server_no_context_takeover", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover");
  EXPECT_TRUE(r->first.server_no_context_takeover);
}

TEST(DeflateNegotiate, ServerNoContextTakeoverWithValueDeclined) {
  EXPECT_FALSE(negotiate("permessage-deflate; server_no_context_takeover=1"));
  EXPECT_FALSE(negotiate("permessage-deflate; server_no_context_takeover=\"x\""));
}

TEST(DeflateNegotiate, OfferedClientNoContextTakeoverIsAnswered) {
  auto r = negotiate("permessage-deflate; client_no_context_takeover");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_TRUE(r->first.client_no_context_takeover);
}

TEST(DeflateNegotiate, ClientNoContextTakeoverWithValueDeclined) {
  EXPECT_FALSE(negotiate("permessage-deflate; client_no_context_takeover=true"));
}

TEST(DeflateNegotiate, OptionsAskClientNoContextTakeover) {
  DeflateOptions options;
  options.client_no_context_takeover = true;
  auto r = negotiate("permessage-deflate", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
  EXPECT_TRUE(r->first.client_no_context_takeover);
  // Without the option and without the offer, the client keeps its context.
  EXPECT_FALSE(negotiate("permessage-deflate")->first.client_no_context_takeover);
}

TEST(DeflateNegotiate, OfferedServerMaxWindowBitsIsEchoed) {
  auto r = negotiate("permessage-deflate; server_max_window_bits=10");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
  EXPECT_EQ(r->first.server_max_window_bits, 10);
}

TEST(DeflateNegotiate, ServerMaxWindowBits8IsHonoured) {
  auto r = negotiate("permessage-deflate; server_max_window_bits=8");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; server_max_window_bits=8");
  EXPECT_EQ(r->first.server_max_window_bits, 8);
}

TEST(DeflateNegotiate, ServerMaxWindowBitsAnswersTheSmallerOfOfferAndPolicy) {
  DeflateOptions options;
  options.server_max_window_bits = 10;
  auto r = negotiate("permessage-deflate; server_max_window_bits=12", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 10);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10");
  r = negotiate("permessage-deflate; server_max_window_bits=9", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 9);
}

TEST(DeflateNegotiate, SmallServerWindowAnnouncedWithoutOffer) {
  DeflateOptions options;
  options.server_max_window_bits = 11;
  auto r = negotiate("permessage-deflate", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; server_max_window_bits=11");
  EXPECT_EQ(r->first.server_max_window_bits, 11);
}

TEST(DeflateNegotiate, ServerMaxWindowBitsInvalidDeclined) {
  for (std::string_view bad : {"server_max_window_bits", "server_max_window_bits=7",
                               "server_max_window_bits=16", "server_max_window_bits=08",
                               "server_max_window_bits=010", "server_max_window_bits=abc",
                               "server_max_window_bits=-9", "server_max_window_bits=1"}) {
    EXPECT_FALSE(negotiate("permessage-deflate; "s.append(bad))) << bad;
  }
  for (int bits = 8; bits <= 15; ++bits) {
    EXPECT_TRUE(negotiate("permessage-deflate; server_max_window_bits=" + std::to_string(bits)))
        << bits;
  }
}

TEST(DeflateNegotiate, OfferedClientMaxWindowBitsValueIsAnswered) {
  auto r = negotiate("permessage-deflate; client_max_window_bits=10");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
  EXPECT_EQ(r->first.client_max_window_bits, 10);
}

TEST(DeflateNegotiate, ClientMaxWindowBitsAnswersTheSmallerOfOfferAndPolicy) {
  DeflateOptions options;
  options.client_max_window_bits = 10;
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits=12", options)
                ->first.client_max_window_bits,
            10);
  EXPECT_EQ(negotiate("permessage-deflate; client_max_window_bits=9", options)
                ->first.client_max_window_bits,
            9);
  auto r = negotiate("permessage-deflate; client_max_window_bits", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
}

TEST(DeflateNegotiate, ClientMaxWindowBitsInvalidDeclined) {
  for (std::string_view bad : {"client_max_window_bits=7", "client_max_window_bits=16",
                               "client_max_window_bits=09", "client_max_window_bits=x",
                               "client_max_window_bits=\"\\31\\35\""}) {
    EXPECT_FALSE(negotiate("permessage-deflate; "s.append(bad))) << bad;
  }
}

TEST(DeflateNegotiate, SmallClientWindowPolicyDeclinesOfferThatCannotBeLimited) {
  DeflateOptions options;
  options.client_max_window_bits = 12;
  // §7.1.2.2: no client_max_window_bits in the offer, none in the answer: the client
  // could use 15 bits, more than we accept.
  EXPECT_FALSE(negotiate("permessage-deflate", options));
  auto r = negotiate("permessage-deflate, permessage-deflate; client_max_window_bits", options);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.client_max_window_bits, 12);
  // With the default policy the same offer is fine and gets no client_max_window_bits.
  EXPECT_EQ(response_of("permessage-deflate"), "permessage-deflate; server_no_context_takeover");
}

TEST(DeflateNegotiate, UnknownParameterDeclinesThatOffer) {
  EXPECT_FALSE(negotiate("permessage-deflate; foo"));
  EXPECT_FALSE(negotiate("permessage-deflate; max_window_bits=10"));
  auto r = negotiate("permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=11");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.client_max_window_bits, 11);
}

TEST(DeflateNegotiate, RepeatedParameterDeclinesThatOffer) {
  for (std::string_view twice :
       {"server_no_context_takeover; server_no_context_takeover",
        "client_no_context_takeover; client_no_context_takeover",
        "server_max_window_bits=10; server_max_window_bits=10",
        "client_max_window_bits; client_max_window_bits=10"}) {
    EXPECT_FALSE(negotiate("permessage-deflate; "s.append(twice))) << twice;
  }
  auto r = negotiate(
      "permessage-deflate; server_max_window_bits=10; server_max_window_bits=11, "
      "permessage-deflate; server_max_window_bits=12");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 12);
}

TEST(DeflateNegotiate, FirstAcceptableOfferWins) {
  auto r = negotiate(
      "permessage-deflate; server_max_window_bits=10; client_max_window_bits, "
      "permessage-deflate; client_max_window_bits, permessage-deflate");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 10);
  EXPECT_EQ(r->second,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; "
            "client_max_window_bits=15");
}

TEST(DeflateNegotiate, ManyOffersWithDeclinedOnesFirst) {
  auto r = negotiate(
      "permessage-deflate; server_max_window_bits=16, "
      "permessage-deflate; bogus, "
      "x-other; a=\"b\", "
      "permessage-deflate; client_no_context_takeover=1, "
      "permessage-deflate; client_max_window_bits=9; server_no_context_takeover, "
      "permessage-deflate");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, (DeflateParams{true, false, 15, 9}));
  EXPECT_EQ(r->second, "permessage-deflate; server_no_context_takeover; client_max_window_bits=9");
}

TEST(DeflateNegotiate, UnknownExtensionsAreIgnored) {
  auto r = negotiate("foo, x-webkit-deflate-frame; no_context_takeover, "
                     "permessage-deflate; client_max_window_bits, bar; baz=\"q\"");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->second,
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=15");
}

TEST(DeflateNegotiate, JoinedHeaderLinesAndEmptyElements) {
  // Two header lines joined by ", " (RFC 7230 §3.2.2), and empty list elements (§7).
  auto r = negotiate("foo; a=1, permessage-deflate; server_max_window_bits=12");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 12);
  EXPECT_TRUE(negotiate(", ,permessage-deflate ,, "));
}

TEST(DeflateNegotiate, WhitespaceAroundSeparators) {
  auto r = negotiate("\tpermessage-deflate ;client_max_window_bits = 10 ;\tserver_no_context_takeover ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.client_max_window_bits, 10);
}

TEST(DeflateNegotiate, QuotedValues) {
  // RFC 6455 §9.1: a quoted-string value must be a token once unescaped.
  auto r = negotiate("permessage-deflate; server_max_window_bits=\"10\"; client_max_window_bits=\"9\"");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 10);
  EXPECT_EQ(r->first.client_max_window_bits, 9);
  r = negotiate("permessage-deflate; server_max_window_bits=\"1\\1\"");  // quoted-pair
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 11);
  // Quoted, but a bad value still: declined, so the next offer is taken.
  r = negotiate("permessage-deflate; server_max_window_bits=\"08\", permessage-deflate");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first.server_max_window_bits, 15);
  // Quoted values of other extensions are parsed too.
  EXPECT_TRUE(negotiate("foo; a=\"bar\"; b=\"b\\\"z\", permessage-deflate") == std::nullopt)
      << "a quote is not a tchar, so b's value is not a token";
  EXPECT_TRUE(negotiate("foo; a=\"bar\"; b=baz, permessage-deflate"));
  // Commas and semicolons inside quotes stay inside (and make the value no token).
  EXPECT_FALSE(negotiate("foo; a=\"x,y\", permessage-deflate"));
  EXPECT_FALSE(negotiate("foo; b=\"p;q\", permessage-deflate"));
}

TEST(DeflateNegotiate, MalformedListDeclinesEverything) {
  for (std::string_view bad :
       {"permessage-deflate;", "permessage-deflate; ;", "permessage-deflate; a=",
        "permessage-deflate; client_max_window_bits=\"10", "permessage-deflate; a=b c",
        "permessage-deflate x", "permessage-deflate; =1", "permessage-deflate; a=\"\"",
        "permessage-deflate; a=\"b c\"", "permessage-deflate, foo; a=\"\\",
        "permessage-deflate; a=b=c", "perm\xc3\xa9ssage-deflate"}) {
    EXPECT_FALSE(negotiate(bad)) << bad;
  }
}

// =================================================================================
// Client side

TEST(DeflateOffer, DefaultOffer) {
  EXPECT_EQ(make_deflate_offer({}),
            "permessage-deflate; server_no_context_takeover; client_max_window_bits");
}

TEST(DeflateOffer, EveryParameter) {
  DeflateOptions options;
  options.client_no_context_takeover = true;
  options.server_max_window_bits = 10;
  options.client_max_window_bits = 9;
  EXPECT_EQ(make_deflate_offer(options),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10; client_max_window_bits=9");
  options.server_no_context_takeover = false;
  options.client_no_context_takeover = false;
  options.server_max_window_bits = 15;
  options.client_max_window_bits = 15;
  EXPECT_EQ(make_deflate_offer(options), "permessage-deflate; client_max_window_bits");
}

TEST(DeflateOffer, OfferNegotiateAcceptAgree) {
  // Our own client against our own server, over a grid of both sides' options.
  for (int client_mask = 0; client_mask < 4; ++client_mask) {
    for (int server_mask = 0; server_mask < 4; ++server_mask) {
      for (int cs : {9, 15}) {
        for (int ss : {8, 12, 15}) {
          DeflateOptions client;
          client.server_no_context_takeover = client_mask & 1;
          client.client_no_context_takeover = client_mask & 2;
          client.server_max_window_bits = ss;
          client.client_max_window_bits = cs;
          DeflateOptions server;
          server.server_no_context_takeover = server_mask & 1;
          server.client_no_context_takeover = server_mask & 2;
          server.server_max_window_bits = 23 - ss;  // 15, 11, 8
          server.client_max_window_bits = 24 - cs;  // 15, 9
          auto agreed = negotiate_deflate(make_deflate_offer(client), server);
          ASSERT_TRUE(agreed);
          auto accepted = accept_deflate_response(agreed->second, client);
          ASSERT_TRUE(accepted) << agreed->second;
          EXPECT_EQ(*accepted, agreed->first) << agreed->second;
          EXPECT_LE(accepted->server_max_window_bits, std::min(ss, 23 - ss));
          EXPECT_LE(accepted->client_max_window_bits, std::min(cs, 24 - cs));
        }
      }
    }
  }
}

TEST(DeflateAccept, MinimalAnswerToDefaultOffer) {
  DeflateOptions offered;
  offered.server_no_context_takeover = false;
  auto p = accept_deflate_response("permessage-deflate", offered);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, (DeflateParams{false, false, 15, 15}));
}

TEST(DeflateAccept, OfferedServerNoContextTakeoverMustBeAnswered) {
  DeflateOptions offered;  // offers server_no_context_takeover
  EXPECT_FALSE(accept_deflate_response("permessage-deflate", offered));
  auto p = accept_deflate_response("permessage-deflate; server_no_context_takeover", offered);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
}

TEST(DeflateAccept, UnrequestedServerNoContextTakeoverIsFine) {
  DeflateOptions offered;
  offered.server_no_context_takeover = false;
  auto p = accept_deflate_response("permessage-deflate; server_no_context_takeover", offered);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->server_no_context_takeover);
}

TEST(DeflateAccept, ClientNoContextTakeover) {
  DeflateOptions offered;
  offered.server_no_context_takeover = false;
  // The server may impose it (§7.1.1.2)...
  auto p = accept_deflate_response("permessage-deflate; client_no_context_takeover", offered);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->client_no_context_takeover);
  // ... and once offered it is our promise whether or not the answer repeats it.
  offered.client_no_context_takeover = true;
  p = accept_deflate_response("permessage-deflate", offered);
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->client_no_context_takeover);
  EXPECT_FALSE(accept_deflate_response("permessage-deflate; client_no_context_takeover=1", offered));
}

TEST(DeflateAccept, ServerMaxWindowBits) {
  DeflateOptions offered;
  offered.server_no_context_takeover = false;
  offered.server_max_window_bits = 10;
  EXPECT_FALSE(accept_deflate_response("permessage-deflate", offered)) << "must be answered";
  EXPECT_FALSE(accept_deflate_response("permessage-deflate; server_max_window_bits=11", offered));
  EXPECT_FALSE(accept_deflate_response("permessage-deflate; server_max_window_bits", offered));
  auto p = accept_deflate_response("permessage-deflate; server_max_window_bits=9", offered);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 9);
  // Not offered: the server may still announce a smaller window (§7.1.2.1).
  offered.server_max_window_bits = 15;
  p = accept_deflate_response("permessage-deflate; server_max_window_bits=12", offered);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 12);
  EXPECT_FALSE(accept_deflate_response("permessage-deflate; server_max_window_bits=16", offered));
}

TEST(DeflateAccept, ClientMaxWindowBits) {
  DeflateOptions offered;
  offered.server_no_context_takeover = false;
  offered.client_max_window_bits = 12;
  // A response's client_max_window_bits carries a value (§7.1.2.2), within our offer.
  EXPECT_FALSE(accept_deflate_response("permessage-deflate; client_max_window_bits", offered));
  EXPECT_FALSE(accept_deflate_response("permessage-deflate; client_max_window_bits=13", offered));
  auto p = accept_deflate_response("permessage-deflate; client_max_window_bits=10", offered);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->client_max_window_bits, 10);
  p = accept_deflate_response("permessage-deflate", offered);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->client_max_window_bits, 12) << "our own limit still holds";
}

TEST(DeflateAccept, InvalidResponsesFail) {
  DeflateOptions offered;
  offered.server_no_context_takeover = false;
  for (std::string_view bad :
       {"", "foo", "permessage-deflate; foo", "permessage-deflate, permessage-deflate",
        "permessage-deflate, foo", "foo, permessage-deflate",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=08", "permessage-deflate;",
        "permessage-deflate; client_max_window_bits=\"1"}) {
    EXPECT_FALSE(accept_deflate_response(bad, offered)) << bad;
  }
  auto p = accept_deflate_response(" permessage-deflate ; server_max_window_bits=\"13\" ", offered);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 13);
}

// =================================================================================
// The codec (RFC 7692 §7.2)

TEST(Deflater, InvalidArgumentsThrowAtSetup) {
  EXPECT_THROW(Deflater(7, 6, 8, false), std::invalid_argument);
  EXPECT_THROW(Deflater(16, 6, 8, false), std::invalid_argument);
  EXPECT_THROW(Deflater(15, 10, 8, false), std::invalid_argument);
  EXPECT_THROW(Deflater(15, 6, 0, false), std::invalid_argument);
  EXPECT_THROW(Inflater(7, false), std::invalid_argument);
  EXPECT_THROW(Inflater(16, true), std::invalid_argument);
}

TEST(Deflater, ZlibEmptyMessageIsOneZeroByte) {
  // What zlib itself gives for an empty message on a fresh stream: an empty stored
  // block (00) and the sync flush's 00 00 ff ff.
  z_stream z{};
  ASSERT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  unsigned char buffer[64];
  z.next_out = buffer;
  z.avail_out = sizeof buffer;
  ASSERT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buffer), sizeof buffer - z.avail_out),
            bytes({0x00, 0x00, 0x00, 0xff, 0xff}));
  // A second flush without input is refused: the reason Deflater writes 0x00 itself.
  z.next_out = buffer;
  z.avail_out = sizeof buffer;
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_BUF_ERROR);
  deflateEnd(&z);

  for (bool takeover : {false, true}) {
    Deflater deflater(15, 6, 8, takeover);
    std::string out;
    deflater.compress("", out);
    EXPECT_EQ(out, bytes({0x00}));
    EXPECT_FALSE(deflater.allocated()) << "an empty message needs no zlib state";
    deflater.compress("abc", out);
    deflater.compress("", out);  // after a message, with context kept
    ZlibInflatePeer peer(15, takeover);
    Inflater inflater(15, takeover);
    std::string first, second;
    ASSERT_EQ(inflate_message(inflater, out.substr(0, 1), first), Result::ok);
    EXPECT_EQ(first, "");
    EXPECT_EQ(peer.message(out.substr(0, 1)), "");
    ASSERT_EQ(out.back(), '\0');
    const std::string abc = out.substr(1, out.size() - 2);
    ASSERT_EQ(inflate_message(inflater, abc, second), Result::ok);
    EXPECT_EQ(second, "abc");
    EXPECT_EQ(peer.message(abc), "abc");
    std::string third;
    ASSERT_EQ(inflate_message(inflater, "\0"s, third), Result::ok);
    EXPECT_EQ(third, "");
    EXPECT_EQ(peer.message("\0"s), "");
  }
}

TEST(Deflater, Rfc7692Examples) {
  // §7.2.3.1: "Hello" in one compressed block.
  Deflater no_takeover(15, 6, 8, false);
  std::string out;
  no_takeover.compress("Hello", out);
  EXPECT_EQ(out, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  // §7.2.3.2: the second "Hello" refers back into the shared window.
  Deflater takeover(15, 6, 8, true);
  std::string first, second;
  takeover.compress("Hello", first);
  takeover.compress("Hello", second);
  EXPECT_EQ(first, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_EQ(second, bytes({0xf2, 0x00, 0x11, 0x00, 0x00}));
}

TEST(Inflater, Rfc7692Examples) {
  struct Case {
    const char* what;
    std::string payload;
  };
  const Case cases[] = {
      {"7.2.3.1 one compressed block", bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00})},
      {"7.2.3.3 no compression",
       bytes({0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00})},
      {"7.2.3.4 BFINAL set", bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00})},
      {"7.2.3.5 two blocks", bytes({0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9,
                                    0xc9, 0x07, 0x00})},
  };
  for (const Case& c : cases) {
    for (bool takeover : {false, true}) {
      Inflater inflater(15, takeover);
      for (int round = 0; round < 2; ++round) {  // the state is fit for a next message
        std::string out;
        ASSERT_EQ(inflate_message(inflater, c.payload, out), Result::ok) << c.what;
        EXPECT_EQ(out, "Hello") << c.what;
      }
    }
  }
  // §7.2.3.2: two messages sharing the window.
  Inflater inflater(15, true);
  std::string a, b;
  ASSERT_EQ(inflate_message(inflater, bytes({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}), a),
            Result::ok);
  ASSERT_EQ(inflate_message(inflater, bytes({0xf2, 0x00, 0x11, 0x00, 0x00}), b), Result::ok);
  EXPECT_EQ(a, "Hello");
  EXPECT_EQ(b, "Hello");
}

// Compresses `message` as a whole raw DEFLATE stream ending in a BFINAL block
// (Z_FINISH), optionally primed with `dictionary` (zlib directly).
std::string zlib_finish(std::string_view message, std::string_view dictionary = {}) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  if (!dictionary.empty()) {
    EXPECT_EQ(deflateSetDictionary(&z, reinterpret_cast<const Bytef*>(dictionary.data()),
                                   static_cast<uInt>(dictionary.size())),
              Z_OK);
  }
  std::string out(message.size() + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  z.avail_in = static_cast<uInt>(message.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

TEST(Inflater, BfinalWithContextTakeoverKeepsTheWindow) {
  // A peer that ends each message with BFINAL (§7.2.3.4) and takes over context: its
  // next message is a new DEFLATE stream that refers back into the previous one.
  const std::string text = "Hello, world! Hello, switchboard!";
  const std::string first = zlib_finish(text);
  const std::string second = zlib_finish(text, text);
  EXPECT_LT(second.size(), first.size()) << "the second refers back";
  Inflater inflater(15, true);
  for (int round = 0; round < 2; ++round) {
    std::string a, b;
    ASSERT_EQ(inflate_message(inflater, first, a), Result::ok);
    EXPECT_EQ(a, text);
    ASSERT_EQ(inflate_message(inflater, second, b), Result::ok);
    EXPECT_EQ(b, text);
  }
  // Without takeover, the same second message cannot be read on its own.
  Inflater no_takeover(15, false);
  std::string a, b;
  ASSERT_EQ(inflate_message(no_takeover, first, a), Result::ok);
  EXPECT_EQ(inflate_message(no_takeover, second, b), Result::corrupt);
}

TEST(Inflater, DataAfterBfinalIsIgnoredInTheSameMessage) {
  Inflater inflater(15, false);
  std::string out;
  const std::string hello_final = bytes({0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  ASSERT_EQ(inflater.inflate(hello_final, out, 1000), Result::ok);
  ASSERT_EQ(inflater.inflate(bytes({0x00, 0x12, 0x34}), out, 1000), Result::ok);
  ASSERT_EQ(inflater.finish(out, 1000), Result::ok);
  EXPECT_EQ(out, "Hello");
}

// Round trips through Deflater → Inflater, and against zlib used directly, for every
// window size and both takeover modes. Each message is sent twice in one stream.
TEST(DeflateRoundTrip, EveryWindowSizeAndTakeoverMode) {
  const auto messages = sample_messages();
  for (int bits = 8; bits <= 15; ++bits) {
    for (bool takeover : {false, true}) {
      SCOPED_TRACE("window_bits=" + std::to_string(bits) + " takeover=" + std::to_string(takeover));
      Deflater deflater(bits, 6, 8, takeover);
      Inflater inflater(bits, takeover);
      ZlibInflatePeer zlib_inflate(bits, takeover);
      ZlibDeflatePeer zlib_deflate(bits, takeover);
      Inflater inflater_of_zlib(bits, takeover);
      std::string compressed, inflated;
      for (int round = 0; round < 2; ++round) {
        for (std::size_t i = 0; i < messages.size(); ++i) {
          SCOPED_TRACE("message " + std::to_string(i) + " round " + std::to_string(round));
          const std::string& m = messages[i];
          compressed.clear();
          deflater.compress(m, compressed);
          inflated.clear();
          ASSERT_EQ(inflate_message(inflater, compressed, inflated), Result::ok);
          ASSERT_EQ(inflated, m);
          // An independent decoder agrees.
          auto by_zlib = zlib_inflate.message(compressed);
          ASSERT_TRUE(by_zlib);
          ASSERT_EQ(*by_zlib, m);
          // And our Inflater reads an independent encoder.
          const std::string from_zlib = zlib_deflate.message(m);
          inflated.clear();
          ASSERT_EQ(inflate_message(inflater_of_zlib, from_zlib, inflated), Result::ok);
          ASSERT_EQ(inflated, m);
        }
      }
    }
  }
}

TEST(DeflateRoundTrip, EveryLevelAndMemLevel) {
  const std::string message = text_like(20000, 13) + random_bytes(3000, 14);
  for (int level = -1; level <= 9; ++level) {
    for (int mem_level : {1, 8, 9}) {
      Deflater deflater(15, level, mem_level, true);
      Inflater inflater(15, true);
      ZlibInflatePeer zlib(15, true);
      for (int round = 0; round < 2; ++round) {
        std::string compressed, out;
        deflater.compress(message, compressed);
        ASSERT_EQ(inflate_message(inflater, compressed, out), Result::ok) << level;
        ASSERT_EQ(out, message) << level << " " << mem_level;
        ASSERT_EQ(zlib.message(compressed), message) << level << " " << mem_level;
      }
    }
  }
}

TEST(DeflateRoundTrip, AppendsToExistingOutput) {
  Deflater deflater(15, 6, 8, false);
  Inflater inflater(15, false);
  std::string compressed = "prefix";
  deflater.compress("payload payload payload", compressed);
  ASSERT_EQ(compressed.substr(0, 6), "prefix");
  std::string out = "head:";
  ASSERT_EQ(inflate_message(inflater, std::string_view(compressed).substr(6), out), Result::ok);
  EXPECT_EQ(out, "head:payload payload payload");
}

TEST(DeflateRoundTrip, PiecesSplitAtEveryByte) {
  const std::string message = text_like(300, 7) + random_bytes(40, 8) + text_like(300, 7);
  for (bool takeover : {false, true}) {
    Deflater deflater(15, 6, 8, takeover);
    std::string first, second;
    deflater.compress(message, first);
    deflater.compress(message, second);  // with takeover, refers into `first`
    for (std::size_t split = 0; split <= second.size(); ++split) {
      Inflater inflater(15, takeover);
      std::string out;
      ASSERT_EQ(inflate_message(inflater, first, out), Result::ok);
      out.clear();
      ASSERT_EQ(inflater.inflate(std::string_view(second).substr(0, split), out, 1 << 20),
                Result::ok);
      ASSERT_EQ(inflater.inflate(std::string_view(second).substr(split), out, 1 << 20),
                Result::ok);
      ASSERT_EQ(inflater.finish(out, 1 << 20), Result::ok);
      ASSERT_EQ(out, message) << "split at " << split;
    }
    // One byte at a time, with empty pieces between.
    Inflater inflater(15, takeover);
    for (const std::string* payload : {&first, &second}) {
      std::string out;
      for (char c : *payload) {
        ASSERT_EQ(inflater.inflate(std::string_view(&c, 1), out, 1 << 20), Result::ok);
        ASSERT_EQ(inflater.inflate({}, out, 1 << 20), Result::ok);
      }
      ASSERT_EQ(inflater.finish(out, 1 << 20), Result::ok);
      ASSERT_EQ(out, message);
    }
  }
}

TEST(DeflateRoundTrip, ContextTakeoverMakesTheRepeatSmaller) {
  const std::string message = text_like(2000, 11);
  Deflater deflater(15, 6, 8, true);
  std::string first, second;
  deflater.compress(message, first);
  deflater.compress(message, second);
  EXPECT_LT(second.size() * 4, first.size()) << first.size() << " then " << second.size();
}

TEST(DeflateRoundTrip, NoContextTakeoverRepeatsTheSameBytes) {
  const std::string message = text_like(2000, 12);
  Deflater deflater(15, 6, 8, false);
  Deflater fresh(15, 6, 8, false);
  std::string first, second, third;
  deflater.compress(message, first);
  deflater.compress(message, second);
  fresh.compress(message, third);
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, third);
}

TEST(DeflateRoundTrip, NoContextTakeoverMessagesDecodeIndependently) {
  // Without takeover each message is self-contained: any order, any fresh inflater.
  Deflater deflater(12, 6, 8, false);
  std::string a, b;
  deflater.compress(text_like(5000, 21), a);
  deflater.compress(text_like(5000, 22), b);
  Inflater inflater(12, false);
  std::string out;
  ASSERT_EQ(inflate_message(inflater, b, out), Result::ok);
  EXPECT_EQ(out, text_like(5000, 22));
  inflater.release();  // between messages: frees the state, the next one allocates again
  EXPECT_FALSE(inflater.allocated());
  out.clear();
  ASSERT_EQ(inflate_message(inflater, a, out), Result::ok);
  EXPECT_EQ(out, text_like(5000, 21));
}

TEST(DeflateRoundTrip, EightBitWindowFitsTheSendersDistances) {
  // server_max_window_bits=8 is compressed with zlib's 9-bit window; its matches reach
  // at most 250 bytes back, so a 256-byte inflate window reads it. Repeats at distances
  // around 200-300 bytes make sure that is tested.
  std::string message;
  for (int i = 0; i < 200; ++i) message += random_bytes(180 + (i % 5) * 30, 100 + i % 7);
  for (bool takeover : {false, true}) {
    Deflater deflater(8, 9, 9, takeover);
    Inflater inflater(8, takeover);
    ZlibInflatePeer zlib8(8, takeover);
    for (int round = 0; round < 3; ++round) {
      std::string compressed, out;
      deflater.compress(message, compressed);
      EXPECT_LT(compressed.size(), message.size()) << "the short repeats were found";
      ASSERT_EQ(inflate_message(inflater, compressed, out), Result::ok);
      ASSERT_EQ(out, message);
      ASSERT_EQ(zlib8.message(compressed), message);
    }
  }
}

TEST(Inflater, DistanceBeyondTheWindowIsCorrupt) {
  // A sender that ignores the agreed window: with context takeover its second message
  // refers 1000 bytes back, into the previous message, which a 9-bit window no longer
  // holds. (Within one message zlib also accepts matches into what the current call
  // has output, whatever the window size: such data is read right, never wrongly.)
  const std::string message = random_bytes(1000, 31);
  Deflater deflater(15, 6, 8, true);
  std::string first, second;
  deflater.compress(message, first);
  deflater.compress(message, second);
  ASSERT_LT(second.size(), 100u) << "the second message is one long match";
  Inflater small(9, true);
  std::string out;
  ASSERT_EQ(inflate_message(small, first, out), Result::ok);
  out.clear();
  EXPECT_EQ(inflate_message(small, second, out), Result::corrupt);
  Inflater big(10, true);
  out.clear();
  ASSERT_EQ(inflate_message(big, first, out), Result::ok);
  out.clear();
  EXPECT_EQ(inflate_message(big, second, out), Result::ok);
  EXPECT_EQ(out, message);
}

// =================================================================================
// Bounds

std::string make_bomb(std::size_t megabytes) {
  // Several hundred MB of zeros as one message, built from 1 MiB pieces with context
  // takeover: each piece plus the 00 00 ff ff the Deflater strips is a sync-flushed
  // stretch of one DEFLATE stream. Once the window is all zeros every further piece
  // comes out byte for byte the same (checked), so the rest repeats it.
  Deflater deflater(15, 6, 8, true);
  const std::string zeros(1 << 20, '\0');
  std::string first, second, third;
  deflater.compress(zeros, first);
  deflater.compress(zeros, second);
  deflater.compress(zeros, third);
  EXPECT_EQ(second, third);
  std::string bomb = first;
  for (std::size_t i = 1; i < megabytes; ++i) {
    bomb += tail;
    bomb += second;
  }
  return bomb;
}

// Inflates with zlib directly, counting the output instead of keeping it; nullopt
// unless it is all zeros.
std::optional<std::size_t> zlib_count_zeros(std::string_view payload) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -15), Z_OK);
  std::string in(payload);
  in += tail;
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  static const std::string zeros(1 << 16, '\0');
  std::string buffer(1 << 16, '\0');
  std::size_t total = 0;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buffer.data());
    z.avail_out = static_cast<uInt>(buffer.size());
    const int rc = inflate(&z, Z_SYNC_FLUSH);
    const std::size_t n = buffer.size() - z.avail_out;
    if (std::memcmp(buffer.data(), zeros.data(), n) != 0) break;
    total += n;
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
    if (z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return total;
    }
  }
  inflateEnd(&z);
  return std::nullopt;
}

TEST(InflaterBounds, ZipBombStopsAtTheLimit) {
  constexpr std::size_t megabytes = 400;
  static const std::string bomb = make_bomb(megabytes);
  ASSERT_LT(bomb.size(), 1u << 20) << "a real bomb: 400 MiB in under 1 MiB";
  ASSERT_EQ(zlib_count_zeros(bomb), megabytes << 20) << "zlib itself reads it all";
  constexpr std::size_t max_size = 64 * 1024;
  {
    Inflater inflater(15, false);
    std::string out;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(inflater.inflate(bomb, out, max_size), Result::too_big);
    const auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_LE(out.size(), max_size + 1);
    EXPECT_LE(out.capacity(), 4 * max_size) << "output was never allowed far past the limit";
    EXPECT_LT(elapsed, std::chrono::milliseconds(500)) << "stopped without inflating it all";
    EXPECT_LE(inflater.memory_bytes(), 48u * 1024) << "zlib state + 32 KiB window";
    // Failed: every later call says so, until release().
    EXPECT_EQ(inflater.inflate("x", out, max_size), Result::corrupt);
    EXPECT_EQ(inflater.finish(out, max_size), Result::corrupt);
    inflater.release();
    out.clear();
    Deflater deflater(15, 6, 8, false);
    std::string ok;
    deflater.compress("fine again", ok);
    EXPECT_EQ(inflate_message(inflater, ok, out), Result::ok);
    EXPECT_EQ(out, "fine again");
  }
  {
    // Fed in 4 KiB pieces, as frames arrive: fails on the piece that crosses the limit.
    Inflater inflater(15, false);
    std::string out;
    std::size_t fed = 0;
    Result r = Result::ok;
    while (fed < bomb.size() && r == Result::ok) {
      const std::size_t n = std::min<std::size_t>(4096, bomb.size() - fed);
      r = inflater.inflate(std::string_view(bomb).substr(fed, n), out, max_size);
      fed += n;
    }
    EXPECT_EQ(r, Result::too_big);
    EXPECT_LE(out.size(), max_size + 1);
    EXPECT_LE(fed, 8192u) << "1 KiB of this bomb is 1 MiB of zeros";
  }
}

TEST(InflaterBounds, ExactlyTheLimitIsAllowed) {
  const std::string message = text_like(10000, 41);
  Deflater deflater(15, 6, 8, false);
  std::string compressed;
  deflater.compress(message, compressed);
  Inflater inflater(15, false);
  std::string out;
  ASSERT_EQ(inflate_message(inflater, compressed, out, message.size()), Result::ok);
  EXPECT_EQ(out, message);
  Inflater tight(15, false);
  out.clear();
  EXPECT_EQ(inflate_message(tight, compressed, out, message.size() - 1), Result::too_big);
  EXPECT_LE(out.size(), message.size());
}

TEST(InflaterBounds, LimitCountsWhatIsAlreadyInOut) {
  // The reader accumulates a message over frames: max_size bounds the whole of `out`.
  const std::string message = text_like(3000, 42);
  Deflater deflater(15, 6, 8, false);
  std::string compressed;
  deflater.compress(message, compressed);
  Inflater inflater(15, false);
  std::string out(2000, 'p');
  EXPECT_EQ(inflate_message(inflater, compressed, out, 4000), Result::too_big);
  EXPECT_LE(out.size(), 4001u);
}

TEST(InflaterBounds, TheTailCanCrossTheLimitToo) {
  // Output held back inside zlib until the tail arrives still counts.
  const std::string message(5000, 'z');
  Deflater deflater(15, 6, 8, false);
  std::string compressed;
  deflater.compress(message, compressed);
  for (std::size_t limit : {std::size_t{0}, std::size_t{1}, std::size_t{4999}}) {
    Inflater inflater(15, false);
    std::string out;
    Result r = inflater.inflate(compressed, out, limit);
    if (r == Result::ok) r = inflater.finish(out, limit);
    EXPECT_EQ(r, Result::too_big) << limit;
    EXPECT_LE(out.size(), limit + 1);
  }
}

// =================================================================================
// Corrupt input

TEST(InflaterCorrupt, Garbage) {
  const std::string cases[] = {
      bytes({0x06, 0x00}),                          // BTYPE 11: reserved (RFC 1951 §3.2.3)
      bytes({0x00, 0x05, 0x00, 0x00, 0x00, 'a'}),   // stored block, NLEN not ~LEN
      bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),  // dynamic block, impossible code lengths
      "this is not deflate at all, just text"s,
  };
  for (const std::string& garbage : cases) {
    Inflater inflater(15, true);
    std::string out;
    EXPECT_EQ(inflate_message(inflater, garbage, out), Result::corrupt) << garbage;
    EXPECT_EQ(inflater.inflate("\0"s, out, 100), Result::corrupt) << "stays failed";
  }
  // Random garbage: never a crash; almost always corrupt.
  int corrupt = 0;
  for (std::uint32_t seed = 0; seed < 200; ++seed) {
    Inflater inflater(15, false);
    std::string out;
    corrupt += inflate_message(inflater, random_bytes(64, seed), out, 1 << 16) == Result::corrupt;
  }
  EXPECT_GE(corrupt, 190);
}

TEST(InflaterCorrupt, TruncatedMessage) {
  const std::string message = text_like(20000, 51);
  Deflater deflater(15, 6, 8, false);
  std::string compressed;
  deflater.compress(message, compressed);
  // Cut inside the compressed block: the appended tail cannot end it.
  int corrupt = 0, total = 0;
  for (std::size_t keep = 1; keep + 1 < compressed.size(); keep += 7) {
    Inflater inflater(15, false);
    std::string out;
    const Result r = inflate_message(inflater, std::string_view(compressed).substr(0, keep), out);
    ++total;
    corrupt += r == Result::corrupt;
    EXPECT_FALSE(r == Result::ok && out == message) << keep;
  }
  EXPECT_EQ(corrupt, total) << "every truncation is caught";
  // Cut just before the end: the final empty-block header byte is missing.
  Inflater inflater(15, false);
  std::string out;
  EXPECT_EQ(inflate_message(inflater, std::string_view(compressed).substr(0, compressed.size() - 1),
                            out),
            Result::corrupt);
}

TEST(InflaterCorrupt, ChangedStream) {
  const std::string message = text_like(20000, 52);
  Deflater deflater(15, 6, 8, false);
  std::string compressed;
  deflater.compress(message, compressed);
  // The first byte's block type bits set to the reserved 11.
  std::string changed = compressed;
  changed[0] = static_cast<char>(changed[0] | 0x06);
  Inflater inflater(15, false);
  std::string out;
  EXPECT_EQ(inflate_message(inflater, changed, out), Result::corrupt);
  // Any single flipped bit: never a crash, never past the limit; mostly corrupt. RFC 7692
  // has no checksum, so a flip may also give other bytes, or even the same message (the
  // BFINAL bit, padding bits before a stored block's length).
  int corrupt = 0, same = 0;
  for (std::size_t bit = 0; bit < compressed.size() * 8; bit += 13) {
    changed = compressed;
    changed[bit / 8] = static_cast<char>(changed[bit / 8] ^ (1 << (bit % 8)));
    Inflater each(15, false);
    out.clear();
    const Result r = inflate_message(each, changed, out, 2 * message.size());
    corrupt += r == Result::corrupt;
    same += r == Result::ok && out == message;
    EXPECT_LE(out.size(), 2 * message.size() + 1);
  }
  const int flips = static_cast<int>((compressed.size() * 8 + 12) / 13);
  EXPECT_GT(corrupt, flips / 10) << corrupt << " of " << flips;
  EXPECT_LT(same, 5) << same << " of " << flips;
}

// =================================================================================
// Through MessageReader: the PayloadInflater contract end to end (RFC 7692 §6, §8)

struct Collected final : MessageReader::Handler {
  std::vector<std::string> messages;
  void on_message(std::string_view payload, bool) override { messages.emplace_back(payload); }
  void on_ping(std::string_view) override {}
  void on_pong(std::string_view) override {}
  void on_close(std::uint16_t, std::string_view) override {}
};

// A masked client frame (RFC 6455 §5.3) with RSV1 set on the first frame of a
// compressed message (RFC 7692 §6).
std::vector<std::byte> client_frame(Opcode opcode, std::string_view payload, bool fin, bool rsv1) {
  const std::array<std::byte, 4> mask{std::byte{0x12}, std::byte{0x34}, std::byte{0x56},
                                      std::byte{0x78}};
  std::vector<std::byte> frame(max_frame_header_size + payload.size());
  const std::size_t header =
      write_frame_header(frame.data(), opcode, payload.size(), fin, rsv1, &mask);
  std::memcpy(frame.data() + header, payload.data(), payload.size());
  frame.resize(header + payload.size());
  mask_bytes(std::span(frame).subspan(header), mask);
  return frame;
}

TEST(DeflateWithReader, CompressedMessagesInOneAndSeveralFrames) {
  Deflater deflater(15, 6, 8, true);
  Inflater inflater(15, true);
  ReaderOptions options;
  options.inflater = &inflater;
  MessageReader reader(options);
  Collected got;
  const std::string text = text_like(5000, 91);
  std::string compressed;
  deflater.compress(text, compressed);
  auto frame = client_frame(Opcode::text, compressed, true, true);
  ASSERT_EQ(reader.feed(frame, got), 0);
  // The same text again, now a few bytes thanks to the shared window, in three frames.
  compressed.clear();
  deflater.compress(text, compressed);
  ASSERT_GE(compressed.size(), 3u);
  const std::string_view c(compressed);
  auto f1 = client_frame(Opcode::text, c.substr(0, 1), false, true);
  auto f2 = client_frame(Opcode::continuation, c.substr(1, 1), false, false);
  auto f3 = client_frame(Opcode::continuation, c.substr(2), true, false);
  ASSERT_EQ(reader.feed(f1, got), 0);
  ASSERT_EQ(reader.feed(f2, got), 0);
  ASSERT_EQ(reader.feed(f3, got), 0);
  ASSERT_EQ(got.messages.size(), 2u);
  EXPECT_EQ(got.messages[0], text);
  EXPECT_EQ(got.messages[1], text);
}

TEST(DeflateWithReader, BombClosesWith1009AndGarbageWith1007) {
  {
    Deflater deflater(15, 9, 9, false);
    std::string bomb;
    deflater.compress(std::string(8 << 20, '\0'), bomb);  // 8 MiB of zeros, ~8 KiB
    Inflater inflater(15, false);
    ReaderOptions options;
    options.inflater = &inflater;
    options.max_message_size = 64 * 1024;
    MessageReader reader(options);
    Collected got;
    auto frame = client_frame(Opcode::binary, bomb, true, true);
    EXPECT_EQ(reader.feed(frame, got), close_code::message_too_big);
    EXPECT_TRUE(got.messages.empty());
  }
  {
    Inflater inflater(15, false);
    ReaderOptions options;
    options.inflater = &inflater;
    MessageReader reader(options);
    Collected got;
    auto frame = client_frame(Opcode::binary, bytes({0x06, 0x00, 0x01}), true, true);
    EXPECT_EQ(reader.feed(frame, got), close_code::invalid_payload);
    EXPECT_TRUE(got.messages.empty());
  }
}

// =================================================================================
// Lifetime and memory

TEST(DeflateMemory, StatesAreAllocatedLazilyAndReleased) {
  Deflater deflater(15, 6, 8, false);
  Inflater inflater(15, false);
  EXPECT_FALSE(deflater.allocated());
  EXPECT_FALSE(inflater.allocated());
  EXPECT_EQ(deflater.memory_bytes(), 0u);
  EXPECT_EQ(inflater.memory_bytes(), 0u);
  std::string compressed, out;
  deflater.compress(text_like(3000, 61), compressed);
  EXPECT_TRUE(deflater.allocated());
  ASSERT_EQ(inflate_message(inflater, compressed, out), Result::ok);
  EXPECT_TRUE(inflater.allocated());
  deflater.release();
  inflater.release();
  EXPECT_EQ(deflater.memory_bytes(), 0u);
  EXPECT_EQ(inflater.memory_bytes(), 0u);
  // A compressed message with no payload bytes at all is empty and allocates nothing.
  out.clear();
  EXPECT_EQ(inflater.finish(out, 100), Result::ok);
  EXPECT_EQ(out, "");
  EXPECT_FALSE(inflater.allocated());
}

TEST(DeflateMemory, PerStateCost) {
  // The figures deflate.hpp documents; printed for the record.
  for (int bits : {8, 9, 12, 15}) {
    Inflater inflater(bits, true);
    Deflater deflater(bits, 6, 8, true);
    std::string compressed, out;
    deflater.compress(text_like(100000, 71), compressed);
    ASSERT_EQ(inflate_message(inflater, compressed, out), Result::ok);
    const std::size_t window = std::size_t{1} << bits;
    const std::size_t deflate_bits = std::max(bits, 9);
    std::printf("window_bits=%2d  inflate %6zu bytes  deflate(mem_level 8) %7zu bytes\n", bits,
                inflater.memory_bytes(), deflater.memory_bytes());
    EXPECT_GE(inflater.memory_bytes(), window);
    EXPECT_LE(inflater.memory_bytes(), window + 8 * 1024) << "~7 KiB + the window";
    const std::size_t formula = (std::size_t{1} << (deflate_bits + 2)) + (std::size_t{1} << (8 + 9));
    EXPECT_GE(deflater.memory_bytes(), formula);
    EXPECT_LE(deflater.memory_bytes(), formula + 8 * 1024);
  }
  Deflater small(15, 6, 1, true);
  std::string compressed;
  small.compress("x", compressed);
  std::printf("window_bits=15  deflate(mem_level 1) %zu bytes\n", small.memory_bytes());
}

TEST(DeflateMemory, WarmStatesDoNotGrow) {
  // Once warmed up, the same work reuses the same zlib memory and output capacity.
  Deflater deflater(15, 6, 8, false);
  Inflater inflater(15, false);
  const std::string message = text_like(50000, 81);
  std::string compressed, out;
  deflater.compress(message, compressed);
  ASSERT_EQ(inflate_message(inflater, compressed, out), Result::ok);
  const std::size_t deflate_memory = deflater.memory_bytes();
  const std::size_t inflate_memory = inflater.memory_bytes();
  const std::size_t compressed_capacity = compressed.capacity();
  const std::size_t out_capacity = out.capacity();
  for (int i = 0; i < 20; ++i) {
    compressed.clear();
    out.clear();
    deflater.compress(message, compressed);
    ASSERT_EQ(inflate_message(inflater, compressed, out), Result::ok);
    ASSERT_EQ(out, message);
  }
  EXPECT_EQ(deflater.memory_bytes(), deflate_memory);
  EXPECT_EQ(inflater.memory_bytes(), inflate_memory);
  EXPECT_EQ(compressed.capacity(), compressed_capacity);
  EXPECT_EQ(out.capacity(), out_capacity);
}

}  // namespace
}  // namespace switchboard::ws
