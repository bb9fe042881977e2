#pragma once
// Accepting TCP connections: one acceptor per loop on the same port (SO_REUSEPORT),
// so the kernel spreads new connections across the worker threads and no thread hands
// sockets to another.
//
// Thread safety: construct before or after the loops run; close() from any thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/connection.hpp"
#include "net/loop_group.hpp"

namespace switchboard::net {

struct ListenOptions {
  std::string host = "0.0.0.0";
  std::uint16_t port = 0;  // 0: any free port; port() tells which
  int backlog = 1024;
  // Connections past this are closed as soon as they are accepted (0: no limit).
  std::size_t max_connections = 0;
};

// Makes the protocol a new connection starts with; runs on the connection's loop
// thread, so it must be safe to call from every loop at once.
using ProtocolFactory = std::function<std::unique_ptr<Protocol>(Connection&)>;

class Listener {
 public:
  // Throws std::runtime_error naming the address and the reason when it cannot bind.
  Listener(LoopGroup& loops, const ListenOptions& options, ProtocolFactory factory);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  std::uint16_t port() const noexcept;
  // Stops accepting; live connections are not touched.
  void close();
  // Open connections accepted by this listener, on all loops.
  std::size_t connection_count() const noexcept;

  // What the acceptors and the connections share (net-internal).
  struct Shared;

 private:
  struct State;
  std::shared_ptr<Shared> shared_;
  std::vector<std::shared_ptr<State>> acceptors_;
};

}  // namespace switchboard::net
