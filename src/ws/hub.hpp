#pragma once
// ws-internal: what a Hub shares with its sockets — routes and per-thread topics.

#include <memory>
#include <string>
#include <vector>

#include <switchboard/buffer.hpp>
#include <switchboard/websocket.hpp>

#include "ws/socket.hpp"

namespace switchboard::ws::detail {

struct HubState : std::enable_shared_from_this<HubState> {
  http::Server* server = nullptr;
  std::vector<std::unique_ptr<Route>> routes;
  std::vector<ThreadTopics> threads;  // indexed by loop; each touched only by its loop

  // The calling loop thread's topics (it must be one of this server's loops).
  ThreadTopics& local();
  // Sends `frame` (its payload starts at `header_size`) to the topic's subscribers on
  // the calling thread, except `exclude`.
  void deliver(ThreadTopics& topics, std::string_view topic, const SharedBuffer& frame,
               std::size_t header_size, bool binary, const Socket* exclude);
  void publish(std::string_view topic, std::string_view message, bool binary, const Socket* exclude);
};

}  // namespace switchboard::ws::detail
