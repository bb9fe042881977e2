#pragma once
// Test support for the Engine.IO tests: an eio::Server on an http::Server running on
// test threads (1 or more loops), a log of what its sockets report, a way to act on a
// session from its own loop, and Engine.IO clients (long-polling over the blocking HTTP
// client, WebSocket over the blocking WebSocket client).
//
// Several loops: a session lives on the loop its handshake arrived on. The harness
// answers GET /__loop with the loop a connection landed on, so that a test can put a
// session on one loop and send its later requests from a connection on another (the
// requests are then relayed, and WebSocket upgrades handed over, between loops).

#include <switchboard/engineio.hpp>
#include <switchboard/http.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "support/http_client.hpp"
#include "support/ws_client.hpp"

#include "net/loop.hpp"
#include "net/loop_group.hpp"

namespace switchboard::eio::test {

using namespace std::chrono_literals;
using http::test::HttpClient;
using Response = HttpClient::Response;

// What the sockets of a server reported, in order; written on loop threads, read on
// the test thread.
class Log {
 public:
  void add(std::string entry) {
    {
      std::lock_guard lock(mutex_);
      entries_.push_back(std::move(entry));
    }
    changed_.notify_all();
  }
  // Waits until `entry` has been logged (true) or the timeout passes (false).
  bool wait_for(std::string_view entry, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return find(entry); });
  }
  // Waits until an entry that starts with `prefix` has been logged; returns it.
  std::optional<std::string> wait_prefix(std::string_view prefix, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    std::optional<std::string> found;
    changed_.wait_for(lock, timeout, [&] {
      for (const auto& e : entries_) {
        if (e.starts_with(prefix)) {
          found = e;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  bool has(std::string_view entry) const {
    std::lock_guard lock(mutex_);
    return find(entry);
  }
  std::size_t count_prefix(std::string_view prefix) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(), [&](const std::string& e) { return e.starts_with(prefix); }));
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }
  // Every entry, one a line, for failure messages.
  std::string dump() const {
    std::lock_guard lock(mutex_);
    std::string out = "log:\n";
    for (const auto& e : entries_) out += "  " + e + "\n";
    return out;
  }

 private:
  bool find(std::string_view entry) const { return std::find(entries_.begin(), entries_.end(), entry) != entries_.end(); }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> entries_;
};

// An eio::Server on 127.0.0.1, port 0, with `threads` loops, running until destroyed.
// Every socket logs:
//   "open <sid> <transport> <protocol>"    on_connection
//   "message <sid> text|binary <data>"     on_message
//   "upgrade <sid> <transport>"            on_upgrade (transport() at that point)
//   "close <sid> <reason>"                 on_close
// `setup` runs after "open"; a test's hooks run after "upgrade" and before "close".
class Engine {
 public:
  using Setup = std::function<void(Socket&, Log&)>;
  struct Hooks {
    Setup connection;
    Setup upgrade;
    Setup close;
  };

  explicit Engine(unsigned threads, ServerOptions options = {}, Setup setup = {},
                  http::ServerOptions http_options = {})
      : Engine(threads, std::move(options), Hooks{std::move(setup), {}, {}}, std::move(http_options)) {}
  Engine(unsigned threads, ServerOptions options, Hooks hooks, http::ServerOptions http_options = {})
      : threads_(threads),
        http_(adjust(http_options, threads)),
        engine_(http_, std::move(options)),
        hooks_(std::move(hooks)) {
    http_.router().get("/__loop", [](http::Request&, http::Response& response) {
      response.send(200, std::to_string(net::Loop::current()->index()));
    });
    engine_.on_connection([this](Socket& socket) { connected(socket); });
    engine_.on_message([this](Socket& socket, std::string_view data, bool binary) {
      log_.add("message " + std::string(socket.id()) + (binary ? " binary " : " text ") + std::string(data));
    });
    engine_.on_upgrade([this](Socket& socket) {
      log_.add("upgrade " + std::string(socket.id()) + " " + std::string(socket.transport()));
      if (hooks_.upgrade) hooks_.upgrade(socket, log_);
    });
    engine_.on_close([this](Socket& socket, std::string_view reason) {
      if (hooks_.close) hooks_.close(socket, log_);
      {
        std::lock_guard lock(mutex_);
        sockets_.erase(std::string(socket.id()));
      }
      log_.add("close " + std::string(socket.id()) + " " + std::string(reason));
    });
    http_.listen();
    thread_ = std::thread([this] {
      http_.run();
      returned_.set_value();
    });
  }
  ~Engine() {
    shutdown();
    thread_.join();
  }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  std::uint16_t port() const { return http_.port(); }
  unsigned threads() const { return threads_; }
  eio::Server& server() { return engine_; }
  http::Server& http() { return http_; }
  Log& log() { return log_; }

  // Stops the HTTP server (sessions close with "server shutting down") and waits for
  // run() to return. Safe to call twice.
  void shutdown(std::chrono::milliseconds grace = 2000ms) {
    if (stopped_) return;
    stopped_ = true;
    http_.shutdown(grace);
    if (done_.wait_for(15s) != std::future_status::ready) {
      ADD_FAILURE() << "http::Server::run() did not return after shutdown()";
      std::fprintf(stderr, "aborting: the server does not stop\n");
      std::abort();
    }
  }

  // Runs `fn` on the loop that owns session `sid`, with its Socket, and waits for it.
  // False if the session is not open (or the loop does not answer in time).
  bool with(std::string_view sid, std::function<void(Socket&)> fn, std::chrono::milliseconds timeout = 5s) {
    net::Loop* loop = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto it = sockets_.find(std::string(sid));
      if (it == sockets_.end()) return false;
      loop = it->second.loop;
    }
    auto done = std::make_shared<std::promise<bool>>();
    auto result = done->get_future();
    loop->post([this, sid = std::string(sid), fn = std::move(fn), done] {
      Socket* socket = nullptr;
      {
        std::lock_guard lock(mutex_);
        auto it = sockets_.find(sid);
        if (it != sockets_.end()) socket = it->second.socket;
      }
      // Unregistered in on_close, on this same loop: a registered socket is alive.
      if (socket) fn(*socket);
      done->set_value(socket != nullptr);
    });
    if (result.wait_for(timeout) != std::future_status::ready) return false;
    return result.get();
  }

  // A keep-alive HTTP connection that the server accepted on loop `loop`.
  std::unique_ptr<HttpClient> http_client(unsigned loop) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto client = std::make_unique<HttpClient>(port());
      if (!client->connected()) continue;
      if (threads_ == 1) return client;
      client->send(http::test::get("/__loop"));
      auto r = client->read_response();
      if (r && r->body == std::to_string(loop)) return client;
    }
    ADD_FAILURE() << "no connection landed on loop " << loop;
    return std::make_unique<HttpClient>(port());
  }

  // A connection (not yet upgraded) that the server accepted on loop `loop`.
  std::unique_ptr<ws::test::Client> ws_client(unsigned loop) {
    for (int attempt = 0; attempt < 200; ++attempt) {
      auto client = std::make_unique<ws::test::Client>(port(), ws::test::Client::NoHandshake{});
      if (!client->connected()) continue;
      if (threads_ == 1) return client;
      auto body = client->http_body("GET /__loop HTTP/1.1\r\nHost: x\r\n\r\n");
      if (body && *body == std::to_string(loop)) return client;
    }
    ADD_FAILURE() << "no connection landed on loop " << loop;
    return std::make_unique<ws::test::Client>(port(), ws::test::Client::NoHandshake{});
  }

 private:
  struct Registered {
    Socket* socket;
    net::Loop* loop;
  };

  static http::ServerOptions adjust(http::ServerOptions options, unsigned threads) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = threads;
    return options;
  }

  void connected(Socket& socket) {
    std::string sid(socket.id());
    {
      std::lock_guard lock(mutex_);
      sockets_[sid] = Registered{&socket, net::Loop::current()};
    }
    log_.add("open " + sid + " " + std::string(socket.transport()) + " " + std::to_string(socket.protocol()));
    if (hooks_.connection) hooks_.connection(socket, log_);
  }

  const unsigned threads_;
  http::Server http_;
  eio::Server engine_;
  Hooks hooks_;
  Log log_;
  std::mutex mutex_;
  std::map<std::string, Registered> sockets_;
  bool stopped_ = false;
  std::promise<void> returned_;
  std::future<void> done_ = returned_.get_future();
  std::thread thread_;
};

// ---------------------------------------------------------------------------------
// Clients

// The sid of an open packet ("0{"sid":"..."...}", possibly v3-framed), or empty.
inline std::string sid_of(std::string_view open) {
  constexpr std::string_view key = "\"sid\":\"";
  auto at = open.find(key);
  if (at == std::string_view::npos) return {};
  at += key.size();
  auto end = open.find('"', at);
  if (end == std::string_view::npos) return {};
  return std::string(open.substr(at, end - at));
}

// The open packet a v4 server sends for these options.
inline std::string open_packet(std::string_view sid, bool websocket_upgrade, const ServerOptions& options) {
  return "0{\"sid\":\"" + std::string(sid) + "\",\"upgrades\":[" + (websocket_upgrade ? "\"websocket\"" : "") +
         "],\"pingInterval\":" + std::to_string(options.ping_interval.count()) +
         ",\"pingTimeout\":" + std::to_string(options.ping_timeout.count()) +
         ",\"maxPayload\":" + std::to_string(options.max_http_buffer_size) + "}";
}

// A long-polling Engine.IO client. The handshake goes over a connection on
// `session_loop`; every later request over connections on `request_loop` (one for
// GETs, one for POSTs, as a browser would hold them).
class Polling {
 public:
  Polling(Engine& engine, unsigned session_loop, unsigned request_loop, std::string path = "/engine.io/",
          std::string eio = "4")
      : engine_(engine), session_loop_(session_loop), request_loop_(request_loop), path_(std::move(path)),
        eio_(std::move(eio)) {}

  // The handshake request's target.
  std::string handshake_target(std::string_view extra_query = {}) const {
    return path_ + "?EIO=" + eio_ + "&transport=polling" + std::string(extra_query);
  }
  // A request target for this session.
  std::string target(std::string_view extra_query = {}) const {
    return path_ + "?EIO=" + eio_ + "&transport=polling&sid=" + sid + std::string(extra_query);
  }

  // Opens the session; sid is set on success (a 200 with an open packet).
  std::optional<Response> handshake(std::string_view headers = {}, std::string_view extra_query = {}) {
    auto client = engine_.http_client(session_loop_);
    client->send(http::test::get(handshake_target(extra_query), headers));
    auto r = client->read_response();
    if (r && r->status == 200) sid = sid_of(r->body);
    return r;
  }

  void start_get(std::string_view headers = {}, std::string_view extra_query = {}) {
    if (!get_) get_ = engine_.http_client(request_loop_);
    get_->send(http::test::get(target(extra_query), headers));
  }
  std::optional<Response> finish_get(std::chrono::milliseconds timeout = 5s) { return get_->read_response(false, timeout); }
  std::optional<Response> get(std::string_view headers = {}) {
    start_get(headers);
    return finish_get();
  }
  // True if the pending GET has no answer within `window`.
  bool get_held(std::chrono::milliseconds window = 200ms) { return get_->read_until("\r\n", window).empty(); }
  // Drops the GET connection (a cancelled poll).
  void drop_get() { get_.reset(); }

  std::optional<Response> post(std::string_view body, std::string_view headers = {}) {
    if (!post_) post_ = engine_.http_client(request_loop_);
    std::string request = "POST " + target() + " HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain;charset=UTF-8\r\n" +
                          std::string(headers) + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    request += body;
    post_->send(request);
    auto r = post_->read_response();
    if (!r || !r->keep_alive) post_.reset();
    return r;
  }

  // Any request on a fresh connection of the request loop.
  std::optional<Response> request(std::string_view raw) {
    auto client = engine_.http_client(request_loop_);
    client->send(raw);
    return client->read_response();
  }

  std::string sid;

 private:
  Engine& engine_;
  unsigned session_loop_;
  unsigned request_loop_;
  std::string path_;
  std::string eio_;
  std::unique_ptr<HttpClient> get_;
  std::unique_ptr<HttpClient> post_;
};

// A WebSocket Engine.IO connection on loop `loop`: a new session (no sid) or an
// upgrade of `sid`. Check upgraded() (or status()/body() for a refusal).
inline std::unique_ptr<ws::test::Client> websocket(Engine& engine, unsigned loop, std::string_view sid = {},
                                                   std::string_view extra_headers = {},
                                                   std::string_view path = "/engine.io/", std::string_view eio = "4") {
  auto client = engine.ws_client(loop);
  std::string target = std::string(path) + "?EIO=" + std::string(eio) + "&transport=websocket";
  if (!sid.empty()) target += "&sid=" + std::string(sid);
  client->handshake(target, extra_headers);
  return client;
}

// Reads text frames until one that is not a ping ("2"); answers the pings it skips
// when `answer_pings`.
inline std::optional<ws::test::Frame> read_skipping_pings(ws::test::Client& client, bool answer_pings = true,
                                                          std::chrono::milliseconds timeout = 5s) {
  while (true) {
    auto frame = client.read(timeout);
    if (!frame || frame->opcode != ws::Opcode::text || frame->payload != "2") return frame;
    if (answer_pings) client.send_text("3");
  }
}

}  // namespace switchboard::eio::test
