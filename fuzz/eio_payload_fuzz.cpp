// libFuzzer target for the Engine.IO packet codec (eio/codec/packet.hpp): polling
// payloads (v4 "\x1e"-joined, v3 "<length>:<packet>" and v3 binary) and WebSocket frames.
// Besides the sanitizers, it checks what the codec promises:
//   - decode → re-encode → decode gives the same packets, in every form that can carry
//     them (v4 payload, v3 string and binary payloads; frames with and without base64);
//   - no more than max_packets packets are reported, and a decode stopped by the
//     callback returns true after exactly the packets of the full decode up to the stop;
//   - text data from a payload is valid UTF-8, v4 binary is always a message, and the
//     scratch holds no more than the largest binary packet (never more than the input);
//   - the frame decoder without scratch agrees with the one with scratch, except that it
//     refuses base64 text frames.
//
// Input layout:
//   byte 0  bit 0: v3 (else v4); bits 1-2: 0 or 3 payload, 1 text frame, 2 binary frame.
//   byte 1  max_packets (255: the default).
//   byte 2  the packet after which the callback stops a second decode (255: never).
//   rest    the payload or frame.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/utf8.hpp"
#include "eio/codec/packet.hpp"

namespace {

using namespace switchboard;
using eio::Packet;
using eio::PacketType;
using eio::Protocol;

// A failed check is a crash, so libFuzzer keeps the input.
void check(bool ok) {
  if (!ok) std::abort();
}

struct Owned {
  PacketType type;
  bool binary;
  std::string data;
  bool operator==(const Owned&) const = default;
};

Owned own(const Packet& p) { return {p.type, p.binary, std::string(p.data)}; }
Packet view(const Owned& p) { return {p.type, p.binary, p.data}; }

struct Result {
  bool ok = false;
  std::vector<Owned> packets;
};

Result decode(std::string_view payload, Protocol protocol, std::size_t max_packets, std::size_t stop_after,
              std::string& scratch) {
  Result r;
  r.ok = eio::decode_payload(payload, protocol, eio::PayloadLimits{max_packets}, scratch, [&](const Packet& p) {
    // Binary data is a view into the payload (v3 binary form) or the scratch.
    bool in_payload = p.data.data() >= payload.data() && p.data.data() + p.data.size() <= payload.data() + payload.size();
    bool in_scratch = p.binary && p.data.data() == scratch.data() && p.data.size() == scratch.size();
    check(in_payload || in_scratch);
    r.packets.push_back(own(p));
    return r.packets.size() != stop_after;
  });
  return r;
}

std::size_t largest_binary(const std::vector<Owned>& packets) {
  std::size_t n = 0;
  for (const auto& p : packets)
    if (p.binary) n = std::max(n, p.data.size());
  return n;
}

// Re-encodes `packets` in every payload form of `protocol` and decodes them again.
void check_payload_round_trip(const std::vector<Owned>& packets, Protocol protocol) {
  if (packets.empty()) return;
  std::string scratch;
  const std::size_t unlimited = packets.size();
  std::string out;
  for (std::size_t i = 0; i < packets.size(); ++i) eio::append_payload_packet(out, view(packets[i]), protocol, i == 0);
  Result again = decode(out, protocol, unlimited, 0, scratch);
  check(again.ok);
  check(again.packets == packets);
  if (protocol == Protocol::v3) {
    out.clear();
    for (const auto& p : packets) eio::append_binary_payload_packet(out, view(p));
    again = decode(out, protocol, unlimited, 0, scratch);
    check(again.ok);
    check(again.packets == packets);
  }
}

void fuzz_payload(std::string_view payload, Protocol protocol, std::size_t max_packets, std::size_t stop_after) {
  std::string scratch;
  Result full = decode(payload, protocol, max_packets, 0, scratch);
  check(full.packets.size() <= max_packets);
  check(!payload.empty() || !full.ok);
  // The scratch is sized to one packet's data (a refused one's at most: it is sized
  // before the base64 is known to be good), so it never outgrows the input; after a
  // success it holds the last binary packet.
  check(scratch.size() <= payload.size());
  check(!full.ok || scratch.size() <= largest_binary(full.packets));
  for (const auto& p : full.packets) {
    if (p.binary) {
      check(protocol == Protocol::v3 || p.type == PacketType::message);
    } else {
      check(core::is_valid_utf8(p.data));
      check(protocol == Protocol::v3 || p.data.find('\x1e') == std::string::npos);
    }
  }

  // Deterministic, whatever the scratch held before.
  Result repeat = decode(payload, protocol, max_packets, 0, scratch);
  check(repeat.ok == full.ok && repeat.packets == full.packets);

  // What was reported, valid or not the rest, re-encodes to the same packets.
  check_payload_round_trip(full.packets, protocol);

  // The callback's stop: true, after exactly the first packets.
  if (stop_after != 0 && stop_after <= full.packets.size()) {
    std::string scratch2;
    Result stopped = decode(payload, protocol, max_packets, stop_after, scratch2);
    check(stopped.ok);
    check(stopped.packets.size() == stop_after);
    check(std::equal(stopped.packets.begin(), stopped.packets.end(), full.packets.begin()));
  }
}

void fuzz_frame(std::string_view frame, bool binary_frame, Protocol protocol) {
  std::string scratch;
  auto plain = eio::decode_frame(frame, binary_frame, protocol);
  auto with_scratch = eio::decode_frame(frame, binary_frame, protocol, scratch);
  if (plain) {
    check(with_scratch && own(*plain) == own(*with_scratch));
    check(plain->data.data() >= frame.data() && plain->data.data() + plain->data.size() <= frame.data() + frame.size());
  } else if (with_scratch) {
    // Only a base64 text frame needs the scratch.
    check(!binary_frame && frame.front() == 'b' && with_scratch->binary);
  }
  if (!with_scratch) return;
  Owned packet = own(*with_scratch);
  check(scratch.size() <= frame.size());
  check(protocol == Protocol::v3 || !packet.binary || packet.type == PacketType::message);
  check(packet.binary || !binary_frame);

  for (bool base64 : {false, true}) {
    std::string out;
    bool out_binary = !binary_frame;
    eio::append_frame_payload(out, view(packet), protocol, out_binary, base64);
    check(out_binary == (packet.binary && !base64));
    std::string scratch2;
    auto again = eio::decode_frame(out, out_binary, protocol, scratch2);
    check(again && own(*again) == packet);
  }
  // A frame's packet also fits a payload, when its text is what a payload can carry.
  if (!packet.binary && !core::is_valid_utf8(packet.data)) return;
  if (protocol == Protocol::v4 && !packet.binary && packet.data.find('\x1e') != std::string::npos) return;
  check_payload_round_trip({packet}, protocol);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const Protocol protocol = (data[0] & 1) ? Protocol::v3 : Protocol::v4;
  const int mode = (data[0] >> 1) & 3;
  const std::size_t max_packets = data[1] == 255 ? eio::PayloadLimits{}.max_packets : data[1];
  const std::size_t stop_after = data[2] == 255 ? 0 : std::size_t{data[2]} + 1;
  // libFuzzer's buffer is exactly the input, so ASan sees any read past its end.
  std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
  switch (mode) {
    case 1: fuzz_frame(input, false, protocol); break;
    case 2: fuzz_frame(input, true, protocol); break;
    default: fuzz_payload(input, protocol, max_packets, stop_after); break;
  }
  return 0;
}
