#include "ws/codec/accept_key.hpp"

#include "core/encoding.hpp"

namespace switchboard::ws {

std::string accept_key(std::string_view key) {
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input += guid;
  auto digest = core::sha1(input);
  return core::base64_encode(std::span<const std::byte>(digest));
}

}  // namespace switchboard::ws
