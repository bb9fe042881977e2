#pragma once
// http-internal: one HTTP/1.1 connection's request/response cycle (keep-alive,
// pipelining, timeouts, upgrades). Requests are answered strictly in order: while a
// response is pending (deferred or streaming), later pipelined bytes wait unparsed.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include <switchboard/http.hpp>

#include "http/request_parser.hpp"
#include "net/connection.hpp"

namespace switchboard::http::detail {

struct SessionConfig {
  const Router* router = nullptr;
  ParserLimits limits;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds keep_alive_timeout{30'000};
  // Set while the server shuts down: finish the exchange in flight, then close.
  const std::atomic<bool>* shutting_down = nullptr;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(net::Connection& connection, const SessionConfig& config);

  void on_data(std::span<std::byte> bytes);
  void on_timer();
  void on_close();
  void on_shutdown();

  // Response's implementation; `serial` names the exchange a handle belongs to.
  bool is_current(std::uint32_t serial) const noexcept;
  void set_status(int code) noexcept { status_ = code; }
  void add_header(std::string_view name, std::string_view value);
  void send(std::string_view body);
  void defer() noexcept { deferred_ = true; }
  void begin_stream();
  bool write_chunk(std::string_view chunk);
  void end_stream();
  void set_abort_callback(std::function<void()> callback) { on_abort_ = std::move(callback); }
  bool head_sent() const noexcept { return head_sent_; }
  std::size_t buffered_amount() const noexcept;
  net::Connection* connection() const noexcept { return connection_; }

  // Switches the connection to `next` (a WebSocket) after writing `response_head`
  // (the 101). Only from inside the handler, synchronously.
  void upgrade(std::string_view response_head, std::unique_ptr<net::Protocol> next);

  // Hands the connection's socket to `target` loop once the handler returns: there, a
  // new connection is made around it and `arrive` gets it with the bytes that came
  // after this request. Only from inside the handler, synchronously.
  using Arrival = std::function<void(net::Connection&, std::string_view rest)>;
  void hand_off(net::Loop& target, Arrival arrive);
  // Hands the connection to `target` with this request unanswered: there it is parsed
  // again from its start and routed as if it had arrived there. Requests without a
  // body only (an upgrade), from inside the handler.
  void replay_on(net::Loop& target);

 private:
  enum class Phase : std::uint8_t { idle, reading, responding, upgraded, closed };

  void process(std::span<std::byte> input, bool input_is_pending);
  bool on_head();
  void dispatch();
  void fail(RequestError error);
  void write_head(std::size_t content_length, bool chunked);
  void finish_exchange();
  void resume();
  void arm_idle_timer();
  // The access log's line for the exchange that ends now (debug level).
  void log_exchange(int status);
  void assign_request_id();

  net::Connection* connection_;
  const SessionConfig& config_;
  Request request_;
  std::optional<RequestParser> parser_;
  const Router::Route* route_ = nullptr;
  std::string pending_;  // bytes received but not parsed yet
  std::uint32_t serial_ = 0;
  Phase phase_ = Phase::idle;

  // For the access log: when the request began (set only while debug logging is on)
  // and the body bytes of its response.
  std::chrono::steady_clock::time_point started_{};
  std::uint64_t body_bytes_ = 0;

  // The response being built.
  int status_ = 200;
  std::string extra_headers_;
  std::function<void()> on_abort_;
  std::unique_ptr<net::Protocol> upgrade_to_;
  net::Loop* hand_off_to_ = nullptr;
  Arrival arrival_;
  bool head_sent_ = false;
  bool deferred_ = false;
  bool chunked_ = false;
  bool close_after_ = false;
  bool head_request_ = false;
  bool in_dispatch_ = false;
};

// The net::Protocol that owns a Session; Responses share it, so a deferred response
// outlives neither the session nor a closed connection.
class HttpProtocol final : public net::Protocol {
 public:
  HttpProtocol(net::Connection& connection, const SessionConfig& config)
      : session_(std::make_shared<Session>(connection, config)) {}
  void on_data(net::Connection&, std::span<std::byte> bytes) override { session_->on_data(bytes); }
  void on_timer(net::Connection&) override { session_->on_timer(); }
  void on_close(net::Connection&, net::CloseReason) override { session_->on_close(); }
  void on_shutdown(net::Connection&) override { session_->on_shutdown(); }

 private:
  std::shared_ptr<Session> session_;
};

struct ResponseAccess {
  static Session* session(const Response& response) noexcept { return response.live(); }
};

// For the WebSocket layer: answers the request with `response_head` and hands the
// connection to `next`.
void upgrade(Response& response, std::string_view response_head, std::unique_ptr<net::Protocol> next);
// For the layers that keep a session on one loop (Engine.IO): moves the connection to
// `target` (see Session::hand_off).
void hand_off(Response& response, net::Loop& target, Session::Arrival arrive);
void replay_on(Response& response, net::Loop& target);

}  // namespace switchboard::http::detail
