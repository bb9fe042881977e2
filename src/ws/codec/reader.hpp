#pragma once
// The receiving half of RFC 6455 (and RFC 7692's compressed messages): bytes in,
// complete messages and control frames out. Pure and resumable — no I/O, no clock —
// so the server, the client and the fuzzer drive the same code.
//
// Memory: the reader keeps only what an unfinished frame needs (up to 14 header
// bytes, and the message so far when a message spans frames or reads). A whole,
// unfragmented, uncompressed frame that sits in the input is delivered in place, with
// no copy, after unmasking it in the caller's buffer.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/utf8.hpp"
#include "ws/codec/frame.hpp"

namespace switchboard::ws {

enum class Role : std::uint8_t {
  server,  // peers are clients: every frame must be masked (§5.1)
  client,  // peers are servers: no frame may be masked (§5.1)
};

// Inflates permessage-deflate payloads (RFC 7692 §7.2.2); ws/deflate implements it.
class PayloadInflater {
 public:
  enum class Result { ok, too_big, corrupt };
  virtual ~PayloadInflater() = default;
  // Appends the inflated form of one piece of a compressed message to `out`. Fails
  // with too_big as soon as `out` would pass `max_size` bytes, before inflating more.
  virtual Result inflate(std::string_view compressed, std::string& out, std::size_t max_size) = 0;
  // Ends the message: inflates the 0x00 0x00 0xff 0xff tail the sender removed, and
  // drops the window if the peer does not take over context.
  virtual Result finish(std::string& out, std::size_t max_size) = 0;
};

struct ReaderOptions {
  Role role = Role::server;
  // Largest message, after inflation, counted across all its frames; larger closes
  // with 1009 (§7.4.1). Control frames are limited to 125 bytes by the RFC anyway.
  std::size_t max_message_size = 16 * 1024 * 1024;
  // Set when permessage-deflate was negotiated: RSV1 on the first frame of a data
  // message marks it compressed (RFC 7692 §6). Without it, RSV1 is a protocol error.
  PayloadInflater* inflater = nullptr;
};

class MessageReader {
 public:
  // What the reader finds. Each view is valid only during the call.
  class Handler {
   public:
    virtual void on_message(std::string_view payload, bool binary) = 0;
    virtual void on_ping(std::string_view payload) = 0;
    virtual void on_pong(std::string_view payload) = 0;
    // code is close_code::no_status (1005) when the frame carried no code.
    virtual void on_close(std::uint16_t code, std::string_view reason) = 0;

   protected:
    ~Handler() = default;
  };

  explicit MessageReader(const ReaderOptions& options) noexcept : options_(options) {}

  // Consumes all of `input`, unmasking it in place, and reports what it finds to
  // `handler`. Returns 0 while the stream is valid; otherwise the close code the
  // connection must fail with (1002 protocol error, 1007 invalid UTF-8 or inflate
  // data, 1009 too big), after which the reader stays failed and reports nothing
  // more. After a close frame, or after stop(), the rest of the input is ignored.
  std::uint16_t feed(std::span<std::byte> input, Handler& handler);

  // Called from a handler to ignore everything after the current event (the
  // connection is closing).
  void stop() noexcept { state_ = State::stopped; }
  bool stopped() const noexcept { return state_ == State::stopped || state_ == State::failed; }

  // Bytes held for an unfinished frame or message; zero between messages.
  std::size_t buffered_bytes() const noexcept;

 private:
  // Implementation-defined; the state fits in a few dozen bytes plus `message_`.
  enum class State : std::uint8_t { header, payload, stopped, failed };
  // The data message in progress, set by its first frame until its last one ends.
  enum class Message : std::uint8_t { none, text, binary };

  std::uint16_t check_first_bytes(std::uint8_t b0, std::uint8_t b1) const noexcept;
  std::uint16_t start_frame(const FrameHeader& header, std::size_t available) noexcept;
  std::uint16_t take_payload(std::byte* data, std::size_t size);
  std::uint16_t check_inflated(PayloadInflater::Result result, std::size_t old_size) noexcept;
  std::uint16_t end_frame(Handler& handler);
  std::uint16_t deliver_control(std::string_view payload, Handler& handler);
  void end_message() noexcept;
  std::uint16_t fail(std::uint16_t code) noexcept;

  ReaderOptions options_;
  State state_ = State::header;
  Message message_kind_ = Message::none;
  bool compressed_ = false;       // the message in progress is permessage-deflate
  bool in_place_ = false;         // the current frame is delivered from the input
  Opcode opcode_ = Opcode::text;  // of the current frame
  bool fin_ = false;              // of the current frame
  std::uint8_t header_size_ = 0;  // bytes of a split frame header held in header_
  std::uint16_t error_ = 0;       // the close code once failed
  core::Utf8Validator utf8_;      // text messages, across frames and reads
  std::array<std::byte, 4> mask_{};
  std::array<std::byte, max_frame_header_size> header_{};
  std::uint64_t frame_length_ = 0;     // payload bytes of the current frame
  std::uint64_t frame_remaining_ = 0;  // of those, not yet read
  // The message so far (inflated, when compressed), then the payload of a control
  // frame split across reads, appended behind it and removed once delivered.
  std::string message_;
};

}  // namespace switchboard::ws
