#include "ws/codec/reader.hpp"

#include <algorithm>
#include <cstring>

namespace switchboard::ws {
namespace {

// Once a message is delivered, a buffer grown past this is given back, so an idle
// connection does not pin the largest message it ever received (DESIGN.md: bounded
// memory). Smaller buffers are kept: reusing them spares an allocation per message
// for connections that send fragmented or split messages.
constexpr std::size_t max_idle_capacity = 64 * 1024;

std::string_view as_chars(const std::byte* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

void release(std::string& s) noexcept { std::string().swap(s); }

}  // namespace

std::size_t MessageReader::buffered_bytes() const noexcept {
  return header_size_ + message_.size();
}

std::uint16_t MessageReader::feed(std::span<std::byte> input, Handler& handler) {
  if (state_ == State::failed) return error_;
  std::byte* p = input.data();
  std::byte* const end = p + input.size();
  while (state_ == State::header || state_ == State::payload) {
    if (state_ == State::header) {
      if (p == end) return 0;
      FrameHeader header;
      HeaderStatus status;
      std::size_t header_bytes_here;  // how much of the header this input holds
      if (header_size_ == 0) {
        const std::size_t n = static_cast<std::size_t>(end - p);
        // The first two bytes decide most rules; check them even if the rest of the
        // header is still to come.
        if (n >= 2) {
          if (auto code = check_first_bytes(std::to_integer<std::uint8_t>(p[0]),
                                            std::to_integer<std::uint8_t>(p[1])))
            return fail(code);
        }
        status = parse_frame_header({p, n}, header);
        if (status == HeaderStatus::need_more) {
          // The input ends inside the header, so n < max_frame_header_size.
          std::memcpy(header_.data(), p, n);
          header_size_ = static_cast<std::uint8_t>(n);
          return 0;
        }
        header_bytes_here = header.header_size;
      } else {
        // Complete the split header. Copy what may belong to it; parsing tells how
        // much did.
        const std::size_t held = header_size_;
        const std::size_t copied =
            std::min<std::size_t>(static_cast<std::size_t>(end - p), header_.size() - held);
        std::memcpy(header_.data() + held, p, copied);
        const std::size_t have = held + copied;
        if (have >= 2) {
          if (auto code = check_first_bytes(std::to_integer<std::uint8_t>(header_[0]),
                                            std::to_integer<std::uint8_t>(header_[1])))
            return fail(code);
        }
        status = parse_frame_header({header_.data(), have}, header);
        if (status == HeaderStatus::need_more) {
          header_size_ = static_cast<std::uint8_t>(have);
          return 0;
        }
        header_size_ = 0;
        header_bytes_here = header.header_size - held;
      }
      // §5.2: a 64-bit length must have its most significant bit clear.
      if (status == HeaderStatus::invalid) return fail(close_code::protocol_error);
      p += header_bytes_here;

      if (auto code = start_frame(header, static_cast<std::size_t>(end - p))) return fail(code);
      if (in_place_) {
        // The fast path: the whole payload is in the input. Unmask it there and hand
        // out a view of it — no copy, no allocation.
        std::byte* payload = p;
        const auto size = static_cast<std::size_t>(frame_length_);
        p += size;
        frame_remaining_ = 0;
        if (options_.role == Role::server) mask_bytes({payload, size}, mask_);
        const std::string_view view = as_chars(payload, size);
        if (is_control(opcode_)) {
          if (auto code = deliver_control(view, handler)) return fail(code);
        } else {
          // §8.1: a text message must be valid UTF-8.
          if (opcode_ == Opcode::text && !core::is_valid_utf8(view))
            return fail(close_code::invalid_payload);
          state_ = State::header;  // before the call, so stop() inside it holds
          handler.on_message(view, opcode_ == Opcode::binary);
        }
        continue;
      }
      state_ = State::payload;
    }

    // State::payload: the current frame's payload, as much of it as this input holds.
    const auto take =
        static_cast<std::size_t>(std::min<std::uint64_t>(frame_remaining_, end - p));
    if (take != 0) {
      if (auto code = take_payload(p, take)) return fail(code);
      p += take;
    }
    if (frame_remaining_ != 0) return 0;  // the input ended inside the payload
    if (auto code = end_frame(handler)) return fail(code);
  }
  if (state_ == State::failed) return error_;  // stop() cannot fail, but stay honest
  // Stopped, by a close frame or by a handler: the connection is closing, hold nothing.
  header_size_ = 0;
  release(message_);
  return 0;
}

// The rules that the first two header bytes decide, given the connection's state.
std::uint16_t MessageReader::check_first_bytes(std::uint8_t b0, std::uint8_t b1) const noexcept {
  const bool fin = b0 & 0x80;
  const bool rsv1 = b0 & 0x40;
  const unsigned opcode = b0 & 0x0f;
  const bool masked = b1 & 0x80;
  const unsigned length7 = b1 & 0x7f;  // 126 and 127 announce longer lengths

  // §5.1: a client masks every frame it sends, a server none; §5.3.
  if (masked != (options_.role == Role::server)) return close_code::protocol_error;
  // §5.2: RSV2 and RSV3 have no meaning without an extension that defines them, and
  // permessage-deflate defines only RSV1 (RFC 7692 §6).
  if (b0 & 0x30) return close_code::protocol_error;

  switch (opcode) {
    case 0x0:  // continuation (§5.4)
      if (message_kind_ == Message::none) return close_code::protocol_error;
      // RFC 7692 §6.1: RSV1 is set on the first frame of a compressed message only.
      if (rsv1) return close_code::protocol_error;
      return 0;
    case 0x1:
    case 0x2:
      // §5.4: the frames of a fragmented message are not interleaved with another.
      if (message_kind_ != Message::none) return close_code::protocol_error;
      if (rsv1 && options_.inflater == nullptr) return close_code::protocol_error;
      return 0;
    case 0x8:
    case 0x9:
    case 0xA:
      // §5.5: control frames are not fragmented and carry at most 125 bytes; RFC 7692
      // §6.1: they are never compressed.
      if (rsv1 || !fin || length7 > 125) return close_code::protocol_error;
      // §5.5.1: a close body is empty or starts with a two-byte code.
      if (opcode == 0x8 && length7 == 1) return close_code::protocol_error;
      return 0;
    default:
      // §5.2: 0x3–0x7 and 0xB–0xF are reserved.
      return close_code::protocol_error;
  }
}

// Takes the frame whose header was just read (and passed check_first_bytes) and decides
// how its payload is read; `available` is how much of the input follows the header.
std::uint16_t MessageReader::start_frame(const FrameHeader& header,
                                         std::size_t available) noexcept {
  opcode_ = header.opcode;
  fin_ = header.fin;
  mask_ = header.mask;
  frame_length_ = frame_remaining_ = header.payload_length;
  in_place_ = false;

  if (is_control(opcode_)) {
    in_place_ = frame_length_ <= available;
    return 0;
  }
  const bool first = opcode_ != Opcode::continuation;
  const bool compressed = first ? header.rsv1 : compressed_;
  // §10.4: refuse an oversized message from its header, before buffering any of it.
  // A compressed message can only be measured as it is inflated (take_payload).
  // message_ holds this message alone here, and never more than the limit.
  if (!compressed && frame_length_ > options_.max_message_size - message_.size())
    return close_code::message_too_big;
  if (first) {
    if (fin_ && !compressed && frame_length_ <= available) {
      in_place_ = true;
      return 0;
    }
    message_kind_ = opcode_ == Opcode::text ? Message::text : Message::binary;
    compressed_ = compressed;
  }
  return 0;
}

// One piece of the current frame's payload, unmasked in place and then validated,
// inflated or kept.
std::uint16_t MessageReader::take_payload(std::byte* data, std::size_t size) {
  if (options_.role == Role::server) mask_bytes({data, size}, mask_, frame_length_ - frame_remaining_);
  frame_remaining_ -= size;
  const std::string_view piece = as_chars(data, size);

  if (is_control(opcode_)) {
    message_.append(piece);  // at most 125 bytes, behind any message in progress
    return 0;
  }
  if (compressed_) {
    const std::size_t old_size = message_.size();
    return check_inflated(options_.inflater->inflate(piece, message_, options_.max_message_size),
                          old_size);
  }
  // §8.1, failing fast: check text as it arrives, before keeping it.
  if (message_kind_ == Message::text && !utf8_.feed(piece)) return close_code::invalid_payload;
  message_.append(piece);
  return 0;
}

// After the inflater appended to message_ from `old_size` on: map its result to a close
// code and check the new text as it is produced.
std::uint16_t MessageReader::check_inflated(PayloadInflater::Result result,
                                            std::size_t old_size) noexcept {
  switch (result) {
    case PayloadInflater::Result::ok: break;
    // RFC 7692 §8: data that does not inflate is invalid payload data.
    case PayloadInflater::Result::corrupt: return close_code::invalid_payload;
    case PayloadInflater::Result::too_big: return close_code::message_too_big;
  }
  // The inflater promises to stop at the limit; do not depend on it.
  if (message_.size() > options_.max_message_size) return close_code::message_too_big;
  if (message_kind_ == Message::text &&
      !utf8_.feed(std::string_view(message_).substr(old_size)))
    return close_code::invalid_payload;
  return 0;
}

// The current frame's payload has been read in full, through the slow path.
std::uint16_t MessageReader::end_frame(Handler& handler) {
  if (is_control(opcode_)) {
    // The control payload sits behind the message in progress; deliver it, then cut it
    // off again.
    const std::size_t start = message_.size() - static_cast<std::size_t>(frame_length_);
    if (auto code = deliver_control(std::string_view(message_).substr(start), handler))
      return code;
    message_.resize(start);
    return 0;
  }
  state_ = State::header;
  if (!fin_) return 0;
  if (compressed_) {
    // RFC 7692 §7.2.2: the sender removed the final empty block's tail.
    const std::size_t old_size = message_.size();
    if (auto code = check_inflated(options_.inflater->finish(message_, options_.max_message_size),
                                   old_size))
      return code;
  }
  // §8.1: the message may not end inside a character.
  if (message_kind_ == Message::text && !utf8_.complete()) return close_code::invalid_payload;
  handler.on_message(message_, message_kind_ == Message::binary);
  end_message();
  return 0;
}

std::uint16_t MessageReader::deliver_control(std::string_view payload, Handler& handler) {
  switch (opcode_) {
    case Opcode::ping:
      state_ = State::header;  // before the call, so stop() inside it holds
      handler.on_ping(payload);
      return 0;
    case Opcode::pong:
      state_ = State::header;
      handler.on_pong(payload);
      return 0;
    default: {
      // §5.5.1, §7.1.5: an optional two-byte code (a length of 1 was refused with the
      // header), then an optional UTF-8 reason.
      std::uint16_t code = close_code::no_status;
      std::string_view reason;
      if (!payload.empty()) {
        code = static_cast<std::uint16_t>(static_cast<unsigned char>(payload[0]) << 8 |
                                          static_cast<unsigned char>(payload[1]));
        if (!is_valid_close_code(code)) return close_code::protocol_error;
        reason = payload.substr(2);
        if (!core::is_valid_utf8(reason)) return close_code::invalid_payload;
      }
      // §5.5.1: nothing the peer sends after a close frame is read.
      state_ = State::stopped;
      handler.on_close(code, reason);
      return 0;
    }
  }
}

void MessageReader::end_message() noexcept {
  message_kind_ = Message::none;
  compressed_ = false;
  utf8_.reset();
  message_.clear();
  if (message_.capacity() > max_idle_capacity) release(message_);
}

std::uint16_t MessageReader::fail(std::uint16_t code) noexcept {
  state_ = State::failed;
  error_ = code;
  header_size_ = 0;
  release(message_);
  return code;
}

}  // namespace switchboard::ws
