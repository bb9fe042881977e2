// eio sessions end to end (src/eio/session.cpp): the Socket API, every close reason,
// the heartbeat, and the transitions of a session one by one — polling, the probe, the
// upgrade, its timeout and its abandonment. A real http::Server on 127.0.0.1 port 0
// with one and two loops; with two, each session lives on loop 0 and its later
// requests come from connections on loop 1 (polling relayed, WebSockets handed over).

#include <switchboard/engineio.hpp>

#include <gtest/gtest.h>

#include <any>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
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
using Clock = std::chrono::steady_clock;

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 5s) {
  auto deadline = Clock::now() + timeout;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string error_body(int code, std::string_view message) {
  return "{\"code\":" + std::to_string(code) + ",\"message\":\"" + std::string(message) + "\"}";
}

class EioSession : public ::testing::TestWithParam<unsigned> {
 protected:
  unsigned threads() const { return GetParam(); }
  static constexpr unsigned session_loop = 0;
  unsigned request_loop() const { return GetParam() - 1; }

  // A polling session; the test fails unless it opens.
  std::unique_ptr<Polling> open_polling(Engine& engine) {
    auto p = std::make_unique<Polling>(engine, session_loop, request_loop());
    auto r = p->handshake();
    EXPECT_TRUE(r && r->status == 200);
    EXPECT_EQ(p->sid.size(), 24u);
    return p;
  }

  // A WebSocket session from the start (on the request loop); sid receives its id.
  std::unique_ptr<ws::test::Client> open_websocket(Engine& engine, std::string& sid, std::string_view headers = {}) {
    auto ws = websocket(engine, request_loop(), {}, headers);
    EXPECT_TRUE(ws->upgraded()) << ws->head();
    auto open = ws->read();
    EXPECT_TRUE(open);
    if (open) sid = sid_of(open->payload);
    EXPECT_EQ(sid.size(), 24u);
    return ws;
  }

  // The probe WebSocket of session `sid`, opened and answered ("2probe" -> "3probe").
  std::unique_ptr<ws::test::Client> probe(Engine& engine, const std::string& sid) {
    auto ws = websocket(engine, request_loop(), sid);
    EXPECT_TRUE(ws->upgraded()) << ws->head();
    ws->send_text("2probe");
    auto pong = ws->read();
    EXPECT_TRUE(pong);
    if (pong) {
      EXPECT_EQ(pong->payload, "3probe");
    }
    return ws;
  }

  // A session upgraded from polling to WebSocket.
  std::unique_ptr<ws::test::Client> upgrade(Engine& engine, Polling& p) {
    auto ws = probe(engine, p.sid);
    ws->send_text("5");
    EXPECT_TRUE(engine.log().wait_for("upgrade " + p.sid + " websocket")) << engine.log().dump();
    return ws;
  }
};

INSTANTIATE_TEST_SUITE_P(Loops, EioSession, ::testing::Values(1u, 2u),
                         [](const auto& info) { return info.param == 1 ? "1_loop" : "2_loops"; });

// ---------------------------------------------------------------------------------
// The Socket API

TEST_P(EioSession, OnConnectionRunsForPollingAndWebSocketHandshakes) {
  Engine engine(threads());
  auto p = open_polling(engine);
  EXPECT_TRUE(engine.log().wait_for("open " + p->sid + " polling 4")) << engine.log().dump();
  std::string ws_sid;
  auto ws = open_websocket(engine, ws_sid);
  EXPECT_TRUE(engine.log().wait_for("open " + ws_sid + " websocket 4")) << engine.log().dump();
  EXPECT_EQ(engine.log().count_prefix("open "), 2u);
}

TEST_P(EioSession, WhatTheConnectionHandlerSendsFollowsTheOpenPacket) {
  Engine engine(threads(), {}, [](Socket& s, Log&) { s.send("welcome"); });
  Polling p(engine, session_loop, request_loop());
  auto r = p.handshake();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, open_packet(p.sid, true, engine.server().options()));
  auto first = p.get();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->body, "4welcome");

  auto ws = websocket(engine, request_loop());
  ASSERT_TRUE(ws->upgraded());
  auto open = ws->read();
  ASSERT_TRUE(open);
  EXPECT_EQ(open->payload.front(), '0');
  auto welcome = ws->read();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->payload, "4welcome");
}

struct SeenHandshake {
  std::mutex mutex;
  std::map<std::string, Handshake> by_sid;
  std::map<std::string, std::string> first_header_name;
};

TEST_P(EioSession, HandshakeHoldsTheOpeningRequest) {
  SeenHandshake seen;
  Engine engine(threads(), {}, [&seen](Socket& s, Log&) {
    std::lock_guard lock(seen.mutex);
    seen.by_sid[std::string(s.id())] = s.handshake();
  });
  auto before = std::chrono::system_clock::now();
  Polling p(engine, session_loop, request_loop());
  ASSERT_TRUE(p.handshake("X-Test: yes\r\n", "&foo=bar%20baz"));
  auto ws = websocket(engine, request_loop(), {}, "X-Test: ws\r\n");
  ASSERT_TRUE(ws->upgraded());
  auto open = ws->read();
  ASSERT_TRUE(open);
  std::string ws_sid = sid_of(open->payload);
  auto after = std::chrono::system_clock::now();
  ASSERT_TRUE(engine.log().wait_for("open " + ws_sid + " websocket 4"));

  std::lock_guard lock(seen.mutex);
  ASSERT_EQ(seen.by_sid.count(p.sid), 1u);
  const Handshake& h = seen.by_sid[p.sid];
  EXPECT_EQ(h.url(), "/engine.io/?EIO=4&transport=polling&foo=bar%20baz");
  EXPECT_EQ(h.query(), "EIO=4&transport=polling&foo=bar%20baz");
  EXPECT_EQ(h.query_param("foo"), "bar baz");
  EXPECT_EQ(h.query_param("EIO"), "4");
  EXPECT_EQ(h.query_param("missing"), std::nullopt);
  EXPECT_EQ(h.header("X-Test"), "yes");
  EXPECT_EQ(h.header("x-test"), "yes");
  EXPECT_EQ(h.header("Host"), "localhost");
  EXPECT_EQ(h.header("X-Absent"), "");
  bool listed = false;
  for (const auto& [name, value] : h.headers()) listed |= (name == "X-Test" && value == "yes");
  EXPECT_TRUE(listed) << "X-Test is not among handshake().headers()";
  EXPECT_EQ(h.address(), "127.0.0.1");
  EXPECT_GE(h.time(), before);
  EXPECT_LE(h.time(), after);
  EXPECT_FALSE(h.secure());

  ASSERT_EQ(seen.by_sid.count(ws_sid), 1u);
  const Handshake& w = seen.by_sid[ws_sid];
  EXPECT_EQ(w.url(), "/engine.io/?EIO=4&transport=websocket");
  EXPECT_EQ(w.header("X-Test"), "ws");
  EXPECT_EQ(w.header("Upgrade"), "websocket");
  EXPECT_EQ(w.address(), "127.0.0.1");
  EXPECT_GE(w.time(), before);
  EXPECT_LE(w.time(), after);
}

TEST_P(EioSession, HandshakeStaysTheOpeningRequestAfterAnUpgrade) {
  Engine engine(threads(), {}, Engine::Hooks{.upgrade = [](Socket& s, Log& log) {
                  log.add("upgraded " + std::string(s.id()) + " " + std::string(s.handshake().url()) + " " +
                          std::string(s.transport()));
                }});
  auto p = open_polling(engine);
  auto ws = upgrade(engine, *p);
  EXPECT_TRUE(engine.log().wait_for("upgraded " + p->sid + " /engine.io/?EIO=4&transport=polling websocket"))
      << engine.log().dump();
}

TEST_P(EioSession, SendReachesAPollingClientTextAndBinary) {
  Engine engine(threads());
  auto p = open_polling(engine);
  std::vector<bool> results;
  ASSERT_TRUE(engine.with(p->sid, [&results](Socket& s) {
    results.push_back(s.send("hello"));
    results.push_back(s.send(std::string("\x00\x01\x02", 3), true));
    results.push_back(s.send("\xc3\xa9t\xc3\xa9"));
    results.push_back(s.send(""));
    results.push_back(s.buffered_amount() == 4);  // packets waiting for a GET
  }));
  EXPECT_EQ(results, (std::vector<bool>{true, true, true, true, true}));
  auto r = p->get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(r->body, "4hello\x1e" "bAAEC\x1e" "4\xc3\xa9t\xc3\xa9\x1e" "4");
}

TEST_P(EioSession, SendReachesAWebSocketClientTextAndBinary) {
  Engine engine(threads());
  std::string sid;
  auto ws = open_websocket(engine, sid);
  ASSERT_TRUE(engine.with(sid, [](Socket& s) {
    EXPECT_EQ(s.transport(), "websocket");
    s.send("hello");
    s.send(std::string("\x00\x01\x02", 3), true);
  }));
  auto text = ws->read();
  ASSERT_TRUE(text);
  EXPECT_EQ(text->opcode, Opcode::text);
  EXPECT_EQ(text->payload, "4hello");
  auto binary = ws->read();
  ASSERT_TRUE(binary);
  EXPECT_EQ(binary->opcode, Opcode::binary);
  EXPECT_EQ(binary->payload, std::string("\x00\x01\x02", 3));
}

TEST_P(EioSession, OnMessageOverPollingTextAndBinary) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto r = p->post("4hello\x1e" "bAAEC\x1e" "4");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(r->header("Content-Type"), "text/html");
  ASSERT_TRUE(engine.log().wait_for("message " + p->sid + " text "));
  auto entries = engine.log().entries();
  std::vector<std::string> messages;
  for (const auto& e : entries) {
    if (e.starts_with("message ")) messages.push_back(e);
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"message " + p->sid + " text hello",
                                                "message " + p->sid + " binary " + std::string("\x00\x01\x02", 3),
                                                "message " + p->sid + " text "}));
}

TEST_P(EioSession, OnMessageOverWebSocketTextAndBinary) {
  Engine engine(threads());
  std::string sid;
  auto ws = open_websocket(engine, sid);
  ws->send_text("4hi");
  ws->send_binary(std::string("\x00\xff", 2));
  ws->send_text("bAAEC");  // base64 binary in a text frame (forceBase64 clients)
  ASSERT_TRUE(engine.log().wait_for("message " + sid + " binary " + std::string("\x00\x01\x02", 3)))
      << engine.log().dump();
  std::vector<std::string> messages;
  for (const auto& e : engine.log().entries()) {
    if (e.starts_with("message ")) messages.push_back(e);
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"message " + sid + " text hi",
                                                "message " + sid + " binary " + std::string("\x00\xff", 2),
                                                "message " + sid + " binary " + std::string("\x00\x01\x02", 3)}));
}

TEST_P(EioSession, OnUpgradeFiresOnceAndTheTransportChanges) {
  Engine engine(threads());
  auto p = open_polling(engine);
  std::string before;
  ASSERT_TRUE(engine.with(p->sid, [&before](Socket& s) { before = std::string(s.transport()); }));
  EXPECT_EQ(before, "polling");
  auto ws = upgrade(engine, *p);
  std::string after;
  int protocol = 0;
  ASSERT_TRUE(engine.with(p->sid, [&](Socket& s) {
    after = std::string(s.transport());
    protocol = s.protocol();
  }));
  EXPECT_EQ(after, "websocket");
  EXPECT_EQ(protocol, 4);
  // Messages and pings on the new transport fire no second upgrade.
  ws->send_text("4x");
  ASSERT_TRUE(engine.log().wait_for("message " + p->sid + " text x"));
  EXPECT_EQ(engine.log().count_prefix("upgrade " + p->sid), 1u);
}

TEST_P(EioSession, UserDataStaysWithTheSocket) {
  Engine engine(threads(), {}, [](Socket& s, Log&) { s.user_data() = std::string("user-7"); });
  auto p = open_polling(engine);
  std::string data;
  ASSERT_TRUE(engine.with(p->sid, [&data](Socket& s) { data = std::any_cast<std::string>(s.user_data()); }));
  EXPECT_EQ(data, "user-7");
}

// --- close() and on_close -------------------------------------------------------------

// Logs, inside on_close, what open() and send() say there.
const Engine::Hooks log_state_in_close{.close = [](Socket& s, Log& log) {
  log.add("in-close " + std::string(s.id()) + " open=" + (s.open() ? "true" : "false") +
          " send=" + (s.send("late") ? "true" : "false"));
}};

TEST_P(EioSession, CloseSendsWhatIsQueuedToThePendingGetAndTheCloseToTheNext) {
  // Node's order: the queue drains, then the transport closes. socket.io-client handles
  // a packet on the next tick, so a DISCONNECT sharing a payload with the close packet
  // would reach it after the connection had already gone.
  Engine engine(threads(), {}, log_state_in_close);
  auto p = open_polling(engine);
  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  bool open_before = false;
  ASSERT_TRUE(engine.with(p->sid, [&open_before](Socket& s) {
    open_before = s.open();
    s.send("a");
    s.send("b");
    s.close();
  }));
  EXPECT_TRUE(open_before);
  auto r = p->finish_get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "4a\x1e" "4b");
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " forced close")) << engine.log().dump();
  EXPECT_TRUE(engine.log().has("in-close " + p->sid + " open=false send=false")) << engine.log().dump();
  EXPECT_FALSE(engine.with(p->sid, [](Socket&) {}));
  auto last = p->get();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->status, 200);
  EXPECT_EQ(last->body, "1");
  auto gone = p->get();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 400);
  EXPECT_EQ(gone->body, error_body(1, "Session ID unknown"));
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }));
}

TEST_P(EioSession, CloseWithNoGetPendingDeliversTheQueueAndTheCloseToTheNextGet) {
  // Socket::close() promises to flush what is queued. Node keeps a polling session
  // whose transport is not writable until the next GET (Polling.doClose sets
  // shouldClose; the next poll gets the buffer, and a close packet appended), so the
  // client reads "4a" and then "1", not an unknown-sid error.
  Engine engine(threads());
  auto p = open_polling(engine);
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) {
    s.send("a");
    s.close();
  }));
  std::string packets;
  for (int i = 0; i < 2 && !packets.ends_with("1"); ++i) {
    auto r = p->get();
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    if (!packets.empty()) packets += "\x1e";
    packets += r->body;
  }
  EXPECT_TRUE(packets == "4a\x1e" "1" || packets == "4a\x1e" "6\x1e" "1") << packets;
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " forced close")) << engine.log().dump();
}

TEST_P(EioSession, CloseOverWebSocketFlushesThenCloses) {
  Engine engine(threads(), {}, log_state_in_close);
  std::string sid;
  auto ws = open_websocket(engine, sid);
  ASSERT_TRUE(engine.with(sid, [](Socket& s) {
    s.send("a");
    s.send(std::string("\x01", 1), true);
    s.close();
  }));
  auto a = ws->read();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->payload, "4a");
  auto b = ws->read();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->opcode, Opcode::binary);
  auto close = ws->read();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, Opcode::close);
  ws->send_close();
  EXPECT_TRUE(engine.log().wait_for("close " + sid + " forced close")) << engine.log().dump();
  EXPECT_TRUE(engine.log().has("in-close " + sid + " open=false send=false"));
  EXPECT_TRUE(ws->closed_by_server());
  ws->close();  // the server closed first (RFC 6455 §7.1.1); the client follows
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }));
}

TEST_P(EioSession, ClientClosePacketOverPollingIsTransportClose) {
  Engine engine(threads());
  auto p = open_polling(engine);
  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  auto r = p->post("1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto pending = p->finish_get();
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->status, 200);
  EXPECT_EQ(pending->body, "6");
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " transport close")) << engine.log().dump();
  auto gone = p->get();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 400);
  EXPECT_EQ(gone->body, error_body(1, "Session ID unknown"));
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }, 300ms))
      << engine.server().session_count();
}

TEST_P(EioSession, SessionCountDropsOnceTheClientHasClosedWithNoGetPending) {
  // session_count() is "sessions open now": a session its client closed is not open,
  // even while it stays findable for a GET that may still be on its way.
  Engine engine(threads());
  auto p = open_polling(engine);
  auto r = p->post("1");
  ASSERT_TRUE(r);
  ASSERT_TRUE(engine.log().wait_for("close " + p->sid + " transport close")) << engine.log().dump();
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }, 300ms))
      << "still " << engine.server().session_count() << " session(s) 300 ms after on_close";
}

TEST_P(EioSession, ClientClosePacketOverWebSocketIsTransportClose) {
  Engine engine(threads());
  std::string sid;
  auto ws = open_websocket(engine, sid);
  ws->send_text("1");
  EXPECT_TRUE(engine.log().wait_for("close " + sid + " transport close")) << engine.log().dump();
  auto frame = ws->read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, Opcode::close);
  ws->send_close();
  EXPECT_TRUE(ws->closed_by_server());
  ws->close();
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }));
}

TEST_P(EioSession, DroppedWebSocketIsTransportClose) {
  Engine engine(threads());
  std::string sid;
  auto ws = open_websocket(engine, sid);
  ws->close();  // TCP gone, no closing handshake
  EXPECT_TRUE(engine.log().wait_for("close " + sid + " transport close")) << engine.log().dump();
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }));
}

TEST_P(EioSession, AWebSocketDroppedRightAfterItsLastMessageIsNoticed) {
  // A client's last frame and its FIN often arrive together, reported by one readiness
  // edge: the server must still see the EOF behind the data. Twenty clients each send
  // a message and close at once; every session must close.
  Engine engine(threads());
  std::vector<std::string> sids;
  for (int i = 0; i < 20; ++i) {
    std::string sid;
    auto ws = open_websocket(engine, sid);
    ws->send_text("4bye");
    ws->close();
    sids.push_back(sid);
  }
  auto closed = [&] {
    std::size_t n = 0;
    for (const auto& sid : sids) n += engine.log().has("close " + sid + " transport close");
    return n;
  };
  eventually([&] { return closed() == sids.size(); }, 2s);
  EXPECT_EQ(closed(), sids.size()) << "sessions still open 2 s after their client closed the connection\n"
                                   << engine.log().dump();
  for (const auto& sid : sids) EXPECT_TRUE(engine.log().has("message " + sid + " text bye"));
}

TEST_P(EioSession, DroppedUpgradedWebSocketIsTransportClose) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto ws = upgrade(engine, *p);
  ws->close();
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " transport close")) << engine.log().dump();
}

TEST_P(EioSession, CancelledPollClosesTheSession) {
  // A client that gives up its pending GET (closes the connection) is gone: the session
  // closes at once, and the client's next GET finds no session (code 1), rather than a
  // session still holding the dead GET that treats the new one as a duplicate.
  Engine engine(threads());
  auto p = open_polling(engine);
  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  p->drop_get();
  EXPECT_TRUE(engine.log().wait_prefix("close " + p->sid + " ", 2s))
      << "the session outlived its cancelled GET by 2 s\n" << engine.log().dump();
  auto next = p->get();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 400);
  EXPECT_EQ(next->body, error_body(1, "Session ID unknown"));
}

TEST_P(EioSession, CancelledPollIsATransportError) {
  // Node: the pending GET's "close" event calls onError("poll connection closed
  // prematurely") (transports/polling.js onPollRequest), so the socket closes with
  // "transport error".
  Engine engine(threads());
  auto p = open_polling(engine);
  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  p->drop_get();
  auto reason = engine.log().wait_prefix("close " + p->sid + " ", 2s);
  ASSERT_TRUE(reason) << "no close within 2 s of the cancelled GET\n" << engine.log().dump();
  EXPECT_EQ(*reason, "close " + p->sid + " transport error");
}

TEST_P(EioSession, InvalidPostIsAParseError) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto r = p->post("x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " parse error")) << engine.log().dump();
  auto gone = p->get();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 400);
  EXPECT_EQ(gone->body, error_body(1, "Session ID unknown"));
}

TEST_P(EioSession, PacketsBeforeAnInvalidOneInAPostAreDelivered) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto r = p->post("4first\x1e" "x\x1e" "4never");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " parse error")) << engine.log().dump();
  EXPECT_TRUE(engine.log().has("message " + p->sid + " text first"));
  EXPECT_FALSE(engine.log().has("message " + p->sid + " text never"));
}

TEST_P(EioSession, InvalidWebSocketFrameIsAParseError) {
  Engine engine(threads());
  std::string sid;
  auto ws = open_websocket(engine, sid);
  ws->send_text("x");
  EXPECT_TRUE(engine.log().wait_for("close " + sid + " parse error")) << engine.log().dump();
  auto frame = ws->read();
  ASSERT_TRUE(frame) << "the WebSocket stayed open after a parse error";
  EXPECT_EQ(frame->opcode, Opcode::close);

  std::string other;
  auto empty = open_websocket(engine, other);
  empty->send_text("");
  EXPECT_TRUE(engine.log().wait_for("close " + other + " parse error")) << engine.log().dump();
}

TEST_P(EioSession, DuplicateGetIsATransportError) {
  Engine engine(threads());
  auto p = open_polling(engine);
  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  auto second = p->request(http::test::get(p->target("&t=burst")));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 400);
  auto first = p->finish_get();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "1");
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " transport error")) << engine.log().dump();
}

TEST_P(EioSession, ClientPingIsATransportErrorInV4) {
  Engine engine(threads());
  auto p = open_polling(engine);
  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  ASSERT_TRUE(p->post("2"));
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " transport error")) << engine.log().dump();
  auto pending = p->finish_get();
  ASSERT_TRUE(pending);
  EXPECT_EQ(pending->body, "1");

  std::string sid;
  auto ws = open_websocket(engine, sid);
  ws->send_text("2");
  EXPECT_TRUE(engine.log().wait_for("close " + sid + " transport error")) << engine.log().dump();
  auto frame = ws->read();
  ASSERT_TRUE(frame) << "the WebSocket stayed open after a client ping";
  EXPECT_EQ(frame->opcode, Opcode::close);
}

// --- the heartbeat --------------------------------------------------------------------

ServerOptions fast_heartbeat(std::chrono::milliseconds interval = 100ms, std::chrono::milliseconds timeout = 100ms) {
  ServerOptions options;
  options.ping_interval = interval;
  options.ping_timeout = timeout;
  return options;
}

TEST_P(EioSession, PollingGetIsHeldUntilThereIsDataOrAPing) {
  Engine engine(threads(), fast_heartbeat(500ms, 2000ms));
  auto p = open_polling(engine);
  auto opened = Clock::now();
  p->start_get();
  EXPECT_TRUE(p->get_held(150ms)) << "a GET was answered with nothing to say";
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("x"); }));
  auto data = p->finish_get();
  ASSERT_TRUE(data);
  EXPECT_EQ(data->body, "4x");

  p->start_get();
  auto ping = p->finish_get();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->body, "2");
  EXPECT_GE(Clock::now() - opened, 450ms) << "pinged before pingInterval";
  auto pong = p->post("3");
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->status, 200);
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 50ms));
}

TEST_P(EioSession, PongKeepsAPollingSessionOpen) {
  Engine engine(threads(), fast_heartbeat(100ms, 200ms));
  auto p = open_polling(engine);
  auto start = Clock::now();
  for (int i = 0; i < 6; ++i) {
    auto ping = p->get();
    ASSERT_TRUE(ping);
    ASSERT_EQ(ping->body, "2") << "ping " << i;
    auto pong = p->post("3");
    ASSERT_TRUE(pong);
    ASSERT_EQ(pong->status, 200) << "pong " << i << ": " << pong->body << "\n" << engine.log().dump();
  }
  EXPECT_GE(Clock::now() - start, 500ms);
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 10ms)) << engine.log().dump();
}

TEST_P(EioSession, PongKeepsAWebSocketSessionOpen) {
  Engine engine(threads(), fast_heartbeat(100ms, 200ms));
  std::string sid;
  auto ws = open_websocket(engine, sid);
  for (int i = 0; i < 6; ++i) {
    auto ping = ws->read();
    ASSERT_TRUE(ping);
    ASSERT_EQ(ping->payload, "2") << "ping " << i;
    ws->send_text("3");
  }
  EXPECT_FALSE(engine.log().wait_prefix("close " + sid, 10ms)) << engine.log().dump();
}

TEST_P(EioSession, SilentPollingClientTimesOut) {
  Engine engine(threads(), fast_heartbeat());
  auto p = open_polling(engine);
  auto opened = Clock::now();
  auto ping = p->get();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->body, "2");
  ASSERT_TRUE(engine.log().wait_for("close " + p->sid + " ping timeout", 3s)) << engine.log().dump();
  EXPECT_GE(Clock::now() - opened, 180ms) << "closed before pingInterval + pingTimeout";
  auto gone = p->get();
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 400);
  EXPECT_EQ(gone->body, error_body(1, "Session ID unknown"));
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }));
}

TEST_P(EioSession, SilentWebSocketClientTimesOut) {
  Engine engine(threads(), fast_heartbeat());
  std::string sid;
  auto ws = open_websocket(engine, sid);
  auto ping = ws->read();
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->payload, "2");
  ASSERT_TRUE(engine.log().wait_for("close " + sid + " ping timeout", 3s)) << engine.log().dump();
  auto frame = ws->read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->opcode, Opcode::close);
}

TEST_P(EioSession, LatePongFindsTheSessionGone) {
  Engine engine(threads(), fast_heartbeat());
  auto p = open_polling(engine);
  auto ping = p->get();
  ASSERT_TRUE(ping);
  ASSERT_TRUE(engine.log().wait_for("close " + p->sid + " ping timeout", 3s));
  auto late = p->post("3");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 400);
  EXPECT_EQ(late->body, error_body(1, "Session ID unknown"));
}

// --- session_count ----------------------------------------------------------------------

TEST_P(EioSession, SessionCountFollowsOpensAndCloses) {
  Engine engine(threads());
  EXPECT_EQ(engine.server().session_count(), 0u);
  auto p = open_polling(engine);
  EXPECT_EQ(engine.server().session_count(), 1u);
  std::string sid;
  auto ws = open_websocket(engine, sid);
  EXPECT_EQ(engine.server().session_count(), 2u);
  auto q = open_polling(engine);
  EXPECT_EQ(engine.server().session_count(), 3u);

  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  ASSERT_TRUE(p->post("1"));
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 2; }));
  ASSERT_TRUE(engine.with(sid, [](Socket& s) { s.close(); }));
  auto close = ws->read();
  ASSERT_TRUE(close);
  ws->send_close();
  EXPECT_TRUE(ws->closed_by_server());
  ws->close();
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 1; }));
  ASSERT_TRUE(engine.with(q->sid, [](Socket& s) { s.close(); }));
  EXPECT_TRUE(eventually([&] { return engine.server().session_count() == 0; }));
}

// ---------------------------------------------------------------------------------
// The upgrade, step by step

TEST_P(EioSession, ProbeIsAnsweredAndReleasesThePendingGet) {
  Engine engine(threads());
  auto p = open_polling(engine);
  p->start_get();
  ASSERT_TRUE(p->get_held(50ms));
  auto ws = websocket(engine, request_loop(), p->sid);
  ASSERT_TRUE(ws->upgraded()) << ws->head();
  // Open, not yet probed: polling is still the transport, the GET still held.
  EXPECT_TRUE(p->get_held(100ms));
  std::string transport;
  ASSERT_TRUE(engine.with(p->sid, [&transport](Socket& s) { transport = std::string(s.transport()); }));
  EXPECT_EQ(transport, "polling");
  EXPECT_EQ(engine.log().count_prefix("open "), 1u) << "the probe WebSocket opened a session of its own";

  ws->send_text("2probe");
  auto pong = ws->read();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, Opcode::text);
  EXPECT_EQ(pong->payload, "3probe");
  auto released = p->finish_get();
  ASSERT_TRUE(released);
  EXPECT_EQ(released->status, 200);
  EXPECT_EQ(released->body, "6");
  // A GET that arrives after the probe is released at once too.
  auto next = p->get();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "6");
  EXPECT_FALSE(engine.log().has("upgrade " + p->sid + " websocket"));

  ws->send_text("5");
  EXPECT_TRUE(engine.log().wait_for("upgrade " + p->sid + " websocket")) << engine.log().dump();
  ASSERT_TRUE(engine.with(p->sid, [&transport](Socket& s) { transport = std::string(s.transport()); }));
  EXPECT_EQ(transport, "websocket");
}

TEST_P(EioSession, PollingStillWorksBetweenTheProbeAndTheUpgrade) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto ws = probe(engine, p->sid);
  auto post = p->post("4during");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p->sid + " text during"));
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("polled"); }));
  auto get = p->get();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "4polled");
}

TEST_P(EioSession, PacketsQueuedDuringTheUpgradeFollowOverWebSocketInOrder) {
  Engine engine(threads());
  auto p = open_polling(engine);
  // Queued before the probe, with no GET to take it.
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("a"); }));
  auto ws = probe(engine, p->sid);
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) {
    s.send(std::string("\x0b", 1), true);
    s.send("c");
    s.send(Server::make_packet("d", false));
  }));
  ws->send_text("5");
  ASSERT_TRUE(engine.log().wait_for("upgrade " + p->sid + " websocket"));
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("e"); }));
  std::vector<std::string> got;
  for (int i = 0; i < 5; ++i) {
    auto frame = ws->read();
    ASSERT_TRUE(frame) << "after " << i << " frames";
    got.push_back((frame->opcode == Opcode::binary ? "bin:" : "") + frame->payload);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"4a", "bin:\x0b", "4c", "4d", "4e"}));
  ws->send_text("4from ws");
  EXPECT_TRUE(engine.log().wait_for("message " + p->sid + " text from ws"));
}

TEST_P(EioSession, PollingAfterTheUpgradeIsABadRequest) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto ws = upgrade(engine, *p);
  auto post = p->post("4late");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 400);
  EXPECT_EQ(post->body, error_body(3, "Bad request"));
  auto get = p->get();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 400);
  EXPECT_EQ(get->body, error_body(3, "Bad request"));
  EXPECT_FALSE(engine.log().has("message " + p->sid + " text late"));
  // The session carries on over its WebSocket.
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 10ms));
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("still"); }));
  auto frame = ws->read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "4still");
}

TEST_P(EioSession, ASecondWebSocketIsAcceptedThenClosed) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto first = probe(engine, p->sid);
  // During the upgrade.
  auto during = websocket(engine, request_loop(), p->sid);
  EXPECT_TRUE(during->upgraded()) << during->head();
  auto closing = during->read();
  ASSERT_TRUE(closing) << "a second WebSocket during the upgrade was left open";
  EXPECT_EQ(closing->opcode, Opcode::close);
  // The first one finishes the upgrade all the same.
  first->send_text("5");
  ASSERT_TRUE(engine.log().wait_for("upgrade " + p->sid + " websocket"));
  // After it.
  auto after = websocket(engine, request_loop(), p->sid);
  EXPECT_TRUE(after->upgraded()) << after->head();
  closing = after->read();
  ASSERT_TRUE(closing) << "a second WebSocket after the upgrade was left open";
  EXPECT_EQ(closing->opcode, Opcode::close);
  after->send_close();
  EXPECT_TRUE(after->closed_by_server());
  after->close();
  // None of it disturbed the session.
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("fine"); }));
  auto frame = first->read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "4fine");
  EXPECT_EQ(engine.log().count_prefix("upgrade " + p->sid), 1u);
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 10ms));
}

TEST_P(EioSession, UpgradeTimesOutWithoutAnUpgradePacketAndPollingGoesOn) {
  ServerOptions options;
  options.upgrade_timeout = 200ms;
  Engine engine(threads(), options);
  auto p = open_polling(engine);
  auto started = Clock::now();
  auto ws = probe(engine, p->sid);
  auto frame = ws->read(3s);
  ASSERT_TRUE(frame) << "the probe WebSocket stayed open past the upgrade timeout";
  EXPECT_EQ(frame->opcode, Opcode::close);
  EXPECT_GE(Clock::now() - started, 150ms);
  ws->send_close();
  EXPECT_TRUE(ws->closed_by_server());
  ws->close();
  EXPECT_FALSE(engine.log().has("upgrade " + p->sid + " websocket"));

  // Polling as before: a GET is held again (no more noops), data flows both ways.
  p->start_get();
  EXPECT_TRUE(p->get_held(100ms));
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("y"); }));
  auto get = p->finish_get();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "4y");
  auto post = p->post("4z");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p->sid + " text z"));
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 10ms));

  // And a later upgrade succeeds.
  auto again = upgrade(engine, *p);
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("upgraded"); }));
  auto over_ws = again->read();
  ASSERT_TRUE(over_ws);
  EXPECT_EQ(over_ws->payload, "4upgraded");
}

TEST_P(EioSession, UpgradeTimesOutWithoutAProbe) {
  ServerOptions options;
  options.upgrade_timeout = 200ms;
  Engine engine(threads(), options);
  auto p = open_polling(engine);
  auto ws = websocket(engine, request_loop(), p->sid);
  ASSERT_TRUE(ws->upgraded());
  auto frame = ws->read(3s);
  ASSERT_TRUE(frame) << "a silent probe WebSocket stayed open past the upgrade timeout";
  EXPECT_EQ(frame->opcode, Opcode::close);
  auto post = p->post("4ok");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p->sid + " text ok"));
}

TEST_P(EioSession, ProbeSocketClosingEarlyLeavesPollingAlone) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto ws = probe(engine, p->sid);
  ws->close();  // gone before "5"
  std::this_thread::sleep_for(50ms);
  p->start_get();
  EXPECT_TRUE(p->get_held(100ms)) << "GETs are still released as if an upgrade were under way";
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("still polling"); }));
  auto get = p->finish_get();
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "4still polling");
  EXPECT_FALSE(engine.log().has("upgrade " + p->sid + " websocket"));
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 10ms)) << engine.log().dump();

  // A polite close of the probe, too, and then a real upgrade.
  auto polite = probe(engine, p->sid);
  polite->send_close();
  auto answer = polite->read();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->opcode, Opcode::close);
  EXPECT_TRUE(polite->closed_by_server());
  polite->close();
  std::this_thread::sleep_for(50ms);
  auto again = upgrade(engine, *p);
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.send("over ws"); }));
  auto frame = again->read();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->payload, "4over ws");
}

TEST_P(EioSession, ANonProbePacketOnTheProbeAbandonsIt) {
  Engine engine(threads());
  auto p = open_polling(engine);
  for (std::string packet : {"4hello", "5", "2", "3probe"}) {
    auto ws = websocket(engine, request_loop(), p->sid);
    ASSERT_TRUE(ws->upgraded()) << ws->head();
    ws->send_text(packet);
    auto frame = ws->read();
    ASSERT_TRUE(frame) << packet << ": the probe stayed open";
    EXPECT_EQ(frame->opcode, Opcode::close) << packet;
    ws->send_close();
    EXPECT_TRUE(ws->closed_by_server()) << packet;
    ws->close();
  }
  EXPECT_FALSE(engine.log().has("message " + p->sid + " text hello"));
  EXPECT_FALSE(engine.log().has("upgrade " + p->sid + " websocket"));
  // Polling carries on.
  auto post = p->post("4polling");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 200);
  EXPECT_TRUE(engine.log().wait_for("message " + p->sid + " text polling"));
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 10ms));
}

TEST_P(EioSession, UpgradedSessionPingsOverWebSocket) {
  Engine engine(threads(), fast_heartbeat(150ms, 300ms));
  auto p = open_polling(engine);
  // Keep polling alive through its first ping, then upgrade.
  auto ping = p->get();
  ASSERT_TRUE(ping);
  ASSERT_EQ(ping->body, "2");
  ASSERT_TRUE(p->post("3"));
  auto ws = upgrade(engine, *p);
  for (int i = 0; i < 3; ++i) {
    auto frame = ws->read();
    ASSERT_TRUE(frame);
    ASSERT_EQ(frame->payload, "2") << "ping " << i;
    ws->send_text("3");
  }
  EXPECT_FALSE(engine.log().wait_prefix("close " + p->sid, 10ms)) << engine.log().dump();
}

TEST_P(EioSession, ClosingDuringTheUpgradeClosesTheProbe) {
  Engine engine(threads());
  auto p = open_polling(engine);
  auto ws = probe(engine, p->sid);
  ASSERT_TRUE(engine.with(p->sid, [](Socket& s) { s.close(); }));
  EXPECT_TRUE(engine.log().wait_for("close " + p->sid + " forced close"));
  auto frame = ws->read();
  ASSERT_TRUE(frame) << "the probe outlived its session";
  EXPECT_EQ(frame->opcode, Opcode::close);
}

}  // namespace
}  // namespace switchboard::eio
