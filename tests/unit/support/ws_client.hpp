#pragma once
// Test support: a blocking WebSocket client over a POSIX socket, speaking RFC 6455
// through the project's frame codec (masked frames out, frames in). It can also send
// plain HTTP on its connection before the upgrade (to learn which loop it landed on),
// and it keeps the raw bytes of each frame for tests that compare frames byte for byte.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "ws/codec/frame.hpp"

namespace switchboard::ws::test {

using namespace std::chrono_literals;

struct Frame {
  Opcode opcode = Opcode::text;
  bool rsv1 = false;
  std::string payload;
  std::string raw;  // the whole frame as it arrived (header and payload)

  // A close frame's status code (1005 when it carries none).
  std::uint16_t close_code() const {
    if (payload.size() < 2) return close_code::no_status;
    return static_cast<std::uint16_t>((std::uint8_t(payload[0]) << 8) | std::uint8_t(payload[1]));
  }
};

class Client {
 public:
  struct NoHandshake {};

  // Connects to 127.0.0.1:port and runs the opening handshake for `path` (a request
  // target, query included).
  explicit Client(std::uint16_t port, std::string extra_headers = {}, std::string path = "/ws") {
    if (connect(port)) handshake(path, extra_headers);
  }
  // Connects only: handshake() (or plain HTTP first) is up to the caller.
  Client(std::uint16_t port, NoHandshake) { connect(port); }
  ~Client() { close(); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return fd_ >= 0 && connected_; }

  // One plain HTTP/1.1 exchange on this connection before any upgrade; the response
  // must carry a Content-Length. Returns the body, or nullopt (with a failure).
  std::optional<std::string> http_body(std::string_view request, std::chrono::milliseconds timeout = 5s) {
    send_raw(request);
    std::string head = read_head(timeout);
    if (head.empty()) {
      ADD_FAILURE() << "no HTTP response";
      return std::nullopt;
    }
    std::size_t length = 0;
    std::string value = header_in(head, "Content-Length");
    if (!value.empty()) length = std::stoul(value);
    while (buffer_.size() < length) {
      if (!fill(timeout)) {
        ADD_FAILURE() << "HTTP body cut short";
        return std::nullopt;
      }
    }
    std::string body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return body;
  }

  // Sends the opening handshake; true once the 101 arrives. A refusal's body (with a
  // Content-Length) is kept in body().
  bool handshake(std::string_view target, std::string_view extra_headers = {},
                 std::chrono::milliseconds timeout = 5s) {
    std::string request = "GET ";
    request += target;
    request +=
        " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    request += extra_headers;
    request += "\r\n";
    send_raw(request);
    head_ = read_head(timeout);
    if (head_.empty()) {
      ADD_FAILURE() << "no handshake response";
      return false;
    }
    if (!upgraded()) {
      std::string value = header("Content-Length");
      std::size_t length = value.empty() ? 0 : std::stoul(value);
      while (buffer_.size() < length && fill(timeout)) {
      }
      body_ = buffer_.substr(0, std::min(length, buffer_.size()));
      buffer_.erase(0, body_.size());
    }
    return upgraded();
  }

  const std::string& head() const { return head_; }
  const std::string& body() const { return body_; }
  int status() const {
    if (head_.size() < 12 || !head_.starts_with("HTTP/1.1 ")) return 0;
    return std::atoi(head_.c_str() + 9);
  }
  // A 101 with the accept key of the key we sent (RFC 6455 §1.3 sample).
  bool upgraded() const {
    return status() == 101 && header("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  }
  // The first value of a header of the handshake response, or empty.
  std::string header(std::string_view name) const { return header_in(head_, name); }

  void send(Opcode opcode, std::string_view payload, bool rsv1 = false, bool fin = true) {
    std::string frame(max_frame_header_size + payload.size(), '\0');
    std::array<std::byte, 4> mask{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
    auto* out = reinterpret_cast<std::byte*>(frame.data());
    std::size_t header = write_frame_header(out, opcode, payload.size(), fin, rsv1, &mask);
    std::memcpy(out + header, payload.data(), payload.size());
    mask_bytes({out + header, payload.size()}, mask);
    frame.resize(header + payload.size());
    send_raw(frame);
  }
  void send_text(std::string_view payload) { send(Opcode::text, payload); }
  void send_binary(std::string_view payload) { send(Opcode::binary, payload); }
  void send_close(std::uint16_t code = close_code::normal) {
    char payload[2] = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    send(Opcode::close, {payload, 2});
  }

  void send_raw(std::string_view data) {
    while (fd_ >= 0 && !data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // The next frame, or nullopt when the connection closes or nothing comes in time.
  std::optional<Frame> read(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      FrameHeader header;
      auto bytes = std::as_bytes(std::span(buffer_.data(), buffer_.size()));
      if (parse_frame_header(bytes, header) == HeaderStatus::complete &&
          buffer_.size() >= header.header_size + header.payload_length) {
        std::size_t size = header.header_size + header.payload_length;
        Frame frame{header.opcode, header.rsv1, buffer_.substr(header.header_size, header.payload_length),
                    buffer_.substr(0, size)};
        buffer_.erase(0, size);
        return frame;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !fill(left)) return std::nullopt;
    }
  }

  // True if nothing arrives within `window`.
  bool quiet(std::chrono::milliseconds window = 200ms) {
    if (!buffer_.empty()) return false;
    return !fill(window) && !eof_;
  }

  // True when the server ends the TCP connection within `timeout` (our end is then
  // closed too); frames that arrive first are skipped (a close frame among them lands
  // in last_close()).
  bool closed_by_server(std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      while (auto frame = read(0ms)) {
        if (frame->opcode == Opcode::close) last_close_ = frame;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      fill(left);
    }
    while (auto frame = read(0ms)) {
      if (frame->opcode == Opcode::close) last_close_ = frame;
    }
    return true;
  }
  const std::optional<Frame>& last_close() const { return last_close_; }
  bool eof() const { return eof_; }

  // Drops the TCP connection (without a closing handshake, if none was done).
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  void stop_reading_and_shrink_buffer() {
    int small = 4096;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  }

 private:
  static std::string header_in(std::string_view head, std::string_view name) {
    std::size_t at = head.find("\r\n");
    while (at != std::string_view::npos && at + 2 < head.size()) {
      std::size_t start = at + 2;
      std::size_t end = head.find("\r\n", start);
      std::string_view line = head.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
      std::size_t colon = line.find(':');
      if (colon != std::string_view::npos && colon == name.size()) {
        bool same = true;
        for (std::size_t i = 0; i < name.size(); ++i) {
          if (std::tolower(static_cast<unsigned char>(line[i])) != std::tolower(static_cast<unsigned char>(name[i]))) {
            same = false;
            break;
          }
        }
        if (same) {
          std::string_view value = line.substr(colon + 1);
          while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
          while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
          return std::string(value);
        }
      }
      at = end;
    }
    return {};
  }

  bool connect(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    if (!connected_) ADD_FAILURE() << "connect: " << std::strerror(errno);
    return connected_;
  }

  // A response head (through the blank line), or empty on a timeout or EOF.
  std::string read_head(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !fill(left)) return {};
    }
    std::size_t end = buffer_.find("\r\n\r\n") + 4;
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end);
    return head;
  }

  // Reads once; false on a timeout, EOF or error (eof() tells EOF apart).
  bool fill(std::chrono::milliseconds timeout) {
    if (fd_ < 0 || eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, static_cast<int>(timeout.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready <= 0) return false;
    char chunk[65536];
    ssize_t n;
    do {
      n = ::recv(fd_, chunk, sizeof chunk, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
      // EOF or reset: the connection is over either way. Close our end too, as a
      // client does once the server has closed (RFC 6455 §7.1.1); frames already read
      // stay readable.
      eof_ = true;
      close();
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buffer_;
  std::string head_;
  std::string body_;
  std::optional<Frame> last_close_;
};

}  // namespace switchboard::ws::test
