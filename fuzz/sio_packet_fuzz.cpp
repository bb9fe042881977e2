// libFuzzer target for the Socket.IO packet codec (sio/codec/packet.hpp). Besides the
// sanitizers, it checks what the codec promises:
//   - decode_text and the Decoder agree; a decoded header is well formed (a namespace
//     starting with '/' without ',', valid UTF-8; an id below 2^53; an attachment count
//     from 1 to the limit exactly for the binary types);
//   - the Decoder follows a model of the exchange (a text part, then exactly its count
//     of binary messages; anything else is bad_attachment_count) and completes a binary
//     packet exactly when check_attachments accepts it;
//   - decode → encode → decode gives the same packet, numbers compared as JavaScript
//     holds them (1.0 and 1 are one number; ±Infinity is written as null, as
//     JSON.stringify does, and may then fail the payload rules as it would in Node), and
//     encoding that again gives the same bytes; append_text appends what encode_text
//     returns; the text is valid UTF-8;
//   - any string, valid UTF-8 or not, encodes to valid UTF-8 that decodes to the same
//     string (or to its U+FFFD-repaired form), and any double to the text that reads back
//     as the same double.
//
// Input layout:
//   byte 0  mode: 0 one text part; 1 a sequence of messages separated by "\xff\xfe" (a
//           message starting with 'B' is binary, the rest of it the bytes; any other is
//           text); 2 a string to encode; 3 doubles to encode (8 bytes each).
//   byte 1  max_attachments (255: the default, else the byte mod 16).
//   byte 2  max_json_depth (255: the default, else the byte mod 64).
//   rest    the input of the mode.

#include <boost/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.hpp"
#include "sio/codec/packet.hpp"

namespace {

using namespace switchboard;
using sio::DecodeError;
using sio::Decoder;
using sio::Packet;
using sio::PacketType;
namespace json = boost::json;

// A failed check is a crash, so libFuzzer keeps the input.
void check(bool ok) {
  if (!ok) std::abort();
}

bool is_binary(PacketType t) { return t == PacketType::binary_event || t == PacketType::binary_ack; }

double as_double(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64: return static_cast<double>(v.get_int64());
    case json::kind::uint64: return static_cast<double>(v.get_uint64());
    default: return v.get_double();
  }
}

bool has_non_finite(const json::value& v) {
  if (v.is_double()) return !std::isfinite(v.get_double());
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a)
      if (has_non_finite(e)) return true;
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o)
      if (has_non_finite(kv.value())) return true;
  }
  return false;
}

// Equal as JavaScript sees the values after a trip through JSON text.
bool js_equal(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (!a.is_double() && !b.is_double()) return a == b;  // exact integers, int64 or uint64
    return as_double(a) == as_double(b);                  // -0 == 0, and ±Infinity itself
  }
  if (a.is_double() && !std::isfinite(a.get_double())) return b.is_null();  // JSON.stringify's null
  if (a.kind() != b.kind()) return false;
  if (const auto* x = a.if_array()) {
    const auto& y = b.get_array();
    if (x->size() != y.size()) return false;
    for (std::size_t i = 0; i < x->size(); ++i)
      if (!js_equal((*x)[i], y[i])) return false;
    return true;
  }
  if (const auto* x = a.if_object()) {
    const auto& y = b.get_object();
    if (x->size() != y.size()) return false;
    for (const auto& kv : *x) {
      const json::value* other = y.if_contains(kv.key());
      if (!other || !js_equal(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

bool same_packet(const Packet& a, const Packet& b) {
  return a.type == b.type && a.nsp == b.nsp && a.id == b.id && js_equal(a.data, b.data) && a.attachments == b.attachments;
}

void check_header(const sio::DecodedHeader& h, const sio::DecodeLimits& limits) {
  const Packet& p = h.packet;
  check(!p.nsp.empty() && p.nsp.front() == '/' && p.nsp.find(',') == std::string::npos);
  check(core::is_valid_utf8(p.nsp));
  check(!p.id || *p.id <= (std::uint64_t{1} << 53) - 1);
  check(p.attachments.empty());
  if (is_binary(p.type))
    check(h.attachments_expected >= 1 && h.attachments_expected <= limits.max_attachments);
  else
    check(h.attachments_expected == 0);
}

// Encodes `p`, decodes the text (and its attachments) again, and compares.
void check_round_trip(const Packet& p, const sio::DecodeLimits& limits) {
  const std::string text = sio::encode_text(p);
  check(core::is_valid_utf8(text));
  std::string appended = "4";
  sio::append_text(appended, p);
  check(appended.size() == text.size() + 1 && std::string_view(appended).substr(1) == text);

  Decoder again(limits);
  auto status = again.add_text(text);
  for (const auto& a : p.attachments) {
    if (status != Decoder::Status::need_attachments) break;
    status = again.add_binary(a);
  }
  if (status != Decoder::Status::complete) {
    // Only a value JSON cannot hold (±Infinity, written as null) may change a packet.
    check(has_non_finite(p.data));
    return;
  }
  check(same_packet(p, again.packet()));
  check(sio::encode_text(again.packet()) == text);
}

std::string attachment(std::size_t i) { return "att" + std::to_string(i); }

void fuzz_text(std::string_view text, const sio::DecodeLimits& limits) {
  sio::DecodedHeader h;
  const DecodeError error = sio::decode_text(text, limits, h);
  Decoder decoder(limits);
  const auto status = decoder.add_text(text);
  check(decoder.error() == error);
  if (error != DecodeError::none) {
    check(status == Decoder::Status::error && decoder.idle());
    check(error != DecodeError::illegal_attachments);  // only once attachments are in
    return;
  }
  check_header(h, limits);
  check(same_packet(h.packet, decoder.packet()));
  if (h.attachments_expected == 0) {
    check(status == Decoder::Status::complete && decoder.idle());
    check(sio::check_attachments(h.packet) == DecodeError::none);
    check_round_trip(decoder.packet(), limits);
    return;
  }
  check(status == Decoder::Status::need_attachments && !decoder.idle());
  Packet expected = h.packet;
  for (std::size_t i = 0; i < h.attachments_expected; ++i) expected.attachments.push_back(attachment(i));
  const DecodeError placeholders = sio::check_attachments(expected);
  check(placeholders == DecodeError::none || placeholders == DecodeError::illegal_attachments);
  Decoder::Status s = status;
  for (std::size_t i = 0; i < h.attachments_expected; ++i) {
    check(s == Decoder::Status::need_attachments);
    s = decoder.add_binary(attachment(i));
  }
  check(decoder.idle());
  if (placeholders != DecodeError::none) {
    check(s == Decoder::Status::error && decoder.error() == placeholders);
    return;
  }
  check(s == Decoder::Status::complete);
  check(same_packet(expected, decoder.packet()));
  check_round_trip(decoder.packet(), limits);
}

void fuzz_sequence(std::string_view input, const sio::DecodeLimits& limits) {
  constexpr std::string_view separator = "\xff\xfe";
  Decoder decoder(limits);
  // The model: the header being completed and how many attachments it still awaits.
  Packet pending;
  std::size_t awaited = 0;
  std::size_t messages = 0;
  while (messages++ < 64) {
    std::size_t end = input.find(separator);
    std::string_view message = input.substr(0, end);
    if (!message.empty() && message.front() == 'B') {
      auto status = decoder.add_binary(message.substr(1));
      if (awaited == 0) {
        check(status == Decoder::Status::error && decoder.error() == DecodeError::bad_attachment_count);
      } else {
        pending.attachments.emplace_back(message.substr(1));
        if (--awaited > 0) {
          check(status == Decoder::Status::need_attachments);
        } else {
          DecodeError placeholders = sio::check_attachments(pending);
          if (placeholders == DecodeError::none) {
            check(status == Decoder::Status::complete && same_packet(pending, decoder.packet()));
            check_round_trip(decoder.packet(), limits);
          } else {
            check(status == Decoder::Status::error && decoder.error() == placeholders);
          }
        }
      }
    } else {
      auto status = decoder.add_text(message);
      if (awaited != 0) {
        check(status == Decoder::Status::error && decoder.error() == DecodeError::bad_attachment_count);
        awaited = 0;
      } else {
        sio::DecodedHeader h;
        DecodeError error = sio::decode_text(message, limits, h);
        check(decoder.error() == error);
        if (error != DecodeError::none) {
          check(status == Decoder::Status::error);
        } else if (h.attachments_expected == 0) {
          check(status == Decoder::Status::complete && same_packet(h.packet, decoder.packet()));
          check_round_trip(decoder.packet(), limits);
        } else {
          check(status == Decoder::Status::need_attachments);
          pending = std::move(h.packet);
          awaited = h.attachments_expected;
        }
      }
    }
    check(decoder.idle() == (awaited == 0));
    if (end == std::string_view::npos) break;
    input.remove_prefix(end + separator.size());
  }
}

// Any bytes as a string: the text is valid UTF-8, and reads back as the same string when
// the bytes were UTF-8 (else as the repaired string, which then stays as it is).
void fuzz_string(std::string_view bytes, const sio::DecodeLimits& limits) {
  json::object members;
  members[bytes] = json::string(bytes);
  Packet p;
  p.type = PacketType::event;
  p.nsp = "/n";
  p.id = bytes.size();
  p.data = json::array{"e", json::string(bytes), std::move(members)};
  const std::string text = sio::encode_text(p);
  check(core::is_valid_utf8(text));
  sio::DecodeLimits deep = limits;
  deep.max_json_depth = 2;
  Decoder decoder(deep);
  check(decoder.add_text(text) == Decoder::Status::complete);
  const Packet& back = decoder.packet();
  const auto& a = back.data.get_array();
  const std::string s(a[1].get_string());  // a copy: the next add_text replaces the packet
  const auto& o = a[2].get_object();
  check(o.size() == 1 && o.begin()->key() == s && o.begin()->value().get_string() == s);
  if (core::is_valid_utf8(bytes)) {
    check(s == bytes);
    check(same_packet(p, back));
  } else {
    check(core::is_valid_utf8(s));
  }
  check(sio::encode_text(back) == text);

  // As a CONNECT_ERROR's message.
  Packet error;
  error.type = PacketType::connect_error;
  error.data = json::string(bytes);
  const std::string error_text = sio::encode_text(error);
  check(decoder.add_text(error_text) == Decoder::Status::complete);
  check(decoder.packet().data.get_string() == s);
}

// Any doubles: each reads back as the same number (as JavaScript holds it).
void fuzz_doubles(std::string_view bytes, const sio::DecodeLimits&) {
  json::array values;
  for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    double d;
    std::memcpy(&d, bytes.data() + i, 8);
    values.emplace_back(d);
  }
  Packet p;
  p.type = PacketType::ack;
  p.data = values;
  const std::string text = sio::encode_text(p);
  Decoder decoder;
  check(decoder.add_text(text) == Decoder::Status::complete);
  const auto& back = decoder.packet().data.get_array();
  check(back.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    double d = values[i].get_double();
    if (!std::isfinite(d))
      check(back[i].is_null());
    else
      check(back[i].is_number() && as_double(back[i]) == d);
  }
  check(sio::encode_text(decoder.packet()) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  sio::DecodeLimits limits;
  if (data[1] != 255) limits.max_attachments = data[1] % 16;
  if (data[2] != 255) limits.max_json_depth = data[2] % 64;
  // libFuzzer's buffer is exactly the input, so ASan sees any read past its end.
  std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  switch (data[0] & 3) {
    case 0: fuzz_text(input, limits); break;
    case 1: fuzz_sequence(input, limits); break;
    case 2: fuzz_string(input, limits); break;
    case 3: fuzz_doubles(input, limits); break;
  }
  return 0;
}
