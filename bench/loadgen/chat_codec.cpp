#include "chat_codec.hpp"

#include <charconv>

#include "hex.hpp"

namespace switchboard::loadgen {
namespace {

constexpr std::string_view new_message_head = R"(2["new-message",)";
constexpr std::string_view user_typing_head = R"(2["user-typing",{"userId":")";
constexpr std::string_view username_field = R"(","username":"user )";
constexpr std::string_view ack_success = R"([{"success":true}])";
constexpr std::string_view message_id_head = R"({"id":")";
constexpr std::size_t message_id_digits = 32;

void append_hex(std::string& out, std::uint64_t value, int digits) {
  out.resize(out.size() + static_cast<std::size_t>(digits));
  write_hex(out.data() + out.size() - digits, value, digits);
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  out.append(digits, end);
}

bool starts_with(std::string_view text, std::string_view head) noexcept {
  return text.size() >= head.size() && text.compare(0, head.size(), head) == 0;
}

}  // namespace

ChatCodec::ChatCodec(unsigned rooms, unsigned text_size, std::int64_t realtime_offset_ns)
    : rooms_(rooms ? rooms : 1), text_size_(text_size), realtime_offset_ns_(realtime_offset_ns) {}

void ChatCodec::room_name(std::string& out, unsigned room) const {
  out += "room-";
  append_number(out, room);
}

void ChatCodec::join_room(std::string& out, std::uint64_t ack_id, unsigned room) const {
  out += '2';
  append_number(out, ack_id);
  out += R"(["join-room",")";
  room_name(out, room);
  out += "\"]";
}

void ChatCodec::typing(std::string& out, std::uint32_t sender) const {
  out += R"(2["typing",{"roomId":")";
  room_name(out, room_of(sender));
  out += R"(","username":"user )";
  append_number(out, sender);
  out += "\"}]";
}

void ChatCodec::message(std::string& out, const ChatMessageId& id) const {
  out += message_id_head;
  append_hex(out, static_cast<std::uint64_t>(id.sent_ns), 16);
  append_hex(out, id.sender, 8);
  append_hex(out, id.seq, 8);
  out += R"(","userId":"u)";
  append_number(out, id.sender);
  out += R"(","username":"user )";
  append_number(out, id.sender);
  out += R"(","text":")";
  for (unsigned i = 0; i < text_size_; ++i) out += static_cast<char>('a' + (id.sender * 7 + id.seq + i) % 26);
  out += R"(","timestamp":)";
  append_number(out, static_cast<std::uint64_t>((id.sent_ns + realtime_offset_ns_) / 1'000'000));
  out += '}';
}

void ChatCodec::send_message(std::string& out, std::uint64_t ack_id, const ChatMessageId& id) const {
  out += '2';
  append_number(out, ack_id);
  out += R"(["send-message",{"roomId":")";
  room_name(out, room_of(id.sender));
  out += R"(","message":)";
  message(out, id);
  out += "}]";
}

ChatPacketKind ChatCodec::classify(std::string_view packet) noexcept {
  if (packet.size() >= 2 && packet[0] == '3' && packet[1] >= '0' && packet[1] <= '9') return ChatPacketKind::ack;
  if (starts_with(packet, new_message_head)) return ChatPacketKind::new_message;
  if (starts_with(packet, R"(2["user-typing",)")) return ChatPacketKind::user_typing;
  if (starts_with(packet, R"(2["user-joined",)")) return ChatPacketKind::user_joined;
  if (starts_with(packet, R"(2["user-left",)")) return ChatPacketKind::user_left;
  if (starts_with(packet, R"(2["online-users",)")) return ChatPacketKind::online_users;
  if (starts_with(packet, R"(2["rate-limited",)")) return ChatPacketKind::rate_limited;
  return ChatPacketKind::other;
}

bool ChatCodec::read_new_message(std::string_view packet, ChatMessageId& id, std::string& scratch) const {
  if (!starts_with(packet, new_message_head)) return false;
  std::string_view body = packet.substr(new_message_head.size());
  if (!starts_with(body, message_id_head) || body.size() < message_id_head.size() + message_id_digits) return false;
  std::string_view digits = body.substr(message_id_head.size(), message_id_digits);
  std::uint64_t sent = 0, sender = 0, seq = 0;
  if (!parse_hex(digits.substr(0, 16), sent) || !parse_hex(digits.substr(16, 8), sender) ||
      !parse_hex(digits.substr(24, 8), seq)) {
    return false;
  }
  id = {static_cast<std::int64_t>(sent), static_cast<std::uint32_t>(sender), static_cast<std::uint32_t>(seq)};
  // The message as sent, without its closing brace; then "}]" or the room's name and "}]".
  scratch.clear();
  message(scratch, id);
  scratch.pop_back();
  if (body.size() < scratch.size() || body.compare(0, scratch.size(), scratch) != 0) return false;
  std::string_view rest = body.substr(scratch.size());
  if (rest == "}]") return true;
  scratch.assign(R"(,"roomId":")");
  room_name(scratch, room_of(id.sender));
  scratch += "\"}]";
  return rest == scratch;
}

bool ChatCodec::read_user_typing(std::string_view packet, std::uint32_t& sender) noexcept {
  if (!starts_with(packet, user_typing_head) || packet.size() < 3 || packet.substr(packet.size() - 3) != "\"}]") {
    return false;
  }
  std::string_view body = packet.substr(user_typing_head.size(), packet.size() - user_typing_head.size() - 3);
  std::size_t field = body.find(username_field);
  if (field == std::string_view::npos || body.substr(0, field).find('"') != std::string_view::npos) return false;
  std::string_view number = body.substr(field + username_field.size());
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), sender);
  return error == std::errc{} && end == number.data() + number.size();
}

bool ChatCodec::read_ack(std::string_view packet, std::uint64_t& ack_id, bool& success) noexcept {
  if (packet.empty() || packet[0] != '3') return false;
  auto [end, error] = std::from_chars(packet.data() + 1, packet.data() + packet.size(), ack_id);
  if (error != std::errc{} || end == packet.data() + 1) return false;
  std::string_view args(end, static_cast<std::size_t>(packet.data() + packet.size() - end));
  if (args.empty() || args.front() != '[' || args.back() != ']') return false;
  success = args == ack_success;
  return true;
}

}  // namespace switchboard::loadgen
