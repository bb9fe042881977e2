#pragma once
// The chat scenario's packets (DESIGN.md, "the chat contract"): what a client sends, as
// whole Socket.IO packet texts (namespace "/", the Engine.IO "4" added by the layer
// below), and what it makes of what the server sends. Pure: text in, text out; no I/O.
//
// A message's every field follows from (sender, seq, sent_ns), so a receiver checks a
// new-message byte for byte without keeping copies:
//   {"id":"<sent_ns><sender><seq>" (16 + 8 + 8 hex digits),"userId":"u<sender>",
//    "username":"user <sender>","text":"<text_size letters>","timestamp":<ms since epoch>}
// and the server sends it back as sent, plus ,"roomId":"<room>" before the closing brace
// when the message has none (both servers add it; the contract allows added fields).
// Client i is in room i % rooms, named "room-<n>".
//
// The hot path classifies packets by their fixed prefixes, without a JSON parser: the
// load generator's CPU bounds what it can measure, and both servers write these packets
// the way JSON.stringify does.

#include <cstdint>
#include <string>
#include <string_view>

namespace switchboard::loadgen {

struct ChatMessageId {
  std::int64_t sent_ns = 0;  // the sender's clock (now_ns) when it sent the message
  std::uint32_t sender = 0;  // client number
  std::uint32_t seq = 0;     // the sender's count of messages before this one
};

enum class ChatPacketKind {
  new_message,
  user_typing,
  user_joined,
  user_left,
  online_users,
  rate_limited,
  ack,
  other,  // any other packet: the scenario counts it as unexpected
};

class ChatCodec {
 public:
  // `realtime_offset_ns`: CLOCK_REALTIME − CLOCK_MONOTONIC, measured once, so that a
  // message's timestamp (ms since the epoch) follows from its sent_ns.
  ChatCodec(unsigned rooms, unsigned text_size, std::int64_t realtime_offset_ns);

  unsigned room_of(std::uint32_t client) const noexcept { return client % rooms_; }

  // 2<ack>["join-room","room-<n>"]
  void join_room(std::string& out, std::uint64_t ack_id, unsigned room) const;
  // 2["typing",{"roomId":"room-<n>","username":"user <sender>"}]
  void typing(std::string& out, std::uint32_t sender) const;
  // 2<ack>["send-message",{"roomId":"room-<n>","message":{…}}]
  void send_message(std::string& out, std::uint64_t ack_id, const ChatMessageId& id) const;
  // The message object alone.
  void message(std::string& out, const ChatMessageId& id) const;

  static ChatPacketKind classify(std::string_view packet) noexcept;

  // A new-message packet: true and its id if it is exactly what that id's sender sent
  // (the room's name added or not). `scratch` holds the expected text between calls.
  bool read_new_message(std::string_view packet, ChatMessageId& id, std::string& scratch) const;
  // A user-typing packet {userId: any, username: "user <n>"}: true and n.
  static bool read_user_typing(std::string_view packet, std::uint32_t& sender) noexcept;
  // An ack packet 3<id>[…]: true and its id; `success` says whether its one argument is
  // exactly {"success":true}.
  static bool read_ack(std::string_view packet, std::uint64_t& ack_id, bool& success) noexcept;

 private:
  void room_name(std::string& out, unsigned room) const;

  unsigned rooms_;
  unsigned text_size_;
  std::int64_t realtime_offset_ns_;
};

}  // namespace switchboard::loadgen
