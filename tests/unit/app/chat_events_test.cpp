// The chat contract's payload checks: what each event accepts and the field each
// refusal names; UTF-16 lengths as JavaScript counts them; the room names.

#include "app/chat_events.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace switchboard::app::chat {
namespace {

sio::Args args(std::string_view json_array) {
  sio::Args out;
  out.values = boost::json::parse(json_array).as_array();
  return out;
}

void expect_ok(Check (*check)(const sio::Args&), std::string_view json) {
  auto error = check(args(json));
  EXPECT_FALSE(error) << json << ": " << *error;
}

void expect_refused(Check (*check)(const sio::Args&), std::string_view json, std::string_view field) {
  auto error = check(args(json));
  ASSERT_TRUE(error) << json;
  EXPECT_NE(error->find(field), std::string::npos) << json << ": " << *error;
}

TEST(Utf16Length, CountsAsJavaScriptDoes) {
  EXPECT_EQ(utf16_length(""), 0u);
  EXPECT_EQ(utf16_length("abc"), 3u);
  EXPECT_EQ(utf16_length("é"), 1u);
  EXPECT_EQ(utf16_length("✓"), 1u);
  EXPECT_EQ(utf16_length("😀"), 2u);
}

TEST(CheckSendMessage, AcceptsTheContractsShape) {
  expect_ok(check_send_message, R"([{"roomId":"r","message":{"id":"1","userId":"u","username":"U","text":"hi","timestamp":1}}])");
  expect_ok(check_send_message, R"([{"roomId":"r","message":{"text":"x"}}])");
  expect_ok(check_send_message, "[{\"roomId\":\"r\",\"message\":{\"text\":\"" + std::string(10'000, 'a') + "\"}}]");
  std::string emoji;
  for (int i = 0; i < 5000; ++i) emoji += "😀";
  expect_ok(check_send_message, "[{\"roomId\":\"r\",\"message\":{\"text\":\"" + emoji + "\"}}]");
}

TEST(CheckSendMessage, RefusesWhatTheContractCallsInvalid) {
  expect_refused(check_send_message, "[]", "payload");
  expect_refused(check_send_message, R"(["r"])", "payload");
  expect_refused(check_send_message, R"([{"message":{"text":"x"}}])", "roomId");
  expect_refused(check_send_message, R"([{"roomId":"","message":{"text":"x"}}])", "roomId");
  expect_refused(check_send_message, R"([{"roomId":1,"message":{"text":"x"}}])", "roomId");
  expect_refused(check_send_message, R"([{"roomId":"user:bob","message":{"text":"x"}}])", "roomId");
  expect_refused(check_send_message, R"([{"roomId":"r"}])", "message");
  expect_refused(check_send_message, R"([{"roomId":"r","message":[]}])", "message");
  expect_refused(check_send_message, R"([{"roomId":"r","message":{}}])", "message.text");
  expect_refused(check_send_message, R"([{"roomId":"r","message":{"text":1}}])", "message.text");
  expect_refused(check_send_message, R"([{"roomId":"r","message":{"text":""}}])", "message.text");
  expect_refused(check_send_message, "[{\"roomId\":\"r\",\"message\":{\"text\":\"" + std::string(10'001, 'a') + "\"}}]",
                 "10000");
  std::string emoji;
  for (int i = 0; i < 5001; ++i) emoji += "😀";
  expect_refused(check_send_message, "[{\"roomId\":\"r\",\"message\":{\"text\":\"" + emoji + "\"}}]", "10000");
}

TEST(CheckRooms, RoomIdsAreShortNonEmptyStringsOutsideUserRooms) {
  for (auto check : {check_join_room, check_leave_room, check_room_members}) {
    expect_ok(check, R"(["lobby"])");
    expect_ok(check, "[\"" + std::string(256, 'r') + "\"]");
    expect_refused(check, "[\"" + std::string(257, 'r') + "\"]", "roomId");
    expect_refused(check, "[]", "roomId");
    expect_refused(check, R"([""])", "roomId");
    expect_refused(check, R"([null])", "roomId");
    expect_refused(check, R"([{"roomId":"x"}])", "roomId");
    expect_refused(check, R"(["user:someone"])", "user:");
  }
}

TEST(CheckTyping, UsernameIsOptionalButAStringWhenGiven) {
  expect_ok(check_typing, R"([{"roomId":"r","username":"Ann"}])");
  expect_ok(check_typing, R"([{"roomId":"r"}])");
  expect_refused(check_typing, R"([{"roomId":"r","username":5}])", "username");
  expect_refused(check_typing, R"([{"username":"Ann"}])", "roomId");
  expect_refused(check_typing, R"(["r"])", "payload");
}

TEST(CheckUserOnline, AnIdString) {
  expect_ok(check_user_online, R"(["alice"])");
  expect_refused(check_user_online, R"([""])", "userId");
  expect_refused(check_user_online, R"([7])", "userId");
  expect_refused(check_user_online, "[]", "userId");
}

TEST(CheckDirectMessage, ToAndText) {
  expect_ok(check_direct_message, R"([{"to":"bob","text":"hi"}])");
  expect_refused(check_direct_message, R"([{"text":"hi"}])", "to");
  expect_refused(check_direct_message, R"([{"to":"","text":"hi"}])", "to");
  expect_refused(check_direct_message, R"([{"to":"bob"}])", "text");
  expect_refused(check_direct_message, R"([{"to":"bob","text":""}])", "text");
  expect_refused(check_direct_message, "[{\"to\":\"bob\",\"text\":\"" + std::string(10'001, 'a') + "\"}]", "text");
  expect_refused(check_direct_message, R"(["bob"])", "payload");
}

TEST(Rooms, ChatRoomsCannotBeUserRoomsOrSocketIds) {
  EXPECT_EQ(chat_room("lobby"), "room:lobby");
  EXPECT_EQ(user_room("alice"), "user:alice");
  EXPECT_EQ(api_room("lobby"), "room:lobby");
  EXPECT_EQ(api_room("user:alice"), "user:alice");
}

}  // namespace
}  // namespace switchboard::app::chat
