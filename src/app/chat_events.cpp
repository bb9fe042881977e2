#include "app/chat_events.hpp"

namespace switchboard::app::chat {

namespace {

using boost::json::object;
using boost::json::value;

const value* arg(const sio::Args& args, std::size_t i) { return i < args.size() ? &args[i] : nullptr; }

const object* object_arg(const sio::Args& args) {
  const value* v = arg(args, 0);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

// A required id: a non-empty string of at most max_id_length characters.
Check check_id(const value* v, std::string_view field) {
  std::string name(field);
  if (!v) return name + " is required";
  if (!v->is_string()) return name + " must be a string";
  auto s = std::string_view(v->as_string());
  if (s.empty()) return name + " must not be empty";
  if (utf16_length(s) > max_id_length) return name + " is longer than " + std::to_string(max_id_length) + " characters";
  return std::nullopt;
}

Check check_room_id(const value* v, std::string_view field = "roomId") {
  if (auto error = check_id(v, field)) return error;
  if (std::string_view(v->as_string()).starts_with(user_room_prefix)) {
    return std::string(field) + " must not start with \"user:\" (those are the users' own rooms)";
  }
  return std::nullopt;
}

Check check_text(const value* v, std::string_view field) {
  std::string name(field);
  if (!v) return name + " is required";
  if (!v->is_string()) return name + " must be a string";
  auto length = utf16_length(v->as_string());
  if (length == 0) return name + " must not be empty";
  if (length > max_text_length) return name + " is longer than " + std::to_string(max_text_length) + " characters";
  return std::nullopt;
}

}  // namespace

std::size_t utf16_length(std::string_view utf8) noexcept {
  std::size_t units = 0;
  for (unsigned char c : utf8) {
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    units += c >= 0xF0 ? 2 : 1;        // a 4-byte sequence is a surrogate pair in UTF-16
  }
  return units;
}

Check check_join_room(const sio::Args& args) { return check_room_id(arg(args, 0)); }
Check check_leave_room(const sio::Args& args) { return check_room_id(arg(args, 0)); }
Check check_room_members(const sio::Args& args) { return check_room_id(arg(args, 0)); }

Check check_send_message(const sio::Args& args) {
  const object* payload = object_arg(args);
  if (!payload) return "the payload must be an object {roomId, message}";
  if (auto error = check_room_id(payload->if_contains("roomId"))) return error;
  const value* message = payload->if_contains("message");
  if (!message) return "message is required";
  if (!message->is_object()) return "message must be an object {id, userId, username, text, timestamp}";
  return check_text(message->as_object().if_contains("text"), "message.text");
}

Check check_typing(const sio::Args& args) {
  const object* payload = object_arg(args);
  if (!payload) return "the payload must be an object {roomId, username}";
  if (auto error = check_room_id(payload->if_contains("roomId"))) return error;
  if (const value* username = payload->if_contains("username")) {
    if (!username->is_string()) return "username must be a string";
    if (utf16_length(username->as_string()) > max_id_length) {
      return "username is longer than " + std::to_string(max_id_length) + " characters";
    }
  }
  return std::nullopt;
}

Check check_user_online(const sio::Args& args) { return check_id(arg(args, 0), "userId"); }

Check check_direct_message(const sio::Args& args) {
  const object* payload = object_arg(args);
  if (!payload) return "the payload must be an object {to, text}";
  if (auto error = check_id(payload->if_contains("to"), "to")) return error;
  return check_text(payload->if_contains("text"), "text");
}

std::string chat_room(std::string_view room_id) { return "room:" + std::string(room_id); }

std::string user_room(std::string_view user_id) { return std::string(user_room_prefix) + std::string(user_id); }

std::string api_room(std::string_view name) {
  if (name.starts_with(user_room_prefix)) return std::string(name);
  return chat_room(name);
}

}  // namespace switchboard::app::chat
