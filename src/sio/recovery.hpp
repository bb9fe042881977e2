#pragma once
// sio-internal: connection state recovery in memory (Node's SessionAwareAdapter): the
// sessions of recently disconnected sockets and the packets they may have missed,
// for one namespace. ../shared/reference/connection-state-recovery.md has the protocol.
//
// Thread safety: every method may be called from any loop (one mutex); it is only used
// when recovery is on, and then by each non-volatile emit without an ack.

#include <any>
#include <chrono>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <switchboard/socketio.hpp>

namespace switchboard::sio::detail {

class SessionStore {
 public:
  explicit SessionStore(std::chrono::milliseconds max_disconnection_duration)
      : max_age_(max_disconnection_duration) {}

  // Numbers an eligible event (§2.2: no ack, not volatile): appends the offset to
  // `args` (an extra trailing string argument, as Node does) and keeps a copy for the
  // sessions that may come back.
  void record(const std::set<std::string>& rooms, const std::set<std::string>& except, Args& args);

  struct Session {
    std::string sid;
    std::string pid;
    std::set<std::string> rooms;  // the socket's own id room included
    std::any data;
  };
  // Kept for max_disconnection_duration (§3.2, only for the recoverable reasons).
  void persist(Session session);

  struct Restored {
    Session session;
    std::vector<Args> missed;  // in order, each with its offset last
  };
  // The session and every packet after `offset` it would have received (§4), or
  // nullopt: unknown pid, expired session, or an offset no longer (or never) kept.
  std::optional<Restored> restore(const std::string& pid, const std::string& offset);

 private:
  struct Stored {
    std::string offset;
    std::set<std::string> rooms;
    std::set<std::string> except;
    Args args;
    std::chrono::steady_clock::time_point at;
  };
  struct Kept {
    Session session;
    std::chrono::steady_clock::time_point at;
  };
  std::string next_offset();
  void sweep(std::chrono::steady_clock::time_point now);

  std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  std::deque<Stored> packets_;
  std::unordered_map<std::string, Kept> sessions_;
  std::int64_t last_ms_ = -1;
  unsigned same_ms_ = 0;
  std::chrono::steady_clock::time_point last_sweep_{};
};

// The disconnect reasons after which a session is kept (§3.2).
bool recoverable_reason(std::string_view reason);

}  // namespace switchboard::sio::detail
