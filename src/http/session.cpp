#include "http/session.hpp"

#include <atomic>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "core/encoding.hpp"
#include "core/log.hpp"
#include "http/url.hpp"
#include "net/loop.hpp"

namespace switchboard::http::detail {
namespace {

// While a response is pending, at most this much of the next pipelined requests is
// buffered before the connection stops reading.
constexpr std::size_t max_pipelined_bytes = 64 * 1024;

// RFC 9110 §6.6.1: an origin server with a clock sends Date. Formatted once a second
// per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[40];
  thread_local std::size_t length = 0;
  std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    std::tm utc;
    gmtime_r(&now, &utc);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
  }
  return {text, length};
}

bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

// The path of an origin-form or absolute-form target (RFC 9112 §3.2).
std::string_view target_path(std::string_view target) {
  if (target.starts_with("http://") || target.starts_with("https://")) {
    auto authority = target.find("//") + 2;
    auto slash = target.find('/', authority);
    if (slash == std::string_view::npos) return "/";
    target = target.substr(slash);
  }
  return target.substr(0, target.find('?'));
}

std::string peer_of(const Request& request) { return log::peer_name(request.remote_address(), request.remote_port()); }

// Room for a request id: a client's X-Request-Id is cut to this, and one the server
// makes fits.
constexpr std::size_t max_request_id = 64;

// An X-Request-Id as the log may show it: only the characters ids use, at most
// max_request_id of them. Returns the length written to `out`.
std::size_t sanitize_request_id(std::string_view given, char* out) {
  std::size_t n = 0;
  for (char c : given) {
    if (n == max_request_id) break;
    if (std::isalnum(static_cast<unsigned char>(c)) || std::string_view("-_.:@/+=").find(c) != std::string_view::npos) {
      out[n++] = c;
    }
  }
  return n;
}

// "<tag>-<thread>-<n>": unique in this process (a counter per thread, no shared state
// per request), and the tag, random per process, tells restarts and nodes apart.
std::size_t make_request_id(char* out) {
  static const std::string process_tag = core::random_base64url(3);
  static std::atomic<unsigned> threads{0};
  thread_local unsigned thread = ++threads;
  thread_local std::uint64_t count = 0;
  int n = std::snprintf(out, max_request_id + 1, "%s-%x-%llx", process_tag.c_str(), thread,
                        static_cast<unsigned long long>(++count));
  return static_cast<std::size_t>(n);
}

}  // namespace

Session::Session(net::Connection& connection, const SessionConfig& config)
    : connection_(&connection), config_(config) {
  request_.remote_address_ = connection.remote_address();
  request_.remote_port_ = connection.remote_port();
  // A client that connects and sends nothing gets the request timeout, not the
  // (longer) keep-alive one.
  connection.set_timer(config_.request_timeout);
}

bool Session::is_current(std::uint32_t serial) const noexcept {
  return connection_ && serial == serial_ && phase_ == Phase::responding;
}

void Session::on_data(std::span<std::byte> bytes) {
  if (phase_ == Phase::closed || phase_ == Phase::upgraded) return;
  if (phase_ == Phase::responding || !pending_.empty()) {
    pending_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (phase_ == Phase::responding) {
      if (pending_.size() > max_pipelined_bytes) connection_->pause_reading();
      return;
    }
    process({reinterpret_cast<std::byte*>(pending_.data()), pending_.size()}, true);
  } else {
    process(bytes, false);
  }
}

void Session::process(std::span<std::byte> input, bool input_is_pending) {
  std::size_t offset = 0;
  bool stop = false;
  while (!stop && offset < input.size() &&
         (phase_ == Phase::idle || phase_ == Phase::reading)) {
    if (!parser_) {
      parser_.emplace(request_, config_.limits);
      phase_ = Phase::reading;
      ++serial_;
      connection_->set_timer(config_.request_timeout);
      if (log::enabled(spdlog::level::debug)) started_ = std::chrono::steady_clock::now();
    }
    auto result = parser_->feed({reinterpret_cast<const char*>(input.data()) + offset, input.size() - offset});
    offset += result.consumed;
    switch (result.status) {
      case RequestParser::Status::need_more:
        stop = true;
        break;
      case RequestParser::Status::header_done:
        if (!on_head()) {
          stop = true;
        } else if (parser_->done()) {
          dispatch();
        }
        break;
      case RequestParser::Status::complete:
        dispatch();
        break;
      case RequestParser::Status::error:
        fail(parser_->error());
        stop = true;
        break;
    }
  }
  std::span<std::byte> rest = input.subspan(offset);
  if (phase_ == Phase::upgraded && hand_off_to_) {
    // The socket moves to another loop: what came after the request goes with it.
    std::string after(reinterpret_cast<const char*>(rest.data()), rest.size());
    pending_.clear();
    auto counter = connection_->counter();
    int fd = connection_->detach_socket();
    if (fd < 0) return;
    hand_off_to_->post([target = hand_off_to_, fd, counter = std::move(counter), after = std::move(after),
                        arrive = std::move(arrival_)] {
      net::Connection* moved = net::Connection::create(*target, fd, counter);
      arrive(*moved, after);
      moved->start();
    });
    return;
  }
  if (phase_ == Phase::upgraded) {
    // Bytes after the upgrade request already belong to the new protocol.
    if (!rest.empty() && connection_ && connection_->protocol()) {
      connection_->protocol()->on_data(*connection_, rest);
    }
    pending_.clear();
    return;
  }
  if (phase_ == Phase::closed) return;
  if (input_is_pending) {
    pending_.erase(0, offset);
  } else {
    pending_.assign(reinterpret_cast<const char*>(rest.data()), rest.size());
  }
  if (pending_.empty() && pending_.capacity() > max_pipelined_bytes) std::string().swap(pending_);
}

bool Session::on_head() {
  auto decoded = percent_decode(target_path(request_.target()));
  if (!decoded || decoded->empty() || decoded->front() != '/') {
    fail(RequestError::bad_request);
    return false;
  }
  request_.path_ = std::move(*decoded);
  assign_request_id();
  head_request_ = request_.method() == "HEAD";
  auto match = config_.router->match(request_.method(), request_.path_, request_.params_);
  route_ = match.route;
  std::size_t body_limit = route_ ? route_->options.max_body_size : RouteOptions{}.max_body_size;
  if (!route_) {
    // Answered once the request (and its body) has been read, so the connection
    // stays in step for the next request.
    status_ = match.path_matched ? 405 : 404;
    if (match.path_matched) add_header("Allow", match.allow);
  }
  if (!parser_->set_body_limit(body_limit)) {
    fail(RequestError::payload_too_large);
    return false;
  }
  if (parser_->expects_continue() && request_.version() == 11) {
    connection_->write(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
  }
  return true;
}

void Session::dispatch() {
  connection_->cancel_timer();  // the handler owns the time now (long-polling)
  phase_ = Phase::responding;
  close_after_ = !request_.keep_alive() ||
                 (config_.shutting_down && config_.shutting_down->load(std::memory_order_relaxed));
  auto self = shared_from_this();
  Response response(self, serial_);
  if (!route_) {
    int status = status_;
    send(status == 405 ? "Method Not Allowed\n" : "Not Found\n");
    return;
  }
  in_dispatch_ = true;
  try {
    route_->handler(request_, response);
  } catch (const std::exception& e) {
    log::error({.component = "http", .conn = peer_of(request_), .req = request_.request_id()},
               "handler for {} {} threw: {}", request_.method(), request_.path(), e.what());
    if (is_current(response.serial_)) {
      if (head_sent_) {
        // Half a response is out: the only honest end is to cut the connection.
        connection_->close();
      } else {
        extra_headers_.clear();
        status_ = 500;
        close_after_ = true;
        send("Internal Server Error\n");
      }
    }
  }
  in_dispatch_ = false;
  if (phase_ == Phase::upgraded || phase_ == Phase::closed) return;
  if (is_current(response.serial_) && !deferred_ && !head_sent_) {
    log::error({.component = "http", .conn = peer_of(request_), .req = request_.request_id()},
               "handler for {} {} returned without responding or deferring", request_.method(), request_.path());
    extra_headers_.clear();
    status_ = 500;
    send("Internal Server Error\n");
  }
}

void Session::fail(RequestError error) {
  int status = status_of(error);
  // A request refused before its head was read has no id yet.
  if (request_.request_id().empty()) assign_request_id();
  if (log::enabled(spdlog::level::debug)) {
    log::debug({.component = "http", .conn = peer_of(request_), .req = request_.request_id()},
               "request refused: {} ({})", status, describe(error));
  }
  ++serial_;
  phase_ = Phase::responding;
  head_request_ = false;
  extra_headers_.clear();
  status_ = status;
  close_after_ = true;
  // Only an error found after routing (in the body, or its timeout) is the route's to
  // shape; route_ is cleared between exchanges, so it is never a previous request's.
  if (route_ && route_->options.error_response) {
    Response response(shared_from_this(), serial_);
    try {
      route_->options.error_response(request_, response, status, describe(error));
    } catch (const std::exception& e) {
      log::error({.component = "http", .conn = peer_of(request_), .req = request_.request_id()},
                 "error responder for {} {} threw: {}", request_.method(), request_.path(), e.what());
    }
    if (!is_current(response.serial_)) return;  // answered
    if (head_sent_) {
      connection_->close();  // half an answer: cut it, as for a handler
      return;
    }
    extra_headers_.clear();
    status_ = status;
  }
  add_header("Content-Type", "text/plain; charset=utf-8");
  std::string body(describe(error));
  body += '\n';
  send(body);
}

void Session::add_header(std::string_view name, std::string_view value) {
  extra_headers_.append(name);
  extra_headers_.append(": ");
  extra_headers_.append(value);
  extra_headers_.append("\r\n");
}

void Session::write_head(std::size_t content_length, bool chunked) {
  thread_local std::string head;
  head.clear();
  head.append(request_.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  head.append(std::to_string(status_));
  head += ' ';
  head.append(reason_phrase(status_));
  head.append("\r\nDate: ");
  head.append(http_date());
  head.append("\r\n");
  head.append(extra_headers_);
  if (chunked) {
    head.append("Transfer-Encoding: chunked\r\n");
  } else if (status_has_body(status_) && content_length != std::string::npos) {
    head.append("Content-Length: ");
    head.append(std::to_string(content_length));
    head.append("\r\n");
  }
  if (close_after_) {
    head.append("Connection: close\r\n");
  } else if (request_.version() == 10) {
    head.append("Connection: keep-alive\r\n");
  }
  head.append("\r\n");
  connection_->write(std::string_view(head));
  head_sent_ = true;
}

void Session::send(std::string_view body) {
  if (!connection_ || phase_ != Phase::responding || head_sent_) return;
  write_head(body.size(), false);
  if (!head_request_ && status_has_body(status_)) {
    connection_->write(body);
    body_bytes_ += body.size();
  }
  finish_exchange();
}

void Session::begin_stream() {
  if (!connection_ || phase_ != Phase::responding || head_sent_) return;
  // HTTP/1.0 has no chunked encoding: the body ends when the connection does.
  chunked_ = request_.version() == 11;
  if (!chunked_) close_after_ = true;
  write_head(std::string::npos, chunked_);
  if (head_request_) finish_exchange();
}

bool Session::write_chunk(std::string_view chunk) {
  if (!connection_ || phase_ != Phase::responding || !head_sent_) return false;
  if (chunk.empty()) return true;  // an empty chunk would end the body
  body_bytes_ += chunk.size();
  if (chunked_) {
    char size[20];
    int n = std::snprintf(size, sizeof size, "%zx\r\n", chunk.size());
    connection_->write(std::string_view(size, static_cast<std::size_t>(n)));
    connection_->write(chunk);
    return connection_->write(std::string_view("\r\n")) != net::WriteStatus::dropped;
  }
  return connection_->write(chunk) != net::WriteStatus::dropped;
}

void Session::end_stream() {
  if (!connection_ || phase_ != Phase::responding) return;
  if (!head_sent_) {
    send({});
    return;
  }
  if (chunked_) connection_->write(std::string_view("0\r\n\r\n"));
  finish_exchange();
}

std::size_t Session::buffered_amount() const noexcept {
  return connection_ ? connection_->buffered_amount() : 0;
}

void Session::assign_request_id() {
  char id[max_request_id + 1];
  std::size_t length = sanitize_request_id(request_.header("X-Request-Id"), id);
  if (length == 0) length = make_request_id(id);
  request_.request_id_ = request_.store({id, length});
}

void Session::log_exchange(int status) {
  if (!log::enabled(spdlog::level::debug)) return;
  log::HttpExchange exchange;
  exchange.method = request_.method().empty() ? std::string_view("-") : request_.method();
  std::string target = request_.target().empty() ? std::string("-") : redacted_target(request_.target());
  exchange.target = target;
  exchange.status = status;
  exchange.bytes = body_bytes_;
  if (started_ != std::chrono::steady_clock::time_point{}) {
    exchange.duration_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  }
  std::string peer = peer_of(request_);
  log::debug({.component = "http", .conn = peer, .req = request_.request_id(), .http = &exchange},
             "{} {} {} {} bytes {:.1f} ms", exchange.method, exchange.target, status, exchange.bytes,
             exchange.duration_ms);
}

void Session::finish_exchange() {
  log_exchange(status_);
  body_bytes_ = 0;
  parser_.reset();
  route_ = nullptr;
  on_abort_ = nullptr;
  extra_headers_.clear();
  status_ = 200;
  head_sent_ = deferred_ = chunked_ = head_request_ = false;
  if (close_after_) {
    phase_ = Phase::closed;
    connection_->end();
    return;
  }
  phase_ = Phase::idle;
  arm_idle_timer();
  if (!in_dispatch_) resume();
}

void Session::resume() {
  // Finished outside the handler (a deferred response): continue with pipelined
  // requests on a fresh stack, not inside whoever finished this one.
  connection_->loop().post([self = shared_from_this()] {
    if (self->phase_ != Phase::idle || !self->connection_) return;
    if (!self->pending_.empty()) {
      self->process({reinterpret_cast<std::byte*>(self->pending_.data()), self->pending_.size()}, true);
    }
    if (self->connection_) self->connection_->resume_reading();
  });
}

void Session::arm_idle_timer() { connection_->set_timer(config_.keep_alive_timeout); }

void Session::on_timer() {
  if (!connection_) return;
  if (phase_ == Phase::reading) {
    fail(RequestError::request_timeout);
  } else if (phase_ == Phase::idle) {
    phase_ = Phase::closed;
    connection_->end();
  }
}

void Session::on_close() {
  bool open_exchange = phase_ == Phase::responding;
  phase_ = Phase::closed;
  connection_ = nullptr;
  if (open_exchange && on_abort_) {
    auto callback = std::move(on_abort_);
    on_abort_ = nullptr;
    callback();
  }
}

void Session::on_shutdown() {
  if (!connection_) return;
  switch (phase_) {
    case Phase::idle:
      phase_ = Phase::closed;
      connection_->end();
      break;
    case Phase::reading:
      close_after_ = true;  // dispatch() reads the shutdown flag too
      break;
    case Phase::responding:
      close_after_ = true;
      if (head_sent_) end_stream();  // an endless stream (SSE) ends here
      break;
    case Phase::upgraded:
    case Phase::closed:
      break;
  }
}

void Session::upgrade(std::string_view response_head, std::unique_ptr<net::Protocol> next) {
  if (!connection_ || phase_ != Phase::responding || head_sent_) return;
  connection_->write(response_head);
  log_exchange(101);
  head_sent_ = true;
  phase_ = Phase::upgraded;
  parser_.reset();
  connection_->cancel_timer();
  connection_->set_protocol(std::move(next));
}

void Session::hand_off(net::Loop& target, Arrival arrive) {
  if (!connection_ || phase_ != Phase::responding || head_sent_) return;
  head_sent_ = true;
  phase_ = Phase::upgraded;
  parser_.reset();
  connection_->cancel_timer();
  hand_off_to_ = &target;
  arrival_ = std::move(arrive);
}

void Session::replay_on(net::Loop& target) {
  std::string head;
  head.append(request_.method());
  head += ' ';
  head.append(request_.target());
  head.append(request_.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  for (const auto& [name, value] : request_.headers()) {
    head.append(name);
    head.append(": ");
    head.append(value);
    head.append("\r\n");
  }
  head.append("\r\n");
  hand_off(target, [head = std::move(head), &config = config_](net::Connection& connection, std::string_view rest) {
    connection.set_protocol(std::make_unique<HttpProtocol>(connection, config));
    std::string bytes = head;
    bytes.append(rest);
    connection.protocol()->on_data(connection, std::as_writable_bytes(std::span(bytes.data(), bytes.size())));
  });
}

void replay_on(Response& response, net::Loop& target) {
  if (Session* session = ResponseAccess::session(response)) session->replay_on(target);
}

void hand_off(Response& response, net::Loop& target, Session::Arrival arrive) {
  if (Session* session = ResponseAccess::session(response)) session->hand_off(target, std::move(arrive));
}

void upgrade(Response& response, std::string_view response_head, std::unique_ptr<net::Protocol> next) {
  if (Session* session = ResponseAccess::session(response)) session->upgrade(response_head, std::move(next));
}

}  // namespace switchboard::http::detail
