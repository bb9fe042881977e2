#pragma once
// Test support for the http tests: a blocking HTTP/1.1 client over a POSIX socket
// (responses parsed by Beast's response parser, a parser we did not write) and an
// http::Server running on a test thread.

#include <switchboard/http.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/beast/http.hpp>

namespace switchboard::http::test {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------
// A blocking HTTP/1.1 client over a POSIX socket; responses are parsed by Beast's
// response parser (a parser we did not write), raw bytes kept for framing checks.

// The start of a long response, for failure messages.
inline std::string excerpt(std::string_view raw) {
  return raw.size() <= 300 ? std::string(raw) : std::string(raw.substr(0, 300)) + "...";
}

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  void send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ADD_FAILURE() << "send failed: " << std::strerror(errno);
        return;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  struct Response {
    int status = 0;
    unsigned version = 0;
    std::map<std::string, std::string, std::less<>> headers;  // lower-case names
    std::string body;
    std::string raw;  // the bytes this response was parsed from
    bool keep_alive = false;
    bool chunked = false;
    std::string header(std::string_view name) const {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = headers.find(lower);
      return it == headers.end() ? std::string() : it->second;
    }
    bool has(std::string_view name) const {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return headers.count(lower) != 0;
    }
  };

  // The next response; nullopt (with a test failure) on a timeout, EOF or bad framing.
  std::optional<Response> read_response(bool head_request = false, std::chrono::milliseconds timeout = 10s) {
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    parser.eager(true);
    if (head_request) parser.skip(true);
    Response r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!parser.is_done()) {
      if (!buffer_.empty()) {
        boost::beast::error_code ec;
        std::size_t n = parser.put(boost::asio::buffer(buffer_.data(), buffer_.size()), ec);
        r.raw.append(buffer_, 0, n);
        buffer_.erase(0, n);
        if (ec && ec != bhttp::error::need_more) {
          ADD_FAILURE() << "bad response: " << ec.message() << "\n" << excerpt(r.raw);
          return std::nullopt;
        }
        if (!ec && parser.is_done()) break;
        if (!ec && n > 0) continue;
      }
      int got = fill(deadline);
      if (got == 0) {
        boost::beast::error_code ec;
        parser.put_eof(ec);  // a close-delimited body ends here
        if (ec || !parser.is_done()) {
          ADD_FAILURE() << "connection closed before the response ended after " << r.raw.size() << " bytes\n"
                        << excerpt(r.raw);
          return std::nullopt;
        }
      } else if (got < 0) {
        ADD_FAILURE() << (got == -2 ? "timed out" : "read error") << " waiting for a response\n" << excerpt(r.raw);
        return std::nullopt;
      }
    }
    auto& message = parser.get();
    r.status = message.result_int();
    r.version = message.version();
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace(name, std::string(field.value()));
    }
    r.body = message.body();
    r.keep_alive = message.keep_alive();
    r.chunked = parser.chunked();
    return r;
  }

  // Raw bytes until `needle` has arrived (or the timeout); returns everything read.
  std::string read_until(std::string_view needle, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find(needle) == std::string::npos) {
      if (fill(deadline) <= 0) break;
    }
    return buffer_;
  }

  // True when the server closes the connection (EOF or reset) and sends nothing more
  // than what has already been read.
  bool closed_by_server(std::chrono::milliseconds timeout = 10s) {
    const std::size_t before = buffer_.size();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int got = fill(deadline);
      if (got == 0 || got == -1) return buffer_.size() == before;
      if (got == -2) return false;
    }
  }

 private:
  // Reads once: bytes read, 0 on EOF, -1 on an error, -2 on the deadline.
  int fill(std::chrono::steady_clock::time_point deadline) {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return -2;
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready <= 0) continue;
      char chunk[65536];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return static_cast<int>(n);
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// An http::Server on 127.0.0.1, port 0, running on a test thread until destroyed.
class RunningServer {
 public:
  RunningServer(const std::function<void(Router&)>& setup, ServerOptions options = {}) : server_(adjust(options)) {
    setup(server_.router());
    server_.listen();
    thread_ = std::thread([this] {
      server_.run();
      returned_.set_value();
    });
  }
  ~RunningServer() {
    server_.shutdown(2000ms);
    if (!wait_stopped(15s)) {
      ADD_FAILURE() << "Server::run() did not return after shutdown()";
      std::fprintf(stderr, "aborting: the server does not stop\n");
      std::abort();
    }
    thread_.join();
  }
  std::uint16_t port() const { return server_.port(); }
  Server& server() { return server_; }
  bool wait_stopped(std::chrono::milliseconds timeout) {
    return stopped_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  static ServerOptions adjust(ServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.threads == 0) options.threads = 1;
    return options;
  }
  Server server_;
  std::promise<void> returned_;
  std::future<void> stopped_ = returned_.get_future();
  std::thread thread_;
};

inline std::string get(std::string_view target, std::string_view extra_headers = {}) {
  std::string request = "GET ";
  request += target;
  request += " HTTP/1.1\r\nHost: localhost\r\n";
  request += extra_headers;
  request += "\r\n";
  return request;
}

}  // namespace switchboard::http::test
