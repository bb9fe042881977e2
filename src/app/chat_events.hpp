#pragma once
// The payload checks of the chat contract (../shared/DESIGN.md, "The `switchboard`
// binary — the chat contract"), run on every event before its handler: a handler only
// ever sees a payload that passed. Pure functions over the event's arguments, so they
// are tested without a server.
//
// Each check returns nullopt when the arguments are acceptable, or the reason they are
// not — a sentence naming the field, sent back in the ack as {success: false, error}.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <switchboard/socketio.hpp>

namespace switchboard::app::chat {

// The contract's limit on message text, counted as JavaScript counts String#length
// (UTF-16 code units), since that is what the client's author sees.
inline constexpr std::size_t max_text_length = 10'000;
// Room ids, user ids and names: long enough for any real id, short enough that a
// client cannot make the server keep megabytes per room name.
inline constexpr std::size_t max_id_length = 256;
// Rooms whose names start with this are the users' own rooms (direct messages): no
// client may join them by name.
inline constexpr std::string_view user_room_prefix = "user:";

// UTF-16 code units of a UTF-8 string (a 4-byte sequence counts 2, as a surrogate pair).
std::size_t utf16_length(std::string_view utf8) noexcept;

using Check = std::optional<std::string>;

Check check_join_room(const sio::Args& args);     // (roomId)
Check check_leave_room(const sio::Args& args);    // (roomId)
Check check_room_members(const sio::Args& args);  // (roomId)
Check check_send_message(const sio::Args& args);  // ({roomId, message: {text, ...}})
Check check_typing(const sio::Args& args);        // ({roomId, username?})
Check check_user_online(const sio::Args& args);   // (userId)
Check check_direct_message(const sio::Args& args);  // ({to, text})

// The Socket.IO room behind a client's room id, and behind a user id. Chat rooms get a
// prefix of their own so that no room id a client picks can be another socket's id
// (every socket is in the room of its id).
std::string chat_room(std::string_view room_id);
std::string user_room(std::string_view user_id);
// A room as the HTTP API names it: "user:<id>" is that user's room, anything else the
// chat room of that id.
std::string api_room(std::string_view name);

}  // namespace switchboard::app::chat
