#include "eio/codec/packet.hpp"

#include <array>
#include <charconv>

#include "core/encoding.hpp"
#include "core/utf8.hpp"

// Engine.IO packet codec. Facts from docs/engine.io-protocol/v4-current.md ("Packet
// encoding") and v3.md ("Encoding"), and from the reference parser (engine.io-parser 5.x
// for v4, 2.x for v3) where the documents say nothing; where this codec is stricter than
// the reference, the reason is next to the check.

namespace switchboard::eio {
namespace {

// v4-current.md "HTTP long-polling": packets are joined by the record separator.
constexpr char record_separator = '\x1e';

// v3 binary payloads: the byte that ends a length (v3.md "Payload").
constexpr unsigned char length_end = 0xff;

std::optional<PacketType> type_from_digit(char c) noexcept {
  if (c >= '0' && c <= '6') return static_cast<PacketType>(c - '0');
  return std::nullopt;
}

std::optional<PacketType> type_from_byte(char c) noexcept {
  auto b = static_cast<unsigned char>(c);
  if (b <= 6) return static_cast<PacketType>(b);
  return std::nullopt;
}

char type_digit(PacketType type) noexcept { return static_cast<char>('0' + static_cast<int>(type)); }

// --- base64 -------------------------------------------------------------------------
// core::base64_encode/base64_decode return a new string per call; the payload codec
// appends into the caller's output and decodes into the caller's scratch, so that a
// POST of many binary packets costs no allocation per packet. Same alphabet and the
// same strictness as core (RFC 4648 §4, padded): the tests check the two agree.

constexpr char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> base64_values = [] {
  std::array<std::int8_t, 256> values{};
  for (auto& v : values) v = -1;
  for (int i = 0; i < 64; ++i) values[static_cast<unsigned char>(base64_alphabet[i])] = static_cast<std::int8_t>(i);
  return values;
}();

constexpr std::size_t base64_length(std::size_t bytes) noexcept { return (bytes + 2) / 3 * 4; }

void append_base64(std::string& out, std::string_view bytes) {
  std::size_t at = out.size();
  out.resize(at + base64_length(bytes.size()));
  char* o = out.data() + at;
  auto byte = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[i])); };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    *o++ = base64_alphabet[(v >> 18) & 63];
    *o++ = base64_alphabet[(v >> 12) & 63];
    *o++ = base64_alphabet[(v >> 6) & 63];
    *o++ = base64_alphabet[v & 63];
  }
  if (std::size_t rest = bytes.size() - i) {
    unsigned v = byte(i) << 16;
    if (rest == 2) v |= byte(i + 1) << 8;
    *o++ = base64_alphabet[(v >> 18) & 63];
    *o++ = base64_alphabet[(v >> 12) & 63];
    *o++ = rest == 2 ? base64_alphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
}

// Strict: a multiple of four symbols, '=' only as the last one or two. Node's
// Buffer.from(s, "base64"), which the reference server uses, also takes unpadded,
// URL-safe and whitespace-broken text and drops what it cannot read; no Engine.IO client
// sends such text (engine.io-parser encodes with Buffer#toString("base64") in Node and
// FileReader.readAsDataURL in browsers, both padded RFC 4648), so it is refused here.
// Set bits after the last whole byte are ignored, as Node and core do.
bool decode_base64_into(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  std::size_t pad = 0;
  if (!text.empty() && text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  out.resize(text.size() / 4 * 3 - pad);
  char* o = out.data();
  char* const end = o + out.size();
  for (std::size_t i = 0; i < text.size(); i += 4) {
    unsigned v = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      bool padding = i + 4 == text.size() && k >= 4 - pad;
      int d = padding ? 0 : base64_values[static_cast<unsigned char>(text[i + k])];
      if (d < 0) return false;
      v = (v << 6) | static_cast<unsigned>(d);
    }
    // The last group writes only its 1 or 2 real bytes.
    if (o < end) *o++ = static_cast<char>((v >> 16) & 0xff);
    if (o < end) *o++ = static_cast<char>((v >> 8) & 0xff);
    if (o < end) *o++ = static_cast<char>(v & 0xff);
  }
  return true;
}

// --- UTF-16 lengths (v3) ------------------------------------------------------------
// v3.md "Payload": the length is "in characters", that is JavaScript's String#length:
// UTF-16 code units, two for a character outside the BMP (a 4-byte UTF-8 sequence).

// The number of bytes of the UTF-8 sequence that `lead` starts (1 for a byte that cannot
// start one: the UTF-8 check that follows refuses it).
std::size_t utf8_sequence_length(unsigned char lead) noexcept {
  if (lead < 0xc0) return 1;
  if (lead < 0xe0) return 2;
  if (lead < 0xf0) return 3;
  return 4;
}

std::size_t utf16_units(unsigned char lead) noexcept { return lead >= 0xf0 ? 2 : 1; }

// For valid UTF-8, the exact UTF-16 length.
std::size_t utf16_length(std::string_view utf8) noexcept {
  std::size_t units = 0;
  for (char c : utf8) {
    auto b = static_cast<unsigned char>(c);
    if ((b & 0xc0) != 0x80) units += utf16_units(b);
  }
  return units;
}

// The number of bytes from the start of `text` that hold exactly `units` UTF-16 code
// units, or nullopt when `text` is too short or a surrogate pair would be cut in two (a
// JavaScript encoder never cuts one; the reference decoder would make lone surrogates).
std::optional<std::size_t> utf8_prefix_for_units(std::string_view text, std::size_t units) noexcept {
  std::size_t at = 0;
  std::size_t counted = 0;
  while (counted < units) {
    if (at >= text.size()) return std::nullopt;
    auto lead = static_cast<unsigned char>(text[at]);
    at += utf8_sequence_length(lead);
    counted += utf16_units(lead);
  }
  if (counted != units || at > text.size()) return std::nullopt;
  return at;
}

void append_decimal(std::string& out, std::uint64_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

// --- packets ------------------------------------------------------------------------

// A packet in its string form: "<type digit>[data]", or "b..." for binary data in base64
// ("b<base64>", always a message, in v4; "b<type digit><base64>" in v3). As in
// engine.io-parser's decodePacket, "b" is looked for first. Without `scratch`, "b" is
// refused. Empty is refused (the reference returns its error packet).
std::optional<Packet> decode_string_packet(std::string_view text, Protocol protocol, std::string* scratch) {
  if (text.empty()) return std::nullopt;
  if (text.front() == 'b') {
    if (!scratch) return std::nullopt;
    text.remove_prefix(1);
    PacketType type = PacketType::message;
    if (protocol == Protocol::v3) {
      // The reference takes any character here and makes a packet of type undefined.
      if (text.empty()) return std::nullopt;
      auto t = type_from_digit(text.front());
      if (!t) return std::nullopt;
      type = *t;
      text.remove_prefix(1);
    }
    if (!decode_base64_into(text, *scratch)) return std::nullopt;
    return Packet{type, true, std::string_view(*scratch)};
  }
  auto type = type_from_digit(text.front());
  if (!type) return std::nullopt;
  return Packet{*type, false, text.substr(1)};
}

// Reports packets to the caller and enforces the packet limit.
class Reporter {
 public:
  enum class Step { next, stopped, refused };

  Reporter(const PayloadLimits& limits, const std::function<bool(const Packet&)>& on_packet)
      : limits_(limits), on_packet_(on_packet) {}

  Step report(const Packet& packet) {
    if (reported_ >= limits_.max_packets) return Step::refused;
    ++reported_;
    return on_packet_(packet) ? Step::next : Step::stopped;
  }

 private:
  const PayloadLimits& limits_;
  const std::function<bool(const Packet&)>& on_packet_;
  std::size_t reported_ = 0;
};

// Text data from an HTTP body has had no UTF-8 check (a WebSocket text frame has).
bool valid_text(const Packet& packet) noexcept { return packet.binary || core::is_valid_utf8(packet.data); }

// v4-current.md "HTTP long-polling": "<packet>\x1e<packet>...". engine.io-parser 5.x's
// decodePayload splits on the separator and decodes each part, stopping after the first
// that decodes to its error packet; an empty part (two separators in a row, a leading or
// trailing one, an empty body) is such a part.
bool decode_v4_payload(std::string_view payload, std::string& scratch, Reporter& reporter) {
  for (;;) {
    std::size_t end = payload.find(record_separator);
    auto packet = decode_string_packet(payload.substr(0, end), Protocol::v4, &scratch);
    if (!packet || !valid_text(*packet)) return false;
    switch (reporter.report(*packet)) {
      case Reporter::Step::next: break;
      case Reporter::Step::stopped: return true;
      case Reporter::Step::refused: return false;
    }
    if (end == std::string_view::npos) return true;
    payload.remove_prefix(end + 1);
  }
}

// v3.md "Payload": "<length>:<packet>" repeated, the length in UTF-16 code units.
// engine.io-parser 2.x reads the length with Number(), so it would also take " 6",
// "0x6" or "6e0"; clients write plain decimal, and only digits are taken here. A zero
// length ("0:", what 2.x encodes for no packets) it skips silently; no client sends one
// and it is refused here, as is an empty body.
bool decode_v3_string_payload(std::string_view payload, std::string& scratch, Reporter& reporter) {
  while (!payload.empty()) {
    std::size_t units = 0;
    std::size_t at = 0;
    for (;; ++at) {
      if (at >= payload.size()) return false;
      char c = payload[at];
      if (c == ':') break;
      if (c < '0' || c > '9') return false;
      units = units * 10 + static_cast<std::size_t>(c - '0');
      // A packet has at least one byte per code unit: a longer length runs past the end
      // (and this keeps `units` from overflowing).
      if (units > payload.size()) return false;
    }
    if (at == 0 || units == 0) return false;
    payload.remove_prefix(at + 1);
    auto bytes = utf8_prefix_for_units(payload, units);
    if (!bytes) return false;
    std::string_view text = payload.substr(0, *bytes);
    payload.remove_prefix(*bytes);
    // The whole packet, type digit and base64 included, is text: check it once.
    if (!core::is_valid_utf8(text)) return false;
    auto packet = decode_string_packet(text, Protocol::v3, &scratch);
    if (!packet) return false;
    switch (reporter.report(*packet)) {
      case Reporter::Step::next: break;
      case Reporter::Step::stopped: return true;
      case Reporter::Step::refused: return false;
    }
  }
  return true;
}

// v3.md "Payload", binary form (engine.io-parser 2.x decodePayloadAsBinary). The
// reference takes any first byte other than 0 as binary and any byte before 0xff as a
// length digit (a byte 12 reads as "12"); here they must be 0/1 and 0-9.
bool decode_v3_binary_payload(std::string_view payload, std::string& scratch, Reporter& reporter) {
  while (!payload.empty()) {
    auto kind = static_cast<unsigned char>(payload.front());
    if (kind > 1) return false;
    std::size_t length = 0;
    std::size_t at = 1;
    for (;; ++at) {
      if (at >= payload.size()) return false;
      auto b = static_cast<unsigned char>(payload[at]);
      if (b == length_end) break;
      if (b > 9) return false;
      length = length * 10 + b;
      if (length > payload.size()) return false;  // past the end; no overflow
    }
    if (at == 1) return false;
    payload.remove_prefix(at + 1);
    if (length > payload.size()) return false;
    std::string_view body = payload.substr(0, length);
    payload.remove_prefix(length);
    std::optional<Packet> packet;
    if (kind == 0) {
      // Text, UTF-8 encoded (the reference utf8-decodes it and fails on bad UTF-8).
      if (!core::is_valid_utf8(body)) return false;
      packet = decode_string_packet(body, Protocol::v3, &scratch);
    } else {
      // "<type byte>[data]"; the reference makes an empty one a packet of type undefined.
      if (body.empty()) return false;
      if (auto type = type_from_byte(body.front())) packet = Packet{*type, true, body.substr(1)};
    }
    if (!packet) return false;
    switch (reporter.report(*packet)) {
      case Reporter::Step::next: break;
      case Reporter::Step::stopped: return true;
      case Reporter::Step::refused: return false;
    }
  }
  return true;
}

std::optional<Packet> decode_frame_with(std::string_view frame, bool binary_frame, Protocol protocol,
                                        std::string* scratch) {
  if (!binary_frame) return decode_string_packet(frame, protocol, scratch);
  // v4-current.md "WebSocket": "Binary payloads are sent as is" — a message packet,
  // empty data included (engine.io-parser decodes any non-string as a message).
  if (protocol == Protocol::v4) return Packet{PacketType::message, true, frame};
  // v3.md "Packet": "the packet type id is sent in the first byte of the binary contents".
  if (frame.empty()) return std::nullopt;
  auto type = type_from_byte(frame.front());
  if (!type) return std::nullopt;
  return Packet{*type, true, frame.substr(1)};
}

}  // namespace

std::optional<Packet> decode_frame(std::string_view frame, bool binary_frame, Protocol protocol) {
  return decode_frame_with(frame, binary_frame, protocol, nullptr);
}

std::optional<Packet> decode_frame(std::string_view frame, bool binary_frame, Protocol protocol,
                                   std::string& scratch) {
  return decode_frame_with(frame, binary_frame, protocol, &scratch);
}

bool decode_payload(std::string_view payload, Protocol protocol, const PayloadLimits& limits,
                    std::string& scratch, const std::function<bool(const Packet&)>& on_packet) {
  if (payload.empty()) return false;
  Reporter reporter(limits, on_packet);
  if (protocol == Protocol::v4) return decode_v4_payload(payload, scratch, reporter);
  auto first = static_cast<unsigned char>(payload.front());
  if (first <= 1) return decode_v3_binary_payload(payload, scratch, reporter);
  return decode_v3_string_payload(payload, scratch, reporter);
}

void append_text_packet(std::string& out, PacketType type, std::string_view data) {
  out += type_digit(type);
  out.append(data);
}

void append_payload_packet(std::string& out, const Packet& packet, Protocol protocol, bool first) {
  if (protocol == Protocol::v4) {
    if (!first) out += record_separator;
    if (packet.binary) {
      out += 'b';
      append_base64(out, packet.data);
    } else {
      append_text_packet(out, packet.type, packet.data);
    }
    return;
  }
  // v3: "<length>:<packet>"; for binary "<length>:b<type digit><base64>" (v3.md
  // "Payload": "10:b4AQIDBA==", the length counting the "b" and the type).
  if (packet.binary) {
    append_decimal(out, 2 + base64_length(packet.data.size()));
    out += ":b";
    out += type_digit(packet.type);
    append_base64(out, packet.data);
  } else {
    append_decimal(out, 1 + utf16_length(packet.data));
    out += ':';
    append_text_packet(out, packet.type, packet.data);
  }
}

void append_binary_payload_packet(std::string& out, const Packet& packet) {
  // v3.md "Payload": "<0 for string data, 1 for binary data><Any number of numbers
  // between 0 and 9><The number 255><packet1 (first type, then data)>"; the length counts
  // the packet's bytes, the type included (the v3 test suite: 1, 5, 255, 4, 1, 2, 3, 4).
  out += packet.binary ? '\x01' : '\x00';
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, 1 + packet.data.size()).ptr;
  for (char* d = digits; d != end; ++d) out += static_cast<char>(*d - '0');
  out += static_cast<char>(length_end);
  if (packet.binary) {
    out += static_cast<char>(packet.type);
    out.append(packet.data);
  } else {
    append_text_packet(out, packet.type, packet.data);
  }
}

void append_frame_payload(std::string& out, const Packet& packet, Protocol protocol, bool& binary_frame,
                          bool base64) {
  if (!packet.binary) {
    binary_frame = false;
    append_text_packet(out, packet.type, packet.data);
    return;
  }
  if (base64) {
    // What engine.io's websocket transport sends when supportsBinary is false (b64=1):
    // engine.io-parser encodePacket with base64 forced.
    binary_frame = false;
    out += 'b';
    if (protocol == Protocol::v3) out += type_digit(packet.type);
    append_base64(out, packet.data);
    return;
  }
  binary_frame = true;
  if (protocol == Protocol::v3) out += static_cast<char>(packet.type);
  out.append(packet.data);
}

std::string open_payload(std::string_view sid, bool upgrade_to_websocket, std::uint32_t ping_interval_ms,
                         std::uint32_t ping_timeout_ms, std::uint64_t max_payload) {
  // v4-current.md "Handshake": the keys in the order of the reference server's
  // JSON.stringify, which is the order of the document's example.
  std::string out = "{\"sid\":";
  out += core::json_quote(sid);
  out += upgrade_to_websocket ? ",\"upgrades\":[\"websocket\"]" : ",\"upgrades\":[]";
  out += ",\"pingInterval\":";
  append_decimal(out, ping_interval_ms);
  out += ",\"pingTimeout\":";
  append_decimal(out, ping_timeout_ms);
  out += ",\"maxPayload\":";
  append_decimal(out, max_payload);
  out += '}';
  return out;
}

}  // namespace switchboard::eio
