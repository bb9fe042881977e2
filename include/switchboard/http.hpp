#pragma once
// HTTP/1.1 as route handlers see it: a parsed Request and a Response to answer it.
//
// Thread safety and lifetime: a handler runs on the loop thread that owns the
// connection. The Request stays valid until its response is finished; a Response is a
// handle that may be copied and finished later (long-polling) or streamed (SSE), but
// only on that same loop thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::http {

namespace detail {
class Session;
struct ResponseAccess;
}

// Case-insensitive header lookup over one arena; names and values are views into it.
class RequestHead;

class Request {
 public:
  std::string_view method() const noexcept { return view(method_); }
  // The request target as sent, e.g. "/socket.io/?EIO=4&transport=polling".
  std::string_view target() const noexcept { return view(target_); }
  // The target's path, percent-decoded (a path with a NUL or a bad escape is refused
  // with 400 before any handler runs).
  std::string_view path() const noexcept { return path_; }
  // The raw query string, without the '?'.
  std::string_view query() const noexcept;
  // The decoded value of the first `name` in the query string.
  std::optional<std::string> query_param(std::string_view name) const;
  unsigned version() const noexcept { return version_; }  // 10 or 11
  // The first value of a header, or an empty view.
  std::string_view header(std::string_view name) const noexcept;
  bool has_header(std::string_view name) const noexcept;
  // Every header in order, for handlers that forward them.
  std::vector<std::pair<std::string_view, std::string_view>> headers() const;
  std::string_view body() const noexcept { return body_; }
  // A ":name" segment (or "*", the rest) of the route pattern that matched.
  std::string_view param(std::string_view name) const noexcept;
  const std::string& remote_address() const noexcept { return remote_address_; }
  std::uint16_t remote_port() const noexcept { return remote_port_; }
  bool keep_alive() const noexcept { return keep_alive_; }
  // This request's id in the log: the client's X-Request-Id (only letters, digits and
  // -_.:@/+= kept, at most 64 of them), or one the server made ("<tag>-<thread>-<n>").
  std::string_view request_id() const noexcept { return view(request_id_); }

 private:
  friend class detail::Session;
  friend class RequestParser;
  friend class RequestHead;
  struct Span {
    std::uint32_t offset = 0;
    std::uint32_t size = 0;
  };
  std::string_view view(Span span) const noexcept { return {arena_.data() + span.offset, span.size}; }
  Span store(std::string_view text);
  void clear();

  std::string arena_;  // method, target and header names/values, back to back
  Span method_;
  Span target_;
  Span request_id_;
  std::vector<std::pair<Span, Span>> headers_;
  std::string path_;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> params_;
  std::string remote_address_;
  std::uint16_t remote_port_ = 0;
  unsigned version_ = 11;
  bool keep_alive_ = true;
};

// A request's target and header fields, copied once into one immutable block that
// copies share: what a long-lived connection keeps of the request that opened it (an
// Engine.IO session and each of its Socket.IO sockets hold the same block).
class RequestHead {
 public:
  RequestHead() = default;
  // `address`: the client's address as the layer above decided it (a trusted proxy's
  // X-Forwarded-For, say); the peer's by default.
  explicit RequestHead(const Request& request);
  RequestHead(const Request& request, std::string_view address);

  std::string_view target() const noexcept;
  std::string_view address() const noexcept;
  // When the head was taken from its request (an Engine.IO handshake's time).
  std::chrono::system_clock::time_point time() const noexcept;
  std::string_view query() const noexcept;  // without the '?'
  std::optional<std::string> query_param(std::string_view name) const;
  // The first value of a header, or an empty view.
  std::string_view header(std::string_view name) const noexcept;
  std::vector<std::pair<std::string_view, std::string_view>> headers() const;

 private:
  struct Layout;
  const Layout* layout() const noexcept;
  std::shared_ptr<const std::uint64_t[]> block_;  // a Layout, 8-byte aligned
};

class Response {
 public:
  // Sets the status of a response that has not started yet (default 200).
  Response& status(int code);
  // Adds a header; Content-Length, Transfer-Encoding, Date and Connection are the
  // server's to set.
  Response& header(std::string_view name, std::string_view value);

  // Sends the whole response with a Content-Length, and finishes it.
  void send(std::string_view body = {});
  void send(int code, std::string_view body, std::string_view content_type = "text/plain; charset=utf-8");
  // {"error": message} with the status, for the JSON APIs.
  void send_json_error(int code, std::string_view message);

  // Keeps the request open after the handler returns; finish it later with send()
  // or end(). A handler that returns having neither sent nor deferred gets a 500.
  void defer();

  // Streams the body (chunked on HTTP/1.1, close-delimited on 1.0): the head leaves
  // now, write() sends a piece, end() finishes.
  void begin_stream();
  // False when the response is finished or the connection is gone.
  bool write(std::string_view chunk);
  void end();
  // Called once if the connection closes before the response is finished.
  void on_abort(std::function<void()> callback);

  // False once finished, or once the connection has gone.
  bool open() const noexcept;
  bool started() const noexcept;
  std::size_t buffered_amount() const noexcept;

  Response() = default;

 private:
  friend class detail::Session;
  friend struct detail::ResponseAccess;
  Response(std::shared_ptr<detail::Session> session, std::uint32_t serial)
      : session_(std::move(session)), serial_(serial) {}
  detail::Session* live() const noexcept;

  std::shared_ptr<detail::Session> session_;
  std::uint32_t serial_ = 0;
};

using Handler = std::function<void(Request&, Response&)>;

// Answers an error the HTTP layer found in a request for a route before its handler
// ran: 413 (a body over max_body_size), 400 (a malformed chunked body), 408 (the body
// did not arrive in time). `message` says what was wrong in a sentence. It should
// send() with `status`; the connection closes after the answer either way. Runs on the
// connection's loop thread; if it throws or answers nothing, the plain-text default is
// sent.
using ErrorResponder =
    std::function<void(const Request& request, Response& response, int status, std::string_view message)>;

struct RouteOptions {
  // Bodies larger than this are refused with 413 before they are read.
  std::size_t max_body_size = 1024 * 1024;
  // Shapes the errors above for this route (a JSON API answers JSON). Unset: the body
  // is the sentence as text/plain.
  ErrorResponder error_response = nullptr;
};

// Routes by method and path. Patterns are literal segments, ":name" segments, and a
// final "*" that takes the rest of the path. Routes are tried in the order added.
// Register every route before the server starts; the table is read-only afterwards.
class Router {
 public:
  void get(std::string pattern, Handler handler, RouteOptions options = {});
  void post(std::string pattern, Handler handler, RouteOptions options = {});
  void put(std::string pattern, Handler handler, RouteOptions options = {});
  void del(std::string pattern, Handler handler, RouteOptions options = {});
  void options(std::string pattern, Handler handler, RouteOptions options = {});
  // Every method.
  void any(std::string pattern, Handler handler, RouteOptions options = {});
  void route(std::string method, std::string pattern, Handler handler, RouteOptions options = {});

  struct Route {
    std::string method;  // empty for any
    std::vector<std::string> segments;
    bool rest = false;
    Handler handler;
    RouteOptions options;
  };
  struct Match {
    const Route* route = nullptr;
    bool path_matched = false;   // a route has this path, with another method (405)
    std::string allow;           // the methods that path takes, for 405's Allow header
  };
  // HEAD is answered by GET routes.
  Match match(std::string_view method, std::string_view path,
              std::vector<std::pair<std::string, std::string>>& params) const;

 private:
  std::vector<Route> routes_;
};

// A handler serving the files under `root`: GET and HEAD, content types by
// extension, ETag/If-None-Match (304), index.html for directories, and no path
// outside root. Mount it on a "*" route, e.g. router.get("/*", serve_static("web")).
Handler serve_static(std::string root);

}  // namespace switchboard::http

// ---------------------------------------------------------------------------------
// The HTTP server: worker threads, the listening socket and the router. WebSocket
// endpoints (switchboard/websocket.hpp) and Socket.IO attach to it, as they attach to
// a Node http.Server.

#include <chrono>

namespace switchboard::net {
class LoopGroup;
}

namespace switchboard::http {

struct ServerOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;  // 0: any free port
  unsigned threads = 0;       // 0: one per core
  std::size_t max_connections = 0;  // 0: no limit
  std::size_t max_header_size = 16 * 1024;  // request line + headers; 431 past it
  std::size_t max_target_size = 8 * 1024;   // 414 past it
  // From a request's first byte to its last (slowloris); 408 past it.
  std::chrono::milliseconds request_timeout{10'000};
  // An idle keep-alive connection is closed after this.
  std::chrono::milliseconds keep_alive_timeout{30'000};
  bool health_check = true;  // GET /healthz answers 200 "ok"
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Register routes before listen(); the table is read-only afterwards.
  Router& router() noexcept;
  const ServerOptions& options() const noexcept;

  // Binds the port (throws std::runtime_error naming the address and the reason).
  void listen();
  std::uint16_t port() const noexcept;
  // The number of worker threads (resolved when options.threads is 0).
  unsigned threads() const noexcept;

  // Runs the worker threads; returns after shutdown(). Loop 0 runs on this thread.
  void run();
  // Thread-safe. Stops accepting, asks every connection to close (WebSocket peers get
  // 1001, idle HTTP connections close, requests in flight finish), and stops once
  // they are gone or `grace` has passed.
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  // Calls `handler` (on loop 0) on SIGINT/SIGTERM; install before run().
  void on_termination_signal(std::function<void(int)> handler);
  // Runs `hook` on every loop when shutdown() starts, before the connections are asked
  // to close: the layers above close their sessions politely. Install before run().
  void on_shutdown(std::function<void()> hook);

  // For the layers built on top (WebSocket topics, Socket.IO).
  net::LoopGroup& loops() noexcept;

  // Counters of one worker loop since it started, for metrics. Each loop counts on its
  // own thread without locks; a snapshot reads them with relaxed loads (any thread).
  struct LoopStats {
    std::uint64_t bytes_in = 0;   // read from client sockets
    std::uint64_t bytes_out = 0;  // written to client sockets (taken by the kernel)
    // Connections closed because their write queue passed its hard limit (a WebSocket
    // route's max_backpressure).
    std::uint64_t slow_consumer_disconnects = 0;
  };
  // One entry per loop; any thread.
  std::vector<LoopStats> loop_stats() const;
  // Runs `fn` on loop `loop`'s thread, queued behind the work already there (also when
  // called on that loop); any thread. For work that must run where a loop's
  // connections live (streamed responses, probes of the loop's latency).
  void post(unsigned loop, std::function<void()> fn);
  // The index of the loop running the calling thread, or nullopt on any other thread.
  std::optional<unsigned> current_loop() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::http
