#include "ws/handshake.hpp"

#include <gtest/gtest.h>

#include <string>

#include "http/request_parser.hpp"

namespace switchboard::ws {
namespace {

// Requests are built the intended way: parsed from raw text.
struct Parsed {
  http::Request request;
};

std::unique_ptr<Parsed> parse(std::string_view raw) {
  auto parsed = std::make_unique<Parsed>();
  http::RequestParser parser(parsed->request, {});
  auto r = parser.feed(raw);
  EXPECT_EQ(r.status, http::RequestParser::Status::header_done) << raw;
  EXPECT_TRUE(parser.done()) << raw;
  return parsed;
}

constexpr std::string_view sample_key = "dGhlIHNhbXBsZSBub25jZQ==";  // RFC 6455 §1.3

// A valid upgrade request; `replace` swaps one header line (by name) or, with an
// empty value, removes it; `extra` adds lines.
std::string upgrade_request(std::string_view first_line = "GET /chat HTTP/1.1",
                            std::vector<std::pair<std::string, std::string>> replace = {},
                            std::string_view extra = {}) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Host", "server.example.com"},
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Key", std::string(sample_key)},
      {"Sec-WebSocket-Version", "13"},
  };
  for (auto& [name, value] : replace) {
    bool found = false;
    for (auto it = headers.begin(); it != headers.end(); ++it) {
      if (it->first == name) {
        found = true;
        if (value.empty()) {
          headers.erase(it);
        } else {
          it->second = value;
        }
        break;
      }
    }
    if (!found && !value.empty()) headers.emplace_back(name, value);
  }
  std::string raw(first_line);
  raw += "\r\n";
  for (auto& [n, v] : headers) raw += n + ": " + v + "\r\n";
  raw += extra;
  raw += "\r\n";
  return raw;
}

HandshakeResult check(std::string_view raw, const Behavior& behavior = {},
                      const std::optional<DeflateOptions>& deflate = std::nullopt) {
  auto parsed = parse(raw);
  return check_handshake(parsed->request, behavior, deflate);
}

TEST(Handshake, AcceptKeyOfTheRfcSample) {
  EXPECT_EQ(accept_key(sample_key), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(Handshake, ValidRequestIsAccepted) {
  HandshakeResult r = check(upgrade_request());
  EXPECT_EQ(r.status, 0) << r.error;
  EXPECT_EQ(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_EQ(r.protocol, "");
  EXPECT_FALSE(r.deflate);
}

TEST(Handshake, HeaderNamesAndTokensIgnoreCase) {
  HandshakeResult r = check(
      "GET /chat HTTP/1.1\r\nhost: h\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
      "sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n");
  EXPECT_EQ(r.status, 0) << r.error;
}

TEST(Handshake, ResponseHeadIsA101WithTheAcceptKey) {
  HandshakeResult r = check(upgrade_request());
  std::string head = response_head(r, "");
  EXPECT_EQ(head,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "\r\n");
}

TEST(Handshake, ResponseHeadNamesTheProtocolGiven) {
  HandshakeResult r = check(upgrade_request());
  std::string head = response_head(r, "chat");
  EXPECT_NE(head.find("\r\nSec-WebSocket-Protocol: chat\r\n"), std::string::npos) << head;
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
}

// ---------------------------------------------------------------------------------
// Refusals, each with its status

TEST(HandshakeRefusal, NoUpgradeHeaderIs426) {
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Upgrade", ""}})).status, 426);
}

TEST(HandshakeRefusal, UpgradeToSomethingElseIs400) {
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Upgrade", "h2c"}})).status, 400);
}

TEST(HandshakeRefusal, MethodOtherThanGetIs400) {
  EXPECT_EQ(check(upgrade_request("POST /chat HTTP/1.1", {{"Content-Length", "0"}})).status, 400);
}

TEST(HandshakeRefusal, Http10Is400) {
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.0")).status, 400);
}

TEST(HandshakeRefusal, ConnectionWithoutUpgradeIs400) {
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Connection", "keep-alive"}})).status, 400);
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Connection", ""}})).status, 400);
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Connection", "upgrades"}})).status, 400)
      << "a token, not a substring";
}

TEST(HandshakeRefusal, KeyThatIsNot16BytesIs400) {
  // 15 and 17 bytes of base64; missing; not base64 at all.
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Key", "MDEyMzQ1Njc4OWFiY2Rl"}})).status,
            400);
  EXPECT_EQ(
      check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Key", "MDEyMzQ1Njc4OWFiY2RlZg=="}})).status, 0)
      << "16 bytes: the control";
  EXPECT_EQ(
      check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Key", "MDEyMzQ1Njc4OWFiY2RlZmc="}})).status,
      400);
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Key", ""}})).status, 400);
  EXPECT_EQ(
      check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Key", "not base64 at all!!!!!!!"}})).status,
      400);
  EXPECT_EQ(
      check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ"}})).status, 400)
      << "unpadded";
}

TEST(HandshakeRefusal, VersionOtherThan13Is426) {
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Version", "8"}})).status, 426);
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Version", ""}})).status, 426);
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Version", "14"}})).status, 426);
}

TEST(HandshakeRefusal, EveryRefusalSaysWhy) {
  HandshakeResult r = check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Version", "8"}}));
  EXPECT_FALSE(r.error.empty());
  EXPECT_TRUE(r.accept.empty());
}

// ---------------------------------------------------------------------------------
// Origin

TEST(HandshakeOrigin, AbsentOriginPassesWhenNoListIsSet) {
  EXPECT_EQ(check(upgrade_request()).status, 0);
  EXPECT_EQ(check(upgrade_request("GET /chat HTTP/1.1", {{"Origin", "https://anywhere.example"}})).status, 0);
}

TEST(HandshakeOrigin, AbsentOriginIsRefusedWhenAListIsSet) {
  Behavior behavior;
  behavior.allowed_origins = {"https://app.example.com"};
  EXPECT_EQ(check(upgrade_request(), behavior).status, 403);
}

TEST(HandshakeOrigin, OnlyAnExactMatchPasses) {
  Behavior behavior;
  behavior.allowed_origins = {"https://app.example.com", "http://localhost:3000"};
  auto with_origin = [&](std::string origin) {
    return check(upgrade_request("GET /chat HTTP/1.1", {{"Origin", origin}}), behavior).status;
  };
  EXPECT_EQ(with_origin("https://app.example.com"), 0);
  EXPECT_EQ(with_origin("http://localhost:3000"), 0);
  EXPECT_EQ(with_origin("http://app.example.com"), 403) << "another scheme";
  EXPECT_EQ(with_origin("https://app.example.com:443"), 403);
  EXPECT_EQ(with_origin("https://evil.app.example.com"), 403);
  EXPECT_EQ(with_origin("https://app.example.com.evil"), 403);
  EXPECT_EQ(with_origin("http://localhost:30000"), 403);
  EXPECT_EQ(with_origin("null"), 403);
}

// ---------------------------------------------------------------------------------
// Subprotocols

TEST(HandshakeProtocol, FirstClientOfferedProtocolThatTheRouteSpeaks) {
  Behavior behavior;
  behavior.protocols = {"v2.chat", "v1.chat"};
  HandshakeResult r =
      check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Protocol", "v3.chat, v1.chat, v2.chat"}}), behavior);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.protocol, "v1.chat") << "the client's order decides";
}

TEST(HandshakeProtocol, OffersSplitOverTwoHeaderLines) {
  Behavior behavior;
  behavior.protocols = {"mqtt", "graphql-ws"};
  HandshakeResult r = check(upgrade_request("GET /chat HTTP/1.1", {},
                                            "Sec-WebSocket-Protocol: soap, wamp\r\n"
                                            "Sec-WebSocket-Protocol: graphql-ws , mqtt\r\n"),
                            behavior);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.protocol, "graphql-ws");
}

TEST(HandshakeProtocol, NoCommonProtocolChoosesNone) {
  Behavior behavior;
  behavior.protocols = {"chat"};
  HandshakeResult r = check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Protocol", "soap, wamp"}}), behavior);
  EXPECT_EQ(r.status, 0) << "the handshake still succeeds";
  EXPECT_EQ(r.protocol, "");
  EXPECT_EQ(response_head(r, r.protocol).find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(HandshakeProtocol, RouteWithoutProtocolsIgnoresOffers) {
  HandshakeResult r = check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Protocol", "chat"}}));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.protocol, "");
}

TEST(HandshakeProtocol, ProtocolNamesAreCaseSensitive) {
  Behavior behavior;
  behavior.protocols = {"chat"};
  HandshakeResult r = check(upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Protocol", "CHAT"}}), behavior);
  EXPECT_EQ(r.protocol, "");
}

// ---------------------------------------------------------------------------------
// permessage-deflate

TEST(HandshakeDeflate, OfferIsIgnoredWhenTheRouteDoesNotEnableIt) {
  HandshakeResult r = check(
      upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}}));
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.deflate);
  EXPECT_EQ(response_head(r, "").find("Sec-WebSocket-Extensions"), std::string::npos);
}

TEST(HandshakeDeflate, OfferIsAcceptedWhenTheRouteEnablesIt) {
  Compression compression;
  compression.enabled = true;
  HandshakeResult r = check(
      upgrade_request("GET /chat HTTP/1.1", {{"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}}),
      {}, deflate_options(compression));
  EXPECT_EQ(r.status, 0);
  ASSERT_TRUE(r.deflate);
  EXPECT_TRUE(r.deflate->second.starts_with("permessage-deflate")) << r.deflate->second;
  EXPECT_TRUE(r.deflate->first.server_no_context_takeover) << "the default: one compressor per thread";
  std::string head = response_head(r, "");
  EXPECT_NE(head.find("\r\nSec-WebSocket-Extensions: " + r.deflate->second + "\r\n"), std::string::npos) << head;
}

TEST(HandshakeDeflate, NoOfferMeansNoCompression) {
  Compression compression;
  compression.enabled = true;
  HandshakeResult r = check(upgrade_request(), {}, deflate_options(compression));
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.deflate);
}

TEST(HandshakeDeflate, OfferSplitOverTwoHeaderLines) {
  Compression compression;
  compression.enabled = true;
  HandshakeResult r = check(upgrade_request("GET /chat HTTP/1.1", {},
                                            "Sec-WebSocket-Extensions: x-webkit-unknown\r\n"
                                            "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
                            {}, deflate_options(compression));
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.deflate);
}

TEST(HandshakeDeflate, OptionsFollowTheRouteCompressionSettings) {
  Compression compression;
  compression.enabled = true;
  compression.server_no_context_takeover = false;
  compression.client_no_context_takeover = true;
  compression.server_max_window_bits = 10;
  compression.client_max_window_bits = 11;
  compression.level = 3;
  compression.mem_level = 5;
  compression.threshold = 77;
  DeflateOptions options = deflate_options(compression);
  EXPECT_FALSE(options.server_no_context_takeover);
  EXPECT_TRUE(options.client_no_context_takeover);
  EXPECT_EQ(options.server_max_window_bits, 10);
  EXPECT_EQ(options.client_max_window_bits, 11);
  EXPECT_EQ(options.level, 3);
  EXPECT_EQ(options.mem_level, 5);
  EXPECT_EQ(options.threshold, 77u);
}

}  // namespace
}  // namespace switchboard::ws
