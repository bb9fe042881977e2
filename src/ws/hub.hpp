#pragma once
// ws-internal: what a Hub shares with its sockets — routes and per-thread topics.

#include <memory>
#include <string>
#include <vector>

#include <switchboard/buffer.hpp>
#include <switchboard/websocket.hpp>

#include "net/loop.hpp"
#include "ws/socket.hpp"

namespace switchboard::ws::detail {

// Per loop, for Hub::stats(): handshakes its routes refused, written only on that loop.
struct RefusalCounters {
  net::LoopCounter bad_request;        // 400: a malformed handshake
  net::LoopCounter upgrade_required;   // 426: no Upgrade header, or a version other than 13
  net::LoopCounter forbidden_origin;   // 403: an Origin not in allowed_origins
  net::LoopCounter rejected;           // refused by the route's upgrade hook
};

struct HubState : std::enable_shared_from_this<HubState> {
  http::Server* server = nullptr;
  std::vector<std::unique_ptr<Route>> routes;
  std::vector<ThreadTopics> threads;  // indexed by loop; each touched only by its loop
  std::unique_ptr<RefusalCounters[]> refused;  // indexed by loop

  // Counts a refused handshake (an HTTP status from check_handshake, or 0 for the
  // upgrade hook's refusal) on the calling loop.
  void count_refusal(int status);

  // The calling loop thread's topics (it must be one of this server's loops).
  ThreadTopics& local();
  // Sends `frame` (its payload starts at `header_size`) to the topic's subscribers on
  // the calling thread, except `exclude`.
  void deliver(ThreadTopics& topics, std::string_view topic, const SharedBuffer& frame,
               std::size_t header_size, bool binary, const Socket* exclude);
  void publish(std::string_view topic, std::string_view message, bool binary, const Socket* exclude);
};

}  // namespace switchboard::ws::detail
