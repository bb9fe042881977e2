#include "sio/codec/packet.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>
#include <utility>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include "core/utf8.hpp"

// Socket.IO packet codec. Facts from docs/socket.io-protocol/v5-current.md ("Packet
// encoding") and, where the document says nothing, from the reference parser
// (socket.io-parser 4.2: Decoder#decodeString, Decoder.isPayloadValid, reconstructPacket,
// Encoder#encodeAsString). Where this codec differs from the reference, the reason is
// next to the rule. The JSON side follows JavaScript's JSON.parse and JSON.stringify,
// since the peer is JavaScript: see "JSON in" and "JSON out" below.

namespace switchboard::sio {
namespace json = boost::json;
namespace {

// Number.MAX_SAFE_INTEGER: the largest ack id a JavaScript peer holds exactly.
constexpr std::uint64_t max_ack_id = (std::uint64_t{1} << 53) - 1;

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool is_binary(PacketType type) noexcept { return type == PacketType::binary_event || type == PacketType::binary_ack; }

// `digits` as a decimal number no greater than `max`; nullopt when it is empty, holds
// anything but ASCII digits, or is greater. Leading zeros are fine (Number("007") is 7).
std::optional<std::uint64_t> parse_decimal(std::string_view digits, std::uint64_t max) noexcept {
  if (digits.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : digits) {
    if (!is_digit(c)) return std::nullopt;
    auto d = static_cast<std::uint64_t>(c - '0');
    if (d > max || value > (max - d) / 10) return std::nullopt;
    value = value * 10 + d;
  }
  return value;
}

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// --- JSON in ------------------------------------------------------------------------
// json::parse with two corrections, so that a value reads as JSON.parse reads it:
//
// - Numbers with a fraction or an exponent: Boost.JSON 1.81 converts them with a fast
//   algorithm that is an ulp off for one in ten numbers like Math.random()'s (17
//   significant digits: 0.36130268965844164 reads as 0.3613026896584416), so a relayed
//   number would change on the way; std::from_chars is exact. The parser hands the number's text to the handler, which converts it again.
//   Integers are exact in Boost.JSON (int64 or uint64; past uint64, a double).
// - Lone UTF-16 surrogates: JSON.parse takes "\ud800" (JavaScript strings may hold one;
//   String#slice can cut an emoji's pair in two and JSON.stringify writes the half as
//   such an escape), Boost.JSON 1.81 refuses the whole text. Each lone surrogate escape
//   is read as U+FFFD instead (what TextEncoder makes of one), since a json::string holds
//   UTF-8, which has no surrogates.

// json::parser's handler (boost/json/detail/handler.hpp) with exact doubles.
class ValueHandler {
 public:
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  ValueHandler(unsigned char* buffer, std::size_t size) : stack_(json::storage_ptr(), buffer, size) {}

  json::value release() { return stack_.release(); }
  void reset() { stack_.reset(); }

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    stack_.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_string(s);
    return true;
  }
  // Only when a number is split across writes, which one complete write never does.
  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_.clear();
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code&) {
    std::string_view text(s.data(), s.size());
    if (!number_.empty()) text = number_.append(text);
    double exact = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), exact);
    // Out of range (1e400, 1e-400): Boost.JSON's ±Infinity or ±0 are JSON.parse's too.
    if (ec == std::errc() && end == text.data() + text.size()) d = exact;
    number_.clear();
    stack_.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  json::value_stack stack_;
  std::string number_;
};

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The UTF-16 unit of the escape "\uXXXX" at `text[at]`, or -1 if there is none there.
long unicode_escape_at(std::string_view text, std::size_t at) noexcept {
  if (at + 6 > text.size() || text[at] != '\\' || text[at + 1] != 'u') return -1;
  long unit = 0;
  for (std::size_t k = at + 2; k < at + 6; ++k) {
    int h = hex_value(text[k]);
    if (h < 0) return -1;
    unit = unit * 16 + h;
  }
  return unit;
}

bool is_high_surrogate(long unit) noexcept { return unit >= 0xd800 && unit <= 0xdbff; }
bool is_low_surrogate(long unit) noexcept { return unit >= 0xdc00 && unit <= 0xdfff; }

// `json` with every lone surrogate escape replaced by "\ufffd" (same length), or
// nullopt when it has none, the common case, found by one memchr-like scan for '\'.
// Every backslash starts an escape, in a string or not (outside a string the text is
// invalid anyway, and stays so), so escapes are skipped whole: "\\ud800" is a backslash
// followed by the letters "ud800".
std::optional<std::string> replace_lone_surrogates(std::string_view json) {
  std::optional<std::string> fixed;
  std::size_t at = json.find('\\');
  while (at != std::string_view::npos && at + 1 < json.size()) {
    long unit = unicode_escape_at(json, at);
    std::size_t next = at + 2;
    if (unit >= 0) {
      next = at + 6;
      bool lone = false;
      if (is_high_surrogate(unit)) {
        if (is_low_surrogate(unicode_escape_at(json, next)))
          next += 6;  // a pair
        else
          lone = true;
      } else if (is_low_surrogate(unit)) {
        lone = true;
      }
      if (lone) {
        if (!fixed) fixed.emplace(json);
        fixed->replace(at + 2, 4, "fffd");
      }
    }
    at = json.find('\\', next);
  }
  return fixed;
}

// Parses a whole JSON text as JSON.parse would (see above), nested no deeper than
// `max_depth`; false on any error (syntax, trailing data, depth, invalid UTF-8).
bool parse_json(std::string_view text, std::size_t max_depth, json::value& out) {
  std::optional<std::string> fixed = replace_lone_surrogates(text);
  if (fixed) text = *fixed;
  json::parse_options options;
  options.max_depth = max_depth;
  // The value stack's first 1 KiB is on the C++ stack: small payloads parse with no
  // allocation but the value's own.
  unsigned char temp[1024];
  json::basic_parser<ValueHandler> parser(options, temp, sizeof temp);
  parser.handler().reset();
  json::error_code ec;
  std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec || used != text.size() || !parser.done()) return false;
  out = parser.handler().release();
  return true;
}

// --- payload rules ------------------------------------------------------------------

// socket.io-parser's RESERVED_EVENTS: names with a meaning of their own on one side.
bool is_reserved_event(std::string_view name) noexcept {
  static constexpr std::string_view reserved[] = {"connect",       "connect_error", "disconnect",
                                                  "disconnecting", "newListener",   "removeListener"};
  for (auto r : reserved)
    if (name == r) return true;
  return false;
}

}  // namespace

// Decoder.isPayloadValid, extended to a missing payload (`data` null). The reference
// checks only a payload that is there: it takes "2", "3" and "4" with none. The protocol
// says otherwise (v5-current.md: an EVENT's payload "is mandatory and MUST be a non-empty
// array", an ACK's "is mandatory and MUST be an array"), the Node server then dispatches
// an event with no name, and no Socket.IO sender omits it, so they are refused here.
bool is_payload_valid(PacketType type, const json::value* data) noexcept {
  switch (type) {
    case PacketType::connect: return !data || data->is_object();
    case PacketType::disconnect: return !data;
    case PacketType::connect_error: return data && (data->is_string() || data->is_object());
    case PacketType::event:
    case PacketType::binary_event: {
      if (!data || !data->is_array() || data->get_array().empty()) return false;
      const json::value& name = data->get_array().front();
      if (name.is_number()) return true;  // typeof "number"
      return name.is_string() && !is_reserved_event(std::string_view(name.get_string()));
    }
    case PacketType::ack:
    case PacketType::binary_ack: return data && data->is_array();
  }
  return false;
}

namespace {

// reconstructPacket's index check: a number with 0 <= num < count. The reference also
// takes a fraction (0.5 passes, and the value becomes `undefined`); a placeholder whose
// num names no attachment is refused here, so num must be a whole number (1.0 is one).
bool names_attachment(const json::value* num, std::size_t count) noexcept {
  if (!num) return false;
  switch (num->kind()) {
    case json::kind::int64: return num->get_int64() >= 0 && static_cast<std::uint64_t>(num->get_int64()) < count;
    case json::kind::uint64: return num->get_uint64() < count;
    case json::kind::double_: {
      double d = num->get_double();  // -0 passes, as in JavaScript (-0 >= 0)
      return d >= 0 && d < static_cast<double>(count) && std::floor(d) == d;
    }
    default: return false;
  }
}

// --- JSON out -----------------------------------------------------------------------
// JSON.stringify's output, byte for byte, for every value JSON.parse can make:
//
// - Numbers: integers (int64, uint64) in decimal, as JSON.stringify writes every integer
//   up to 2^53 (and beyond, where JSON.parse of the exact digits gives the same double);
//   doubles as Number#toString (ECMA-262 Number::toString: the shortest digits that read
//   back to the same double, in plain notation from 1e-7 to 1e21 and "1e+21" / "1.5e-7"
//   outside), NaN and ±Infinity as null, -0 as 0. Boost.JSON 1.81's serialize writes
//   "1E0" for 1.0, "1E-1" for 0.1 and "Infinity" (not JSON) for Infinity.
// - Strings: '"', '\' and the controls below 0x20 escaped (\b \t \n \f \r, else \u00xx in
//   lowercase), nothing else: not '/', not U+2028, not non-ASCII. JSON.stringify also
//   escapes lone surrogates; UTF-8 has none, and bytes that are not UTF-8 (a json::string
//   made by C++ code may hold any) are written as U+FFFD, one per maximal subpart
//   (Unicode §3.9, as the WHATWG decoder), so that a text frame stays valid UTF-8.
// - Objects in their own order. (JavaScript puts integer-like keys first, ascending: a
//   Node peer relaying {"b":1,"1":2} writes {"1":2,"b":1}; the value is the same.)
//
// Recursive: a value decoded here is no deeper than max_json_depth, and one built by
// C++ code is as deep as that code made it.

constexpr std::string_view replacement_character = "\xef\xbf\xbd";

// The length of the valid UTF-8 sequence at the start of `s` (non-empty, first byte
// >= 0x80), or minus the length of its maximal subpart (at least 1) when it is not one.
// Unicode Standard table 3-7, "Well-Formed UTF-8 Byte Sequences".
long utf8_sequence(const unsigned char* s, const unsigned char* end) noexcept {
  unsigned char lead = s[0];
  std::size_t length;
  unsigned char low = 0x80, high = 0xbf;  // the second byte's range
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;  // no surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;  // nothing past U+10FFFF
  } else {
    return -1;
  }
  for (std::size_t k = 1; k < length; ++k) {
    if (s + k >= end) return -static_cast<long>(k);
    unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xbf;
    if (s[k] < lo || s[k] > hi) return -static_cast<long>(k);
  }
  return static_cast<long>(length);
}

// Whether any of the eight bytes in `w` is not plain ASCII to copy as it is: a control
// below 0x20, '"', '\\', or a byte of a multi-byte sequence (>= 0x80). Each test sets
// the high bit of the bytes it finds (the classic "has zero byte" trick on w ^ c).
constexpr bool needs_care(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101, highs = 0x8080808080808080;
  auto has_zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
  std::uint64_t controls = (w - ones * 0x20) & ~w & highs;  // below 0x20 (bytes < 0x80)
  return ((w & highs) | controls | has_zero(w ^ (ones * '"')) | has_zero(w ^ (ones * '\\'))) != 0;
}

// Writes JSON into a buffer on the stack, appended to the string 512 bytes at a time:
// std::string's push_back and append are compiled out of line (libstdc++ instantiates
// them once, extern), and a call per character made this encoder 1.5 times slower than
// Boost.JSON's serialize.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  // Appends `v` to the string.
  void write(const json::value& v) {
    value(v);
    flush();
  }

 private:
  static constexpr std::size_t capacity = 512;

  void flush() {
    out_.append(buffer_, size_);
    size_ = 0;
  }
  // Room for n <= capacity more bytes.
  char* room(std::size_t n) {
    if (capacity - size_ < n) flush();
    return buffer_ + size_;
  }
  void put(char c) {
    *room(1) = c;
    ++size_;
  }
  void put(std::string_view s) {
    if (s.size() > capacity - size_) {
      flush();
      if (s.size() > capacity / 2) {  // long runs of a string go straight in
        out_.append(s);
        return;
      }
    }
    std::memcpy(buffer_ + size_, s.data(), s.size());
    size_ += s.size();
  }
  void put(std::size_t count, char c) {  // count <= 21
    std::memset(room(count), c, count);
    size_ += count;
  }
  template <class Integer>
  void integer(Integer i) {
    char* at = room(24);
    size_ += static_cast<std::size_t>(std::to_chars(at, at + 24, i).ptr - at);
  }
  void value(const json::value& v);
  void string(std::string_view text);
  void number(double x);

  std::string& out_;
  std::size_t size_ = 0;
  char buffer_[capacity];
};

void JsonWriter::string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  put('"');
  auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* const end = p + text.size();
  const auto* run = p;  // the start of the bytes that are copied as they are
  auto flush = [&] { put(std::string_view(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run))); };
  while (p < end) {
    // Eight plain ASCII bytes at a time: most text is.
    while (end - p >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      if (needs_care(w)) break;
      p += 8;
    }
    if (p == end) break;
    unsigned char c = *p;
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++p;
      continue;
    }
    if (c >= 0x80) {
      long n = utf8_sequence(p, end);
      if (n > 0) {
        p += n;
        continue;
      }
      flush();
      put(replacement_character);
      p += -n;
      run = p;
      continue;
    }
    flush();
    switch (c) {
      case '"': put("\\\""); break;
      case '\\': put("\\\\"); break;
      case '\b': put("\\b"); break;
      case '\t': put("\\t"); break;
      case '\n': put("\\n"); break;
      case '\f': put("\\f"); break;
      case '\r': put("\\r"); break;
      default: {
        const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
        put(std::string_view(u, sizeof u));
      }
    }
    ++p;
    run = p;
  }
  flush();
  put('"');
}

// ECMA-262 Number::toString(x), radix 10; null for NaN and ±Infinity (JSON.stringify).
void JsonWriter::number(double x) {
  if (!std::isfinite(x)) {
    put("null");
    return;
  }
  if (x == 0) {  // and -0
    put('0');
    return;
  }
  // The shortest digits that round-trip, in scientific form "[-]d[.ddd]e[+-]x".
  char sci[40];
  char* sci_end = std::to_chars(sci, sci + sizeof sci, x, std::chars_format::scientific).ptr;
  const char* p = sci;
  if (*p == '-') {
    put('-');
    ++p;
  }
  char digits[20];
  int k = 0;  // the number of significant digits
  for (; p < sci_end && *p != 'e'; ++p)
    if (*p != '.') digits[k++] = *p;
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), sci_end, exponent);
  const int n = exponent + 1;  // the decimal point's position after the first digit
  const auto size = [](int i) { return static_cast<std::size_t>(i); };
  if (k <= n && n <= 21) {  // an integer: the digits, then zeros
    put(std::string_view(digits, size(k)));
    put(size(n - k), '0');
  } else if (0 < n && n <= 21) {  // a point among the digits
    put(std::string_view(digits, size(n)));
    put('.');
    put(std::string_view(digits + n, size(k - n)));
  } else if (-6 < n && n <= 0) {  // 0.000ddd
    put("0.");
    put(size(-n), '0');
    put(std::string_view(digits, size(k)));
  } else {  // d[.ddd]e±x
    put(digits[0]);
    if (k > 1) {
      put('.');
      put(std::string_view(digits + 1, size(k - 1)));
    }
    put('e');
    put(n - 1 < 0 ? '-' : '+');
    integer(std::abs(n - 1));
  }
}

void JsonWriter::value(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: put("null"); break;
    case json::kind::bool_: put(v.get_bool() ? std::string_view("true") : std::string_view("false")); break;
    case json::kind::int64: integer(v.get_int64()); break;
    case json::kind::uint64: integer(v.get_uint64()); break;
    case json::kind::double_: number(v.get_double()); break;
    case json::kind::string: string(std::string_view(v.get_string())); break;
    case json::kind::array: {
      put('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) put(',');
        first = false;
        value(e);
      }
      put(']');
      break;
    }
    case json::kind::object: {
      put('{');
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) put(',');
        first = false;
        string(std::string_view(kv.key()));
        put(':');
        value(kv.value());
      }
      put('}');
      break;
    }
  }
}

}  // namespace

// --- decoding -----------------------------------------------------------------------

DecodeError decode_text(std::string_view text, const DecodeLimits& limits, DecodedHeader& out) {
  out.packet = Packet{};
  out.attachments_expected = 0;
  Packet& packet = out.packet;

  // The type: one digit. The reference reads Number(str.charAt(0)), so that "" and
  // " " (Number("") is 0) are CONNECT packets; here they are not.
  if (text.empty()) return DecodeError::empty;
  if (text[0] < '0' || text[0] > '6') return DecodeError::unknown_type;
  packet.type = static_cast<PacketType>(text[0] - '0');
  std::size_t at = 1;

  // The attachment count, binary types only: everything up to the first '-', at least
  // 1 and at most the limit (the reference's "Illegal attachments" and "too many
  // attachments"). The reference takes whatever Number() reads (" 1", "0x1", "1e0",
  // "1.0", "+1"); only decimal digits here, which is what every encoder writes. Other
  // types have no count: their digits are the ack id, so "21-[...]" is an EVENT with id 1
  // and the payload "-[...]", bad JSON (as in the reference, "invalid payload").
  if (is_binary(packet.type)) {
    std::size_t dash = text.find('-', at);
    if (dash == std::string_view::npos) return DecodeError::bad_attachment_count;
    auto count = parse_decimal(text.substr(at, dash - at), limits.max_attachments);
    if (!count || *count == 0) return DecodeError::bad_attachment_count;
    out.attachments_expected = static_cast<std::size_t>(*count);
    at = dash + 1;
  }

  // The namespace: from a '/' right here to the first ',', or to the end of the text
  // when there is no ',' ("1/admin" is "1/admin,"). No escape: a namespace cannot hold
  // a ',' (v5-current.md, "Format").
  if (at < text.size() && text[at] == '/') {
    std::size_t comma = text.find(',', at);
    std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    packet.nsp.assign(text.substr(at, end - at));
    at = comma == std::string_view::npos ? text.size() : comma + 1;
    // Engine.IO hands over valid UTF-8 (WebSocket text frames and polling bodies are
    // checked there); a namespace is compared and echoed as text, so this is checked
    // here too for callers that did not.
    if (!core::is_valid_utf8(packet.nsp)) return DecodeError::bad_namespace;
  }

  // The ack id: the digits right here. The reference reads characters while
  // Number(c) == c, which also holds for whitespace (Number(" ") is 0): "2 [...]" is an
  // EVENT with id 0 there, and "21 2[...]" one with id NaN. Whitespace where an id or the
  // payload starts is refused here rather than read otherwise. An id past 2^53 - 1 is
  // refused too: the reference's Number() would round it (2^53 + 1 reads as 2^53), and
  // an ack would answer another id.
  if (at < text.size() && is_digit(text[at])) {
    std::size_t end = at;
    while (end < text.size() && is_digit(text[end])) ++end;
    auto id = parse_decimal(text.substr(at, end - at), max_ack_id);
    if (!id) return DecodeError::bad_ack_id;
    packet.id = *id;
    at = end;
  } else if (at < text.size() && std::string_view(" \t\n\v\f\r").find(text[at]) != std::string_view::npos) {
    return DecodeError::bad_ack_id;
  }

  // The payload: JSON to the end of the text.
  std::string_view payload = text.substr(at);
  if (!payload.empty()) {
    if (!parse_json(payload, limits.max_json_depth, packet.data)) return DecodeError::bad_json;
  }
  if (!is_payload_valid(packet.type, payload.empty() ? nullptr : &packet.data)) return DecodeError::invalid_payload;
  return DecodeError::none;
}

DecodeError check_attachments(const Packet& packet) {
  // The reference reconstructs binary packets only; in any other packet a placeholder is
  // an object like any other.
  if (!is_binary(packet.type)) return packet.attachments.empty() ? DecodeError::none : DecodeError::illegal_attachments;
  const std::size_t count = packet.attachments.size();
  if (count == 0) return DecodeError::illegal_attachments;  // a binary packet has at least one
  // _reconstructPacket's walk: any object whose _placeholder is true is a placeholder
  // (its num is checked, its other members ignored and not visited); any other object
  // or array is visited. The reference does not require every attachment to be named.
  std::vector<const json::value*> pending{&packet.data};
  while (!pending.empty()) {
    const json::value* v = pending.back();
    pending.pop_back();
    if (const json::array* a = v->if_array()) {
      for (const auto& e : *a) pending.push_back(&e);
    } else if (const json::object* o = v->if_object()) {
      const json::value* flag = o->if_contains("_placeholder");
      if (flag && flag->is_bool() && flag->get_bool()) {
        if (!names_attachment(o->if_contains("num"), count)) return DecodeError::illegal_attachments;
      } else {
        for (const auto& kv : *o) pending.push_back(&kv.value());
      }
    }
  }
  return DecodeError::none;
}

Decoder::Status Decoder::add_text(std::string_view text) {
  if (!idle()) {
    // The reference: "got plaintext data when reconstructing a packet". The header said
    // more attachments than came.
    current_ = DecodedHeader{};
    error_ = DecodeError::bad_attachment_count;
    return Status::error;
  }
  error_ = decode_text(text, limits_, current_);
  if (error_ != DecodeError::none) {
    current_ = DecodedHeader{};
    return Status::error;
  }
  if (current_.attachments_expected == 0) return Status::complete;
  current_.packet.attachments.reserve(current_.attachments_expected);
  return Status::need_attachments;
}

Decoder::Status Decoder::add_binary(std::string_view bytes) {
  if (idle()) {
    // The reference: "got binary data when not reconstructing a packet". An attachment
    // that no header announced.
    current_ = DecodedHeader{};
    error_ = DecodeError::bad_attachment_count;
    return Status::error;
  }
  current_.packet.attachments.emplace_back(bytes);
  if (current_.packet.attachments.size() < current_.attachments_expected) return Status::need_attachments;
  current_.attachments_expected = 0;
  error_ = check_attachments(current_.packet);
  if (error_ != DecodeError::none) {
    current_ = DecodedHeader{};
    return Status::error;
  }
  return Status::complete;
}

// --- encoding -----------------------------------------------------------------------

// Encoder#encodeAsString: "<type>[<attachments>-][<nsp>,][<id>][<JSON>]".
void append_text(std::string& out, const Packet& packet) {
  out += static_cast<char>('0' + static_cast<int>(packet.type));
  if (is_binary(packet.type)) {
    append_decimal(out, packet.attachments.size());
    out += '-';
  }
  if (!packet.nsp.empty() && packet.nsp != "/") {
    out += packet.nsp;
    out += ',';
  }
  if (packet.id) append_decimal(out, *packet.id);
  if (!packet.data.is_null()) JsonWriter(out).write(packet.data);
}

std::string encode_text(const Packet& packet) {
  std::string out;
  append_text(out, packet);
  return out;
}

}  // namespace switchboard::sio
