// libFuzzer target for the msgpack parser (sio/codec/msgpack.hpp). Besides the
// sanitizers, it checks what the codec promises:
//   - a decoded packet is well formed: a type of the protocol, a namespace and every
//     string valid UTF-8, attachments only on binary_event/binary_ack and at least one
//     there, each placeholder naming one;
//   - decode → encode → decode gives the same packet, numbers compared as JavaScript
//     holds them (1.0 and 1 are one number, NaN is NaN), and encoding that again gives
//     the same bytes — where the data holds no object that only looks like a
//     placeholder (a client may send {"_placeholder":true,"num":0} as plain data, and
//     next to real binary it cannot be told apart);
//   - nothing is decoded deeper than the limit.
//
// Input layout:
//   byte 0  max_json_depth (255: the default, else the byte mod 64).
//   rest    one msgpack message.

#include <boost/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.hpp"
#include "sio/codec/msgpack.hpp"

namespace {

using namespace switchboard;
using sio::DecodeError;
using sio::Packet;
using sio::PacketType;
namespace json = boost::json;

// A failed check is a crash, so libFuzzer keeps the input.
void check(bool ok) {
  if (!ok) std::abort();
}

double as_double(const json::value& v) {
  switch (v.kind()) {
    case json::kind::int64: return static_cast<double>(v.get_int64());
    case json::kind::uint64: return static_cast<double>(v.get_uint64());
    default: return v.get_double();
  }
}

// Equal as JavaScript numbers and values; msgpack carries NaN and ±Infinity as they are.
bool same_value(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (!a.is_double() && !b.is_double()) return a == b;
    const double x = as_double(a), y = as_double(b);
    return x == y || (std::isnan(x) && std::isnan(y));
  }
  if (a.kind() != b.kind()) return false;
  if (const auto* x = a.if_array()) {
    const auto& y = b.get_array();
    if (x->size() != y.size()) return false;
    for (std::size_t i = 0; i < x->size(); ++i)
      if (!same_value((*x)[i], y[i])) return false;
    return true;
  }
  if (const auto* x = a.if_object()) {
    const auto& y = b.get_object();
    if (x->size() != y.size()) return false;
    for (const auto& kv : *x) {
      const json::value* other = y.if_contains(kv.key());
      if (!other || !same_value(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

bool looks_like_placeholder(const json::object& o) {
  const json::value* flag = o.if_contains("_placeholder");
  return flag && flag->is_bool() && flag->get_bool();
}

// Walks the data: strings valid UTF-8, and the placeholders in order. `sequential`
// stays true while the placeholders are exactly 0, 1, 2, ... — the codec's own.
void walk(const json::value& v, std::size_t& placeholders, bool& sequential, std::size_t attachments) {
  if (const auto* s = v.if_string()) {
    check(core::is_valid_utf8(std::string_view(*s)));
  } else if (const auto* a = v.if_array()) {
    for (const auto& e : *a) walk(e, placeholders, sequential, attachments);
  } else if (const auto* o = v.if_object()) {
    for (const auto& kv : *o) check(core::is_valid_utf8(std::string_view(kv.key())));
    if (looks_like_placeholder(*o)) {
      const json::value* num = o->if_contains("num");
      const bool own = o->size() == 2 && num && num->is_int64() &&
                       num->get_int64() == static_cast<std::int64_t>(placeholders);
      sequential = sequential && own;
      ++placeholders;
    }
    for (const auto& kv : *o) walk(kv.value(), placeholders, sequential, attachments);
  }
}

bool same_packet(const Packet& a, const Packet& b) {
  return a.type == b.type && a.nsp == b.nsp && a.id == b.id && same_value(a.data, b.data) &&
         a.attachments == b.attachments;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  sio::DecodeLimits limits;
  if (data[0] != 255) limits.max_json_depth = data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);

  Packet packet;
  if (sio::decode_msgpack(bytes, limits, packet) != DecodeError::none) return 0;
  check(static_cast<int>(packet.type) <= static_cast<int>(PacketType::binary_ack));
  check(core::is_valid_utf8(packet.nsp));
  const bool binary = packet.type == PacketType::binary_event || packet.type == PacketType::binary_ack;
  check(binary == !packet.attachments.empty());
  check(sio::is_payload_valid(packet.type, packet.data.is_null() ? nullptr : &packet.data));

  std::size_t placeholders = 0;
  bool sequential = true;
  walk(packet.data, placeholders, sequential, packet.attachments.size());

  // An ext decodes as [type, bytes]: one array deeper than the ext was.
  sio::DecodeLimits relaxed = limits;
  relaxed.max_json_depth += 2;
  const std::string encoded = sio::encode_msgpack(packet);
  Packet again;
  check(sio::decode_msgpack(encoded, relaxed, again) == DecodeError::none);
  if (sequential && placeholders == packet.attachments.size()) {
    check(same_packet(packet, again));
    check(sio::encode_msgpack(again) == encoded);
  }
  std::string appended = "prefix";
  sio::append_msgpack(appended, packet);
  check(appended == "prefix" + encoded);
  return 0;
}
