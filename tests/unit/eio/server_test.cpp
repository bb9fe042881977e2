// eio::Server end to end (src/eio/server.cpp): the handshake, every ServerOptions
// setting, the refusals and their codes, broadcast packets and shutdown. A real
// http::Server on 127.0.0.1 port 0 with one and two loops; with two, every session
// lives on loop 0 or 1 and the client's later requests come from a connection on the
// other loop (relayed polling, WebSocket handed over). Expectations follow Node's
// engine.io 6.6 (node_modules/engine.io/build) where the wire is concerned.

#include <switchboard/engineio.hpp>

#include <zlib.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/eio_client.hpp"
#include "support/http_client.hpp"
#include "support/ws_client.hpp"

namespace switchboard::eio {
namespace {

using namespace std::chrono_literals;
using namespace switchboard::eio::test;
using ws::Opcode;

// Inflates a whole zlib (window_bits 15), gzip (31) or raw deflate (-15) stream.
std::string inflate_all(std::string_view compressed, int window_bits) {
  z_stream stream{};
  if (inflateInit2(&stream, window_bits) != Z_OK) return "<inflateInit2 failed>";
  std::string out;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  char chunk[16384];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(chunk);
    stream.avail_out = sizeof chunk;
    result = inflate(&stream, Z_SYNC_FLUSH);
    out.append(chunk, sizeof chunk - stream.avail_out);
    if (result == Z_BUF_ERROR && stream.avail_in == 0) break;  // raw data without an end
  }
  inflateEnd(&stream);
  if (result != Z_STREAM_END && result != Z_BUF_ERROR && result != Z_OK) return "<inflate failed>";
  return out;
}

// A permessage-deflate message payload (RFC 7692 §7.2.1): raw deflate, sync flush, the
// trailing 00 00 ff ff removed.
std::string deflate_message(std::string_view message) {
  z_stream stream{};
  deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&stream, static_cast<uLong>(message.size())) + 16, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(message.data()));
  stream.avail_in = static_cast<uInt>(message.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  deflate(&stream, Z_SYNC_FLUSH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  if (out.size() >= 4 && out.ends_with(std::string_view("\x00\x00\xff\xff", 4))) out.resize(out.size() - 4);
  return out;
}

// A comma-separated header value as a set of trimmed items.
std::set<std::string> items(std::string_view list) {
  std::set<std::string> out;
  std::stringstream in{std::string(list)};
  std::string item;
  while (std::getline(in, item, ',')) {
    auto first = item.find_first_not_of(' ');
    auto last = item.find_last_not_of(' ');
    if (first != std::string::npos) out.insert(item.substr(first, last - first + 1));
  }
  return out;
}

std::string error_body(int code, std::string_view message) {
  return "{\"code\":" + std::to_string(code) + ",\"message\":\"" + std::string(message) + "\"}";
}

// One loop, or two with each session's later requests coming from the other loop.
class EioServer : public ::testing::TestWithParam<unsigned> {
 protected:
  unsigned threads() const { return GetParam(); }
  // The loop of the handshake's connection, and of every later request's.
  static constexpr unsigned session_loop = 0;
  unsigned request_loop() const { return GetParam() - 1; }
};

INSTANTIATE_TEST_SUITE_P(Loops, EioServer, ::testing::Values(1u, 2u),
                         [](const auto& info) { return info.param == 1 ? "1_loop" : "2_loops"; });

// ---------------------------------------------------------------------------------
// The handshake

TEST_P(EioServer, PollingHandshakeAnswersTheExactOpenPacket) {
  ServerOptions options;
  options.ping_interval = 12'345ms;
  options.ping_timeout = 6'789ms;
  options.max_http_buffer_size = 4'321;
  Engine engine(threads(), options);
  Polling a(engine, session_loop, request_loop());
  auto r = a.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=UTF-8");
  ASSERT_EQ(a.sid.size(), 24u) << r->body;
  EXPECT_EQ(r->body, open_packet(a.sid, true, options));
  EXPECT_EQ(r->body,
            "0{\"sid\":\"" + a.sid +
                "\",\"upgrades\":[\"websocket\"],\"pingInterval\":12345,\"pingTimeout\":6789,\"maxPayload\":4321}");
  EXPECT_TRUE(engine.log().wait_for("open " + a.sid + " polling 4")) << engine.log().dump();

  Polling b(engine, session_loop, request_loop());
  ASSERT_TRUE(b.handshake());
  EXPECT_NE(a.sid, b.sid);
  EXPECT_EQ(engine.server().session_count(), 2u);
}

TEST_P(EioServer, SessionIdsAreUniqueUrlSafeAnd24Characters) {
  Engine engine(threads());
  std::set<std::string> seen;
  for (int i = 0; i < 40; ++i) {
    Polling p(engine, i % threads(), request_loop());
    ASSERT_TRUE(p.handshake());
    ASSERT_EQ(p.sid.size(), 24u) << p.sid;
    for (char c : p.sid) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << p.sid;
    }
    EXPECT_TRUE(seen.insert(p.sid).second) << "sid issued twice: " << p.sid;
  }
}

TEST_P(EioServer, PollingResponsesCarryCacheControlNoStore) {
  // Node's polling transport sets "cache-control: no-store" on every response it
  // writes (Polling.headers() in transports/polling.js): the handshake, each GET and
  // each POST, so that no proxy or browser cache replays a poll.
  Engine engine(threads());
  Polling p(engine, session_loop, request_loop());
  auto handshake = p.handshake();
  ASSERT_TRUE(handshake);
  EXPECT_EQ(handshake->header("Cache-Control"), "no-store") << handshake->raw;
  auto post = p.post("4x");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->header("Cache-Control"), "no-store") << post->raw;
  ASSERT_TRUE(engine.with(p.sid, [](Socket& s) { s.send("y"); }));
  auto get = p.get();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->header("Cache-Control"), "no-store") << get->raw;
}

TEST_P(EioServer, WebSocketHandshakeOpenPacketOffersNoUpgrades) {
  ServerOptions options;
  options.ping_interval = 300ms;
  options.ping_timeout = 200ms;
  Engine engine(threads(), options);
  auto ws = websocket(engine, request_loop());
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  auto open = ws->read();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->opcode, Opcode::text);
  std::string sid = sid_of(open->payload);
  ASSERT_EQ(sid.size(), 24u) << open->payload;
  EXPECT_EQ(open->payload, open_packet(sid, false, options));
  EXPECT_TRUE(engine.log().wait_for("open " + sid + " websocket 4")) << engine.log().dump();
  EXPECT_EQ(engine.server().session_count(), 1u);
}

TEST_P(EioServer, RefusalsCarryNodesCodesAndMessages) {
  Engine engine(threads());
  struct Case {
    std::string request;
    int status;
    std::string body;
  };
  const std::vector<Case> cases = {
      {http::test::get("/engine.io/?transport=polling"), 400, error_body(5, "Unsupported protocol version")},
      {http::test::get("/engine.io/?EIO=3&transport=polling"), 400, error_body(5, "Unsupported protocol version")},
      {http::test::get("/engine.io/?EIO=5&transport=polling"), 400, error_body(5, "Unsupported protocol version")},
      {http::test::get("/engine.io/?EIO=4&transport=foo"), 400, error_body(0, "Transport unknown")},
      {http::test::get("/engine.io/?EIO=4"), 400, error_body(0, "Transport unknown")},
      {http::test::get("/engine.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAA"), 400,
       error_body(1, "Session ID unknown")},
      {http::test::get("/engine.io/?EIO=4&transport=polling&sid=nonsense"), 400, error_body(1, "Session ID unknown")},
      {"POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 400,
       error_body(2, "Bad handshake method")},
      {http::test::get("/engine.io/?EIO=4&transport=websocket"), 400, error_body(3, "Bad request")},
  };
  for (const auto& c : cases) {
    auto client = engine.http_client(request_loop());
    client->send(c.request);
    auto r = client->read_response();
    ASSERT_TRUE(r) << c.request;
    EXPECT_EQ(r->status, c.status) << c.request;
    EXPECT_EQ(r->body, c.body) << c.request;
    EXPECT_EQ(r->header("Content-Type"), "application/json") << c.request;
  }
  EXPECT_EQ(engine.server().session_count(), 0u);
  EXPECT_EQ(engine.log().count_prefix("open "), 0u);
}

TEST_P(EioServer, RefusalCodesFollowNodesOrderOfChecks) {
  // Node checks the transport, then the sid (and that the sid's session speaks the
  // request's protocol), then the handshake method, and only in handshake() the
  // protocol version (server.js verify() and handshake()). So a v3 request that is
  // wrong in another way gets that other code, not 5.
  Engine engine(threads());
  Polling v4(engine, session_loop, request_loop());
  ASSERT_TRUE(v4.handshake());
  struct Case {
    std::string request;
    std::string body;
  };
  const std::vector<Case> cases = {
      {http::test::get("/engine.io/?EIO=3&transport=foo"), error_body(0, "Transport unknown")},
      {http::test::get("/engine.io/?EIO=3&transport=polling&sid=AAAAAAAAAAAAAAAAAAAAAAAA"),
       error_body(1, "Session ID unknown")},
      {"POST /engine.io/?EIO=3&transport=polling HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
       error_body(2, "Bad handshake method")},
      // A v4 session asked for with EIO=3: PROTOCOL_MISMATCH, a bad request.
      {http::test::get("/engine.io/?EIO=3&transport=polling&sid=" + v4.sid), error_body(3, "Bad request")},
  };
  for (const auto& c : cases) {
    auto client = engine.http_client(request_loop());
    client->send(c.request);
    auto r = client->read_response();
    ASSERT_TRUE(r) << c.request;
    EXPECT_EQ(r->status, 400) << c.request;
    EXPECT_EQ(r->body, c.body) << c.request;
  }
}

TEST_P(EioServer, ProtocolMismatchWithinASessionIsABadRequest) {
  // With allow_eio3 a v3 request naming a v4 session is refused, as Node does
  // (verify(): "unexpected protocol version during upgrade", code 3).
  ServerOptions options;
  options.allow_eio3 = true;
  Engine engine(threads(), options);
  Polling v4(engine, session_loop, request_loop());
  ASSERT_TRUE(v4.handshake());
  auto client = engine.http_client(request_loop());
  client->send(http::test::get("/engine.io/?EIO=3&transport=polling&sid=" + v4.sid));
  auto r = client->read_response(false, 2s);
  ASSERT_TRUE(r) << "the v3 GET for a v4 session was held like a poll";
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, error_body(3, "Bad request"));
}

// ---------------------------------------------------------------------------------
// Options

TEST_P(EioServer, PathServesTheCustomPathOnly) {
  ServerOptions options;
  options.path = "/custom";
  Engine engine(threads(), options);
  EXPECT_EQ(engine.server().options().path, "/custom/");
  Polling custom(engine, session_loop, request_loop(), "/custom/");
  auto r = custom.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, open_packet(custom.sid, true, options));
  auto post = custom.post("4via custom");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + custom.sid + " text via custom"));

  auto ws = websocket(engine, request_loop(), {}, {}, "/custom/");
  EXPECT_TRUE(ws->upgraded()) << ws->head();

  Polling standard(engine, session_loop, request_loop());
  auto refused = standard.handshake();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 404);
  EXPECT_EQ(engine.server().session_count(), 2u);
}

TEST_P(EioServer, WebSocketOnlyRefusesPollingWithCode0) {
  ServerOptions options;
  options.transports = {"websocket"};
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, error_body(0, "Transport unknown"));
  auto ws = websocket(engine, request_loop());
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  auto open = ws->read();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->payload, open_packet(sid_of(open->payload), false, options));
}

TEST_P(EioServer, PollingOnlyRefusesWebSocketAndOffersNoUpgrade) {
  ServerOptions options;
  options.transports = {"polling"};
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, open_packet(p.sid, false, options));

  auto fresh = websocket(engine, request_loop());
  EXPECT_FALSE(fresh->upgraded()) << fresh->head();
  EXPECT_EQ(fresh->status(), 400) << fresh->head();
  auto upgrade = websocket(engine, request_loop(), p.sid);
  EXPECT_FALSE(upgrade->upgraded()) << upgrade->head();
  EXPECT_EQ(upgrade->status(), 400) << upgrade->head();

  // The polling session carries on.
  auto post = p.post("4still here");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p.sid + " text still here"));
  EXPECT_EQ(engine.server().session_count(), 1u);
}

TEST_P(EioServer, AllowUpgradesOffRefusesTheUpgradeWithCode3) {
  ServerOptions options;
  options.allow_upgrades = false;
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, open_packet(p.sid, false, options));
  auto upgrade = websocket(engine, request_loop(), p.sid);
  EXPECT_FALSE(upgrade->upgraded()) << upgrade->head();
  EXPECT_EQ(upgrade->status(), 400) << upgrade->head();
  EXPECT_EQ(upgrade->body(), error_body(3, "Bad request"));

  auto post = p.post("4polling goes on");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p.sid + " text polling goes on"));
  EXPECT_FALSE(engine.log().has("upgrade " + p.sid + " websocket"));

  // A WebSocket session from the start is not an upgrade: still allowed.
  auto ws = websocket(engine, request_loop());
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  auto open = ws->read();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->payload, open_packet(sid_of(open->payload), false, options));
}

TEST_P(EioServer, MaxHttpBufferSizeBoundsPostsAndWebSocketMessages) {
  ServerOptions options;
  options.max_http_buffer_size = 100;
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, open_packet(p.sid, true, options));

  std::string fits = "4" + std::string(99, 'x');
  auto ok = p.post(fits);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p.sid + " text " + std::string(99, 'x')));

  auto too_big = p.post(fits + "y");
  ASSERT_TRUE(too_big);
  EXPECT_EQ(too_big->status, 413);
  EXPECT_EQ(engine.log().count_prefix("message " + p.sid), 1u);
  // As with Node (polling.js onDataRequest), a refused POST leaves the session open.
  auto after = p.post("4after");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p.sid + " text after"));
  EXPECT_FALSE(engine.log().wait_prefix("close " + p.sid, 50ms));

  auto ws = websocket(engine, request_loop());
  ASSERT_TRUE(ws->upgraded());
  auto open = ws->read();
  ASSERT_TRUE(open);
  std::string ws_sid = sid_of(open->payload);
  ws->send_text(fits);
  EXPECT_TRUE(engine.log().wait_for("message " + ws_sid + " text " + std::string(99, 'x')));
  ws->send_text(fits + "y");
  auto closing = ws->read();
  ASSERT_TRUE(closing);
  EXPECT_EQ(closing->opcode, Opcode::close);
  EXPECT_EQ(closing->close_code(), ws::close_code::message_too_big);
  // The server failed the connection (RFC 6455 §7.1.7): it closes without waiting for
  // our close frame, and we close after it.
  EXPECT_TRUE(ws->closed_by_server());
  EXPECT_TRUE(engine.log().wait_prefix("close " + ws_sid)) << engine.log().dump();
}

TEST_P(EioServer, CookieIsSetOnTheHandshakeResponseOnly) {
  ServerOptions options;
  options.cookie = Cookie{};
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Set-Cookie"), "io=" + p.sid + "; Path=/; HttpOnly; SameSite=Lax");
  auto post = p.post("4x");
  ASSERT_TRUE(post);
  EXPECT_FALSE(post->has("Set-Cookie")) << post->raw;
  ASSERT_TRUE(engine.with(p.sid, [](Socket& s) { s.send("y"); }));
  auto get = p.get();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "4y");
  EXPECT_FALSE(get->has("Set-Cookie")) << get->raw;
}

TEST_P(EioServer, CookieAttributesFollowTheOptions) {
  ServerOptions options;
  options.cookie = Cookie{"sb", "/app", false, "Strict"};
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Set-Cookie"), "sb=" + p.sid + "; Path=/app; SameSite=Strict");
}

TEST_P(EioServer, NoCookieUnlessConfigured) {
  Engine engine(threads());
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has("Set-Cookie")) << r->raw;
}

// --- CORS -------------------------------------------------------------------------

bool has_cors_header(const Response& r) {
  for (const auto& [name, value] : r.headers) {
    if (name.starts_with("access-control-")) return true;
  }
  return false;
}

TEST_P(EioServer, NoCorsHeadersWhenCorsIsUnset) {
  Engine engine(threads());
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake("Origin: https://a.example\r\n");
  ASSERT_TRUE(r);
  EXPECT_FALSE(has_cors_header(*r)) << r->raw;
  auto post = p.post("4x", "Origin: https://a.example\r\n");
  ASSERT_TRUE(post);
  EXPECT_FALSE(has_cors_header(*post)) << post->raw;
  auto preflight = p.request(
      "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\n"
      "Access-Control-Request-Method: POST\r\n\r\n");
  ASSERT_TRUE(preflight);
  EXPECT_NE(preflight->status, 204);
  EXPECT_FALSE(has_cors_header(*preflight)) << preflight->raw;
}

TEST_P(EioServer, CorsAnyOriginAnswersStarOnEveryResponse) {
  ServerOptions options;
  options.cors = Cors{};
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake("Origin: https://a.example\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Access-Control-Allow-Origin"), "*");
  EXPECT_FALSE(r->has("Access-Control-Allow-Credentials"));
  auto post = p.post("4x", "Origin: https://a.example\r\n");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->header("Access-Control-Allow-Origin"), "*");
  ASSERT_TRUE(engine.with(p.sid, [](Socket& s) { s.send("y"); }));
  auto get = p.get("Origin: https://a.example\r\n");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->header("Access-Control-Allow-Origin"), "*");
  // Refusals too: the browser must be able to read the error.
  auto refused = p.request(http::test::get("/engine.io/?EIO=4&transport=foo", "Origin: https://a.example\r\n"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(refused->header("Access-Control-Allow-Origin"), "*");
}

TEST_P(EioServer, CorsWithCredentialsReflectsTheOrigin) {
  ServerOptions options;
  options.cors = Cors{};
  options.cors->credentials = true;
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake("Origin: https://a.example\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(r->header("Vary"), "Origin");
  EXPECT_EQ(r->header("Access-Control-Allow-Credentials"), "true");
}

TEST_P(EioServer, CorsOriginListAllowsOnlyListedOrigins) {
  ServerOptions options;
  options.cors = Cors{};
  options.cors->origins = {"https://a.example", "https://c.example"};
  Engine engine(threads(), options);
  Polling a(engine, session_loop, request_loop());
  auto listed = a.handshake("Origin: https://c.example\r\n");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200);
  EXPECT_EQ(listed->header("Access-Control-Allow-Origin"), "https://c.example");
  EXPECT_EQ(listed->header("Vary"), "Origin");
  Polling b(engine, session_loop, request_loop());
  auto unlisted = b.handshake("Origin: https://b.example\r\n");
  ASSERT_TRUE(unlisted);
  EXPECT_FALSE(unlisted->has("Access-Control-Allow-Origin")) << unlisted->raw;
  Polling c(engine, session_loop, request_loop());
  auto none = c.handshake();
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has("Access-Control-Allow-Origin")) << none->raw;
}

TEST_P(EioServer, CorsPreflightIs204WithMethodsHeadersAndMaxAge) {
  ServerOptions options;
  options.cors = Cors{};
  options.cors->max_age = 600s;
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.request(
      "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\n"
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type, x-foo\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(items(r->header("Access-Control-Allow-Methods")), (std::set<std::string>{"GET", "POST"}));
  EXPECT_EQ(items(r->header("Access-Control-Allow-Headers")), (std::set<std::string>{"content-type", "x-foo"}));
  EXPECT_EQ(r->header("Access-Control-Max-Age"), "600");
  EXPECT_EQ(engine.server().session_count(), 0u) << "a preflight opened a session";
}

TEST_P(EioServer, CorsPreflightListsConfiguredHeadersAndOmitsMaxAgeByDefault) {
  ServerOptions options;
  options.cors = Cors{};
  options.cors->origins = {"https://a.example"};
  options.cors->allowed_headers = {"X-A", "X-B"};
  options.cors->methods = {"GET", "POST", "PUT"};
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.request(
      "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://a.example\r\n"
      "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-other\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(items(r->header("Access-Control-Allow-Methods")), (std::set<std::string>{"GET", "POST", "PUT"}));
  EXPECT_EQ(items(r->header("Access-Control-Allow-Headers")), (std::set<std::string>{"X-A", "X-B"}));
  EXPECT_FALSE(r->has("Access-Control-Max-Age")) << r->raw;
  auto stranger = p.request(
      "OPTIONS /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n"
      "Access-Control-Request-Method: POST\r\n\r\n");
  ASSERT_TRUE(stranger);
  EXPECT_FALSE(stranger->has("Access-Control-Allow-Origin")) << stranger->raw;
}

// --- allow_request ------------------------------------------------------------------

TEST_P(EioServer, AllowRequestRefusesHandshakesWith403Code4) {
  std::atomic<int> calls{0};
  ServerOptions options;
  options.allow_request = [&calls](const http::Request& request, std::string&) {
    ++calls;
    return request.header("X-Token") == "let-me-in";
  };
  Engine engine(threads(), options);
  Polling refused(engine, session_loop, request_loop());
  auto r = refused.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, error_body(4, "Forbidden"));
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(engine.server().session_count(), 0u);

  Polling allowed(engine, session_loop, request_loop());
  auto ok = allowed.handshake("X-Token: let-me-in\r\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(calls.load(), 2);
  // Only handshakes are asked about: the session's own requests carry no token.
  auto post = allowed.post("4x");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  ASSERT_TRUE(engine.with(allowed.sid, [](Socket& s) { s.send("y"); }));
  auto get = allowed.get();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "4y");
  auto upgrade = websocket(engine, request_loop(), allowed.sid);
  EXPECT_TRUE(upgrade->upgraded()) << upgrade->head();
  EXPECT_EQ(calls.load(), 2);

  // WebSocket handshakes are asked too.
  auto ws_refused = websocket(engine, request_loop());
  EXPECT_FALSE(ws_refused->upgraded()) << ws_refused->head();
  auto ws_allowed = websocket(engine, request_loop(), {}, "X-Token: let-me-in\r\n");
  EXPECT_TRUE(ws_allowed->upgraded()) << ws_allowed->head();
  EXPECT_EQ(calls.load(), 4);
}

TEST_P(EioServer, AllowRequestCustomMessage) {
  ServerOptions options;
  options.allow_request = [](const http::Request&, std::string& error) {
    error = "Go \"away\"";
    return false;
  };
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->body, "{\"code\":4,\"message\":\"Go \\\"away\\\"\"}");
}

// --- initial_headers and headers ----------------------------------------------------

ServerOptions with_header_hooks() {
  ServerOptions options;
  options.initial_headers = [](const http::Request&, std::vector<std::pair<std::string, std::string>>& headers) {
    headers.emplace_back("X-Initial", "1");
  };
  options.headers = [](const http::Request& request, std::vector<std::pair<std::string, std::string>>& headers) {
    headers.emplace_back("X-Every", std::string(request.method()));
  };
  return options;
}

TEST_P(EioServer, InitialHeadersOnTheHandshakeOnlyAndHeadersOnEveryPollingResponse) {
  Engine engine(threads(), with_header_hooks());
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Initial"), "1");
  EXPECT_EQ(r->header("X-Every"), "GET");
  auto post = p.post("4x");
  ASSERT_TRUE(post);
  EXPECT_FALSE(post->has("X-Initial")) << post->raw;
  EXPECT_EQ(post->header("X-Every"), "POST");
  ASSERT_TRUE(engine.with(p.sid, [](Socket& s) { s.send("y"); }));
  auto get = p.get();
  ASSERT_TRUE(get);
  EXPECT_FALSE(get->has("X-Initial")) << get->raw;
  EXPECT_EQ(get->header("X-Every"), "GET");
}

TEST_P(EioServer, HeaderHooksApplyToWebSocketHandshakeResponses) {
  // Node adds both to the 101 of a WebSocket handshake and `headers` to the 101 of an
  // upgrade (server.js init(): the ws "headers" event emits "initial_headers" when the
  // request has no sid, then "headers").
  Engine engine(threads(), with_header_hooks());
  auto ws = websocket(engine, request_loop());
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  EXPECT_EQ(ws->header("X-Initial"), "1") << ws->head();
  EXPECT_EQ(ws->header("X-Every"), "GET") << ws->head();

  Polling p(engine, session_loop, request_loop());
  ASSERT_TRUE(p.handshake());
  auto upgrade = websocket(engine, request_loop(), p.sid);
  ASSERT_TRUE(upgrade->upgraded()) << upgrade->head();
  EXPECT_EQ(upgrade->header("X-Initial"), "") << upgrade->head();
  EXPECT_EQ(upgrade->header("X-Every"), "GET") << upgrade->head();
}

// --- http_compression ---------------------------------------------------------------

// The body of a GET answered with `message` queued, asked with `accept_encoding`.
std::optional<Response> poll_message(Engine& engine, Polling& p, const std::string& message,
                                     std::string_view accept_encoding) {
  if (!engine.with(p.sid, [&message](Socket& s) { s.send(message); })) return std::nullopt;
  std::string headers = accept_encoding.empty() ? "" : "Accept-Encoding: " + std::string(accept_encoding) + "\r\n";
  return p.get(headers);
}

TEST_P(EioServer, HttpCompressionGzipOrDeflateAboveTheThreshold) {
  Engine engine(threads());
  Polling p(engine, session_loop, request_loop());
  ASSERT_TRUE(p.handshake("Accept-Encoding: gzip, deflate\r\n"));
  std::string big;
  for (int i = 0; i < 300; ++i) big += "message " + std::to_string(i) + ";";
  ASSERT_GE(big.size(), 1024u);

  auto gzip = poll_message(engine, p, big, "gzip, deflate");
  ASSERT_TRUE(gzip);
  EXPECT_EQ(gzip->status, 200);
  EXPECT_EQ(gzip->header("Content-Encoding"), "gzip");
  EXPECT_EQ(gzip->header("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_LT(gzip->body.size(), big.size());
  EXPECT_EQ(inflate_all(gzip->body, 31), "4" + big);

  auto deflate = poll_message(engine, p, big, "deflate");
  ASSERT_TRUE(deflate);
  EXPECT_EQ(deflate->header("Content-Encoding"), "deflate");
  EXPECT_EQ(inflate_all(deflate->body, 15), "4" + big);

  auto identity = poll_message(engine, p, big, "");
  ASSERT_TRUE(identity);
  EXPECT_FALSE(identity->has("Content-Encoding"));
  EXPECT_EQ(identity->body, "4" + big);

  auto refused = poll_message(engine, p, big, "gzip;q=0");
  ASSERT_TRUE(refused);
  EXPECT_FALSE(refused->has("Content-Encoding"));
  EXPECT_EQ(refused->body, "4" + big);

  auto small = poll_message(engine, p, "short", "gzip");
  ASSERT_TRUE(small);
  EXPECT_FALSE(small->has("Content-Encoding"));
  EXPECT_EQ(small->body, "4short");
}

TEST_P(EioServer, HttpCompressionThresholdAndSwitch) {
  ServerOptions low;
  low.http_compression_threshold = 16;
  Engine engine(threads(), low);
  Polling p(engine, session_loop, request_loop());
  ASSERT_TRUE(p.handshake());
  std::string text = "a somewhat longer message";
  auto compressed = poll_message(engine, p, text, "gzip");
  ASSERT_TRUE(compressed);
  EXPECT_EQ(compressed->header("Content-Encoding"), "gzip");
  EXPECT_EQ(inflate_all(compressed->body, 31), "4" + text);

  ServerOptions off;
  off.http_compression = false;
  Engine plain_engine(threads(), off);
  Polling q(plain_engine, session_loop, request_loop());
  ASSERT_TRUE(q.handshake());
  std::string big(4000, 'z');
  auto plain = poll_message(plain_engine, q, big, "gzip, deflate");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->has("Content-Encoding"));
  EXPECT_EQ(plain->body, "4" + big);
}

// --- allow_eio3 ---------------------------------------------------------------------

TEST_P(EioServer, Eio3IsRefusedWithCode5ByDefault) {
  Engine engine(threads());
  Polling v3(engine, session_loop, request_loop(), "/engine.io/", "3");
  auto r = v3.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, error_body(5, "Unsupported protocol version"));
  auto ws = websocket(engine, request_loop(), {}, {}, "/engine.io/", "3");
  EXPECT_FALSE(ws->upgraded()) << ws->head();
  EXPECT_EQ(engine.server().session_count(), 0u);
}

TEST_P(EioServer, Eio3PollingHandshakeIsLengthPrefixedAndTheClientDrivesTheHeartbeat) {
  ServerOptions options;
  options.allow_eio3 = true;
  options.ping_interval = 150ms;
  options.ping_timeout = 300ms;
  Engine engine(threads(), options);
  Polling v3(engine, session_loop, request_loop(), "/engine.io/", "3");
  auto r = v3.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  std::string open = open_packet(v3.sid, true, options);
  EXPECT_EQ(r->body, std::to_string(open.size()) + ":" + open);
  EXPECT_TRUE(engine.log().wait_for("open " + v3.sid + " polling 3")) << engine.log().dump();

  // v3: the server never pings; the client does, and gets a pong.
  v3.start_get();
  EXPECT_TRUE(v3.get_held(250ms)) << "a v3 session got something unasked (a server ping?)";
  auto ping = v3.post("1:2");
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
  auto pong = v3.finish_get();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->body, "1:3");

  ASSERT_TRUE(v3.post("6:4hello"));
  EXPECT_TRUE(engine.log().wait_for("message " + v3.sid + " text hello"));
  ASSERT_TRUE(engine.with(v3.sid, [](Socket& s) {
    s.send("hi");
    s.send(std::string("\x00\x01\x02", 3), true);
  }));
  auto got = v3.get();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, "3:4hi6:b4AAEC");

  // Silent for pingInterval + pingTimeout after its last ping: gone.
  EXPECT_TRUE(engine.log().wait_for("close " + v3.sid + " ping timeout", 3s)) << engine.log().dump();
}

TEST_P(EioServer, Eio3WebSocketClientPingGetsPong) {
  ServerOptions options;
  options.allow_eio3 = true;
  Engine engine(threads(), options);
  auto ws = websocket(engine, request_loop(), {}, {}, "/engine.io/", "3");
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  auto open = ws->read();
  ASSERT_TRUE(open);
  std::string sid = sid_of(open->payload);
  EXPECT_EQ(open->payload, open_packet(sid, false, options));
  EXPECT_TRUE(engine.log().wait_for("open " + sid + " websocket 3"));
  ws->send_text("2");
  auto pong = ws->read();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->payload, "3");
  ws->send_text("2probe");
  pong = ws->read();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->payload, "3probe");
  ws->send_text("4hi");
  EXPECT_TRUE(engine.log().wait_for("message " + sid + " text hi"));
}

// --- per_message_deflate ------------------------------------------------------------

TEST_P(EioServer, PerMessageDeflateIsNegotiatedOnTheWebSocketTransport) {
  ServerOptions options;
  options.per_message_deflate = true;
  Engine engine(threads(), options);
  auto ws = websocket(engine, request_loop(), {}, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  EXPECT_NE(ws->header("Sec-WebSocket-Extensions").find("permessage-deflate"), std::string::npos) << ws->head();
  auto open = ws->read();
  ASSERT_TRUE(open);
  std::string sid = sid_of(open->payload);
  ASSERT_FALSE(sid.empty()) << open->payload;

  std::string big(3000, 'q');
  ASSERT_TRUE(engine.with(sid, [&big](Socket& s) {
    s.send(big);
    s.send("tiny");
  }));
  auto compressed = ws->read();
  ASSERT_TRUE(compressed);
  EXPECT_TRUE(compressed->rsv1);
  EXPECT_LT(compressed->payload.size(), big.size());
  EXPECT_EQ(inflate_all(compressed->payload + std::string("\x00\x00\xff\xff", 4), -15), "4" + big);
  auto tiny = ws->read();
  ASSERT_TRUE(tiny);
  EXPECT_FALSE(tiny->rsv1);
  EXPECT_EQ(tiny->payload, "4tiny");

  // A broadcast packet reaches a compressing socket too.
  auto shared = Server::make_packet(big, false);
  ASSERT_TRUE(engine.with(sid, [&shared](Socket& s) { s.send(shared); }));
  auto broadcast = ws->read();
  ASSERT_TRUE(broadcast);
  std::string text = broadcast->rsv1 ? inflate_all(broadcast->payload + std::string("\x00\x00\xff\xff", 4), -15)
                                     : broadcast->payload;
  EXPECT_EQ(text, "4" + big);

  // And the client may compress its messages.
  ws->send(Opcode::text, deflate_message("4compressed hello"), true);
  EXPECT_TRUE(engine.log().wait_for("message " + sid + " text compressed hello")) << engine.log().dump();
}

TEST_P(EioServer, PerMessageDeflateOffOrNotOfferedMeansPlainFrames) {
  Engine engine(threads());
  auto ws = websocket(engine, request_loop(), {}, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  EXPECT_EQ(ws->header("Sec-WebSocket-Extensions"), "") << ws->head();
  auto open = ws->read();
  ASSERT_TRUE(open);
  std::string big(3000, 'q');
  ASSERT_TRUE(engine.with(sid_of(open->payload), [&big](Socket& s) { s.send(big); }));
  auto frame = ws->read();
  ASSERT_TRUE(frame);
  EXPECT_FALSE(frame->rsv1);
  EXPECT_EQ(frame->payload, "4" + big);

  ServerOptions options;
  options.per_message_deflate = true;
  Engine deflating(threads(), options);
  auto plain = websocket(deflating, request_loop());
  ASSERT_TRUE(plain->upgraded());
  EXPECT_EQ(plain->header("Sec-WebSocket-Extensions"), "") << plain->head();
  open = plain->read();
  ASSERT_TRUE(open);
  ASSERT_TRUE(deflating.with(sid_of(open->payload), [&big](Socket& s) { s.send(big); }));
  frame = plain->read();
  ASSERT_TRUE(frame);
  EXPECT_FALSE(frame->rsv1);
  EXPECT_EQ(frame->payload, "4" + big);
}

TEST_P(EioServer, PerMessageDeflateOnAnUpgradedSession) {
  ServerOptions options;
  options.per_message_deflate = true;
  Engine engine(threads(), options);
  Polling p(engine, session_loop, request_loop());
  ASSERT_TRUE(p.handshake());
  auto ws = websocket(engine, request_loop(), p.sid, "Sec-WebSocket-Extensions: permessage-deflate\r\n");
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  EXPECT_NE(ws->header("Sec-WebSocket-Extensions").find("permessage-deflate"), std::string::npos);
  ws->send_text("2probe");
  auto probe = ws->read();
  ASSERT_TRUE(probe);
  EXPECT_EQ(probe->payload, "3probe");
  ws->send_text("5");
  ASSERT_TRUE(engine.log().wait_for("upgrade " + p.sid + " websocket"));
  std::string big(3000, 'r');
  ASSERT_TRUE(engine.with(p.sid, [&big](Socket& s) { s.send(big); }));
  auto frame = ws->read();
  ASSERT_TRUE(frame);
  EXPECT_TRUE(frame->rsv1);
  EXPECT_EQ(inflate_all(frame->payload + std::string("\x00\x00\xff\xff", 4), -15), "4" + big);
}

// ---------------------------------------------------------------------------------
// Broadcast: Server::make_packet and Socket::send(const SharedPacket&)

TEST(EioServerPacket, MakePacketFramesOnceForBothTransports) {
  auto text = Server::make_packet("hello", false);
  EXPECT_FALSE(text.binary);
  EXPECT_EQ(text.polling_text, "4hello");
  EXPECT_EQ(text.data(), "hello");
  EXPECT_EQ(std::string(text.websocket_frame.view()), std::string("\x81\x06", 2) + "4hello");
  EXPECT_EQ(text.frame_header_size, 2u);

  std::string bytes("\x00\xff\x01", 3);
  auto binary = Server::make_packet(bytes, true);
  EXPECT_TRUE(binary.binary);
  EXPECT_EQ(binary.polling_text, "bAP8B");
  EXPECT_EQ(binary.data(), bytes);
  EXPECT_EQ(std::string(binary.websocket_frame.view()), std::string("\x82\x03", 2) + bytes);

  std::string long_text(300, 'x');
  auto large = Server::make_packet(long_text, false);
  EXPECT_EQ(large.frame_header_size, 4u);
  EXPECT_EQ(std::string(large.websocket_frame.view().substr(0, 4)), std::string("\x81\x7e\x01\x2d", 4));
  EXPECT_EQ(large.data(), long_text);
}

TEST_P(EioServer, ASharedPacketReachesWebSocketAndPollingSessions) {
  Engine engine(threads());
  std::vector<std::unique_ptr<ws::test::Client>> sockets;
  std::vector<std::string> ws_sids;
  for (unsigned i = 0; i < 4; ++i) {
    sockets.push_back(websocket(engine, i % threads()));
    ASSERT_TRUE(sockets.back()->upgraded());
    auto open = sockets.back()->read();
    ASSERT_TRUE(open);
    ws_sids.push_back(sid_of(open->payload));
  }
  std::vector<std::unique_ptr<Polling>> polls;
  for (unsigned i = 0; i < 3; ++i) {
    polls.push_back(std::make_unique<Polling>(engine, i % threads(), request_loop()));
    ASSERT_TRUE(polls.back()->handshake());
  }
  // Built on the test thread, sent from every loop.
  const auto text = Server::make_packet("news for all", false);
  const auto binary = Server::make_packet(std::string("\x00\xff\x01", 3), true);
  auto send_both = [&](Socket& s) {
    EXPECT_TRUE(s.send(text));
    EXPECT_TRUE(s.send(binary));
  };
  for (const auto& sid : ws_sids) ASSERT_TRUE(engine.with(sid, send_both));
  // A polling session takes it into the payload after what it already had queued.
  for (const auto& p : polls) {
    ASSERT_TRUE(engine.with(p->sid, [&](Socket& s) {
      s.send("before");
      send_both(s);
    }));
  }
  for (auto& socket : sockets) {
    auto first = socket->read();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->raw, std::string(text.websocket_frame.view()));
    auto second = socket->read();
    ASSERT_TRUE(second);
    EXPECT_EQ(second->opcode, Opcode::binary);
    EXPECT_EQ(second->raw, std::string(binary.websocket_frame.view()));
  }
  for (auto& p : polls) {
    auto r = p->get();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "4before\x1e" "4news for all\x1e" "bAP8B");
  }
}

TEST_P(EioServer, ASharedPacketReachesV3Sessions) {
  ServerOptions options;
  options.allow_eio3 = true;
  Engine engine(threads(), options);
  Polling v3(engine, session_loop, request_loop(), "/engine.io/", "3");
  ASSERT_TRUE(v3.handshake());
  auto ws = websocket(engine, request_loop(), {}, {}, "/engine.io/", "3");
  ASSERT_TRUE(ws->upgraded());
  auto open = ws->read();
  ASSERT_TRUE(open);
  const auto text = Server::make_packet("hey", false);
  const auto binary = Server::make_packet(std::string("\x00\x01\x02", 3), true);
  for (const auto& sid : {v3.sid, sid_of(open->payload)}) {
    ASSERT_TRUE(engine.with(sid, [&](Socket& s) {
      s.send(text);
      s.send(binary);
    }));
  }
  auto r = v3.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "4:4hey6:b4AAEC");
  auto first = ws->read();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->payload, "4hey");
  auto second = ws->read();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->opcode, Opcode::binary);
  EXPECT_EQ(second->payload, std::string("\x04\x00\x01\x02", 4));  // v3: the type byte first
}

// ---------------------------------------------------------------------------------
// Shutdown

TEST_P(EioServer, ShutdownClosesPollingWithACloseAndWebSocketsWith1001) {
  Engine engine(threads());
  Polling p(engine, session_loop, request_loop());
  ASSERT_TRUE(p.handshake());
  p.start_get();
  ASSERT_TRUE(p.get_held(50ms));
  auto ws = websocket(engine, request_loop());
  ASSERT_TRUE(ws->upgraded());
  auto open = ws->read();
  ASSERT_TRUE(open);
  std::string ws_sid = sid_of(open->payload);
  // And a session upgraded from polling.
  Polling u(engine, session_loop, request_loop());
  ASSERT_TRUE(u.handshake());
  auto upgraded = websocket(engine, request_loop(), u.sid);
  ASSERT_TRUE(upgraded->upgraded());
  upgraded->send_text("2probe");
  ASSERT_TRUE(upgraded->read());
  upgraded->send_text("5");
  ASSERT_TRUE(engine.log().wait_for("upgrade " + u.sid + " websocket"));

  std::thread stopper([&engine] { engine.shutdown(); });
  auto last = p.finish_get();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
  EXPECT_EQ(last->body, "1");
  for (auto* client : {ws.get(), upgraded.get()}) {
    auto frame = client->read();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->opcode, Opcode::close);
    EXPECT_EQ(frame->close_code(), ws::close_code::going_away);
    client->send_close(ws::close_code::going_away);
  }
  stopper.join();
  EXPECT_TRUE(engine.log().has("close " + p.sid + " server shutting down")) << engine.log().dump();
  EXPECT_TRUE(engine.log().has("close " + ws_sid + " server shutting down")) << engine.log().dump();
  EXPECT_TRUE(engine.log().has("close " + u.sid + " server shutting down")) << engine.log().dump();
  EXPECT_EQ(engine.server().session_count(), 0u);
}

}  // namespace
}  // namespace switchboard::eio
