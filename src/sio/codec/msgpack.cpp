#include "sio/codec/msgpack.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>

#include "core/utf8.hpp"

namespace switchboard::sio {
namespace json = boost::json;

namespace {

// --- decoding ---------------------------------------------------------------------------

// JSON.stringify(new Date(ms)): "2026-11-26T10:46:24.000Z", the year widened to ±YYYYYY
// outside 0..9999; null past the range of a Date (±8.64e15 ms).
json::value date_json(double ms) {
  if (!std::isfinite(ms) || std::fabs(ms) > 8.64e15) return nullptr;
  const auto total = static_cast<std::int64_t>(ms);
  std::int64_t days = total / 86'400'000;
  std::int64_t in_day = total % 86'400'000;
  if (in_day < 0) {
    in_day += 86'400'000;
    --days;
  }
  // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
  const std::int64_t z = days + 719'468;
  const std::int64_t era = (z >= 0 ? z : z - 146'096) / 146'097;
  const std::int64_t doe = z - era * 146'097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = yoe + era * 400 + (month <= 2);
  char text[40];
  const char* year_format = year >= 0 && year <= 9999 ? "%04lld" : (year < 0 ? "-%06lld" : "+%06lld");
  int n = std::snprintf(text, sizeof text, year_format, static_cast<long long>(year < 0 ? -year : year));
  std::snprintf(text + n, sizeof text - n, "-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(month), static_cast<long long>(day),
                static_cast<long long>(in_day / 3'600'000), static_cast<long long>(in_day / 60'000 % 60),
                static_cast<long long>(in_day / 1000 % 60), static_cast<long long>(in_day % 1000));
  return json::string(text);
}

json::value placeholder(std::size_t num) {
  return json::object{{"_placeholder", true}, {"num", num}};
}

class Reader {
 public:
  Reader(std::string_view bytes, std::size_t max_depth, std::vector<std::string>& binaries)
      : p_(reinterpret_cast<const unsigned char*>(bytes.data())),
        end_(p_ + bytes.size()),
        max_depth_(max_depth),
        binaries_(binaries) {}

  bool at_end() const noexcept { return p_ == end_; }

  // One value; false if the bytes are not msgpack (or not one this codec takes).
  bool value(json::value& out, std::size_t depth = 0) {
    if (depth > max_depth_) return false;
    std::uint8_t prefix;
    if (!byte(prefix)) return false;
    if (prefix < 0x80) return out = std::int64_t{prefix}, true;
    if (prefix < 0x90) return map(prefix & 0x0f, out, depth);
    if (prefix < 0xa0) return array(prefix & 0x0f, out, depth);
    if (prefix < 0xc0) return str(prefix & 0x1f, out);
    if (prefix >= 0xe0) return out = std::int64_t{static_cast<std::int8_t>(prefix)}, true;
    std::uint64_t n;
    switch (prefix) {
      case 0xc0: return out = nullptr, true;
      case 0xc2: return out = false, true;
      case 0xc3: return out = true, true;
      case 0xc4: return uint(1, n) && bin(n, out);
      case 0xc5: return uint(2, n) && bin(n, out);
      case 0xc6: return uint(4, n) && bin(n, out);
      case 0xc7: return uint(1, n) && ext(n, true, out);
      case 0xc8: return uint(2, n) && ext(n, true, out);
      case 0xc9: return uint(4, n) && ext(n, true, out);
      case 0xca: {
        if (!uint(4, n)) return false;
        float f;
        const auto bits = static_cast<std::uint32_t>(n);
        std::memcpy(&f, &bits, sizeof f);
        return out = static_cast<double>(f), true;
      }
      case 0xcb: {
        if (!uint(8, n)) return false;
        double d;
        std::memcpy(&d, &n, sizeof d);
        return out = d, true;
      }
      case 0xcc: return uint(1, n) && (out = static_cast<std::int64_t>(n), true);
      case 0xcd: return uint(2, n) && (out = static_cast<std::int64_t>(n), true);
      case 0xce: return uint(4, n) && (out = static_cast<std::int64_t>(n), true);
      case 0xcf:
        if (!uint(8, n)) return false;
        if (n <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
          out = static_cast<std::int64_t>(n);
        } else {
          out = n;
        }
        return true;
      case 0xd0: return uint(1, n) && (out = std::int64_t{static_cast<std::int8_t>(n)}, true);
      case 0xd1: return uint(2, n) && (out = std::int64_t{static_cast<std::int16_t>(n)}, true);
      case 0xd2: return uint(4, n) && (out = std::int64_t{static_cast<std::int32_t>(n)}, true);
      case 0xd3: return uint(8, n) && (out = static_cast<std::int64_t>(n), true);
      case 0xd4: return ext(1, false, out);
      case 0xd5: return ext(2, false, out);
      case 0xd6: return ext(4, false, out);
      case 0xd7: return ext(8, false, out);
      case 0xd8: return ext(16, false, out);
      case 0xd9: return uint(1, n) && str(n, out);
      case 0xda: return uint(2, n) && str(n, out);
      case 0xdb: return uint(4, n) && str(n, out);
      case 0xdc: return uint(2, n) && array(n, out, depth);
      case 0xdd: return uint(4, n) && array(n, out, depth);
      case 0xde: return uint(2, n) && map(n, out, depth);
      case 0xdf: return uint(4, n) && map(n, out, depth);
      default: return false;  // 0xc1, never used
    }
  }

 private:
  std::size_t left() const noexcept { return static_cast<std::size_t>(end_ - p_); }

  bool byte(std::uint8_t& out) {
    if (p_ == end_) return false;
    out = *p_++;
    return true;
  }
  // A big-endian unsigned integer of `size` bytes.
  bool uint(std::size_t size, std::uint64_t& out) {
    if (left() < size) return false;
    out = 0;
    for (std::size_t i = 0; i < size; ++i) out = out << 8 | *p_++;
    return true;
  }
  bool take(std::uint64_t n, std::string_view& out) {
    if (left() < n) return false;
    out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<std::size_t>(n));
    p_ += n;
    return true;
  }
  bool str(std::uint64_t n, json::value& out) {
    std::string_view text;
    if (!take(n, text) || !core::is_valid_utf8(text)) return false;
    out = json::string(text);
    return true;
  }
  bool bin(std::uint64_t n, json::value& out) {
    std::string_view bytes;
    if (!take(n, bytes)) return false;
    out = placeholder(binaries_.size());
    binaries_.emplace_back(bytes);
    return true;
  }
  // The type byte, then `n` bytes of data; `variable`: ext 8/16/32, else fixext.
  bool ext(std::uint64_t n, bool variable, json::value& out) {
    std::uint64_t type_bits;
    std::string_view data;
    if (!uint(1, type_bits) || !take(n, data)) return false;
    const auto type = static_cast<std::int8_t>(type_bits);
    if (type == 0 && !variable && n == 1) return out = nullptr, true;  // undefined
    if (type == 0 && !variable && n == 8) {  // a Date: int32 high, uint32 low
      const auto* d = reinterpret_cast<const unsigned char*>(data.data());
      std::uint32_t hi = 0, lo = 0;
      for (int i = 0; i < 4; ++i) hi = hi << 8 | d[i];
      for (int i = 4; i < 8; ++i) lo = lo << 8 | d[i];
      out = date_json(static_cast<double>(static_cast<std::int32_t>(hi)) * 4294967296.0 + lo);
      return true;
    }
    json::value bytes = placeholder(binaries_.size());
    binaries_.emplace_back(data);
    // An ArrayBuffer is a variable-length ext of type 0; notepack.io gives any other
    // ext as [type, bytes].
    if (type == 0 && variable) return out = std::move(bytes), true;
    out = json::array{type, std::move(bytes)};
    return true;
  }

  bool array(std::uint64_t n, json::value& out, std::size_t depth) {
    if (n > left()) return false;  // every element takes a byte at least
    json::array a;
    a.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      if (!value(a.emplace_back(nullptr), depth + 1)) return false;
    }
    out = std::move(a);
    return true;
  }
  bool map(std::uint64_t n, json::value& out, std::size_t depth) {
    if (n > left() / 2) return false;  // a key and a value, a byte each at least
    json::object o;
    o.reserve(static_cast<std::size_t>(n));
    for (std::uint64_t i = 0; i < n; ++i) {
      json::value key;
      if (!value(key, depth + 1)) return false;
      std::string name;
      if (key.is_string()) {
        name = key.get_string();
      } else if (key.is_int64()) {
        name = std::to_string(key.get_int64());
      } else if (key.is_uint64()) {
        name = std::to_string(key.get_uint64());
      } else {
        return false;
      }
      json::value v;
      if (!value(v, depth + 1)) return false;
      o[name] = std::move(v);  // a repeated key: the last wins, as in JavaScript
    }
    out = std::move(o);
    return true;
  }

  const unsigned char* p_;
  const unsigned char* end_;
  std::size_t max_depth_;
  std::vector<std::string>& binaries_;
};

std::optional<std::uint64_t> whole_number(const json::value& v) {
  if (v.is_int64()) {
    if (v.get_int64() < 0) return std::nullopt;
    return static_cast<std::uint64_t>(v.get_int64());
  }
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_double()) {
    const double d = v.get_double();
    if (d >= 0 && d < 9007199254740992.0 && std::floor(d) == d) return static_cast<std::uint64_t>(d);
  }
  return std::nullopt;
}

// --- encoding ---------------------------------------------------------------------------

class Writer {
 public:
  Writer(std::string& out, const std::vector<std::string>* binaries) : out_(out), binaries_(binaries) {}

  void value(const json::value& v) {
    switch (v.kind()) {
      case json::kind::null: return byte(0xc0);
      case json::kind::bool_: return byte(v.get_bool() ? 0xc3 : 0xc2);
      case json::kind::int64: return integer(v.get_int64());
      case json::kind::uint64: return unsigned_integer(v.get_uint64());
      case json::kind::double_: return number(v.get_double());
      case json::kind::string: return str(v.get_string());
      case json::kind::array: {
        const auto& a = v.get_array();
        header(a.size(), 0x90, 0x0f, 0xdc, 0xdd);
        for (const auto& e : a) value(e);
        return;
      }
      case json::kind::object: {
        const auto& o = v.get_object();
        if (const std::string* bytes = binary_of(o)) return bin(*bytes);
        header(o.size(), 0x80, 0x0f, 0xde, 0xdf);
        for (const auto& kv : o) {
          str(kv.key());
          value(kv.value());
        }
        return;
      }
    }
  }

  void str(std::string_view s) {
    if (s.size() < 32) {
      byte(0xa0 | static_cast<std::uint8_t>(s.size()));
    } else if (s.size() < 0x100) {
      byte(0xd9);
      be(s.size(), 1);
    } else if (s.size() < 0x10000) {
      byte(0xda);
      be(s.size(), 2);
    } else {
      byte(0xdb);
      be(s.size(), 4);
    }
    out_.append(s);
  }

  void unsigned_integer(std::uint64_t n) {
    if (n < 0x80) return byte(static_cast<std::uint8_t>(n));
    if (n < 0x100) return byte(0xcc), be(n, 1);
    if (n < 0x10000) return byte(0xcd), be(n, 2);
    if (n < 0x100000000) return byte(0xce), be(n, 4);
    byte(0xcf);
    be(n, 8);
  }

 private:
  void byte(std::uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void be(std::uint64_t n, int size) {
    for (int shift = 8 * (size - 1); shift >= 0; shift -= 8) byte(static_cast<std::uint8_t>(n >> shift));
  }
  void header(std::size_t n, std::uint8_t fix, std::size_t fix_max, std::uint8_t b16, std::uint8_t b32) {
    if (n <= fix_max) return byte(fix | static_cast<std::uint8_t>(n));
    if (n < 0x10000) return byte(b16), be(n, 2);
    byte(b32);
    be(n, 4);
  }
  void integer(std::int64_t n) {
    if (n >= 0) return unsigned_integer(static_cast<std::uint64_t>(n));
    const auto bits = static_cast<std::uint64_t>(n);
    if (n >= -32) return byte(static_cast<std::uint8_t>(bits));
    if (n >= -0x80) return byte(0xd0), be(bits, 1);
    if (n >= -0x8000) return byte(0xd1), be(bits, 2);
    if (n >= -0x80000000LL) return byte(0xd2), be(bits, 4);
    byte(0xd3);
    be(bits, 8);
  }
  // A JavaScript number: whole ones as integers (-0 as 0), like notepack.io; past 2^53
  // in size a double stays one, so that it decodes to the same number.
  void number(double d) {
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) {
      return integer(static_cast<std::int64_t>(d));
    }
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    byte(0xcb);
    be(bits, 8);
  }
  void bin(std::string_view bytes) {
    if (bytes.size() < 0x100) {
      byte(0xc4);
      be(bytes.size(), 1);
    } else if (bytes.size() < 0x10000) {
      byte(0xc5);
      be(bytes.size(), 2);
    } else {
      byte(0xc6);
      be(bytes.size(), 4);
    }
    out_.append(bytes);
  }
  // The attachment a placeholder names, in a packet that has attachments.
  const std::string* binary_of(const json::object& o) const {
    if (!binaries_) return nullptr;
    const json::value* flag = o.if_contains("_placeholder");
    if (!flag || !flag->is_bool() || !flag->get_bool()) return nullptr;
    const json::value* num = o.if_contains("num");
    auto index = num ? whole_number(*num) : std::nullopt;
    if (!index || *index >= binaries_->size()) return nullptr;
    return &(*binaries_)[*index];
  }

  std::string& out_;
  const std::vector<std::string>* binaries_;
};

}  // namespace

DecodeError decode_msgpack(std::string_view bytes, const DecodeLimits& limits, Packet& out) {
  if (bytes.empty()) return DecodeError::empty;
  std::vector<std::string> binaries;
  json::value root;
  Reader reader(bytes, limits.max_json_depth + 1, binaries);  // +1: the packet's own map
  if (!reader.value(root) || !reader.at_end()) return DecodeError::bad_json;
  json::object* fields = root.if_object();
  if (!fields) return DecodeError::bad_json;

  const json::value* type = fields->if_contains("type");
  auto type_number = type ? whole_number(*type) : std::nullopt;
  if (!type_number || *type_number > static_cast<std::uint64_t>(PacketType::connect_error)) {
    return DecodeError::unknown_type;
  }
  const json::value* nsp = fields->if_contains("nsp");
  if (!nsp || !nsp->is_string()) return DecodeError::bad_namespace;
  std::optional<std::uint64_t> id;
  if (const json::value* given = fields->if_contains("id"); given && !given->is_null()) {
    id = whole_number(*given);
    if (!id) return DecodeError::bad_ack_id;
  }

  Packet packet;
  packet.type = static_cast<PacketType>(*type_number);
  packet.nsp = nsp->get_string();
  packet.id = id;
  json::value* data = fields->if_contains("data");
  if (data && data->is_null() && packet.type != PacketType::event && packet.type != PacketType::ack) {
    data = nullptr;  // undefined, as notepack.io writes a missing field's value
  }
  if (!is_payload_valid(packet.type, data)) return DecodeError::invalid_payload;
  if (data) packet.data = std::move(*data);
  if (!binaries.empty()) {
    // Binary anywhere else than in an event or an ack's arguments means nothing here.
    if (packet.type == PacketType::event) {
      packet.type = PacketType::binary_event;
    } else if (packet.type == PacketType::ack) {
      packet.type = PacketType::binary_ack;
    } else {
      return DecodeError::invalid_payload;
    }
    packet.attachments = std::move(binaries);
  }
  out = std::move(packet);
  return DecodeError::none;
}

void append_msgpack(std::string& out, const Packet& packet) {
  const bool binary = packet.type == PacketType::binary_event || packet.type == PacketType::binary_ack;
  Writer writer(out, binary ? &packet.attachments : nullptr);
  PacketType type = packet.type;
  if (type == PacketType::binary_event) type = PacketType::event;
  if (type == PacketType::binary_ack) type = PacketType::ack;
  const bool has_data = !packet.data.is_null();
  out.push_back(static_cast<char>(0x80 | (2 + has_data + packet.id.has_value())));
  writer.str("type");
  writer.unsigned_integer(static_cast<std::uint64_t>(type));
  if (has_data) {
    writer.str("data");
    writer.value(packet.data);
  }
  writer.str("nsp");
  writer.str(packet.nsp);
  if (packet.id) {
    writer.str("id");
    writer.unsigned_integer(*packet.id);
  }
}

std::string encode_msgpack(const Packet& packet) {
  std::string out;
  append_msgpack(out, packet);
  return out;
}

}  // namespace switchboard::sio
