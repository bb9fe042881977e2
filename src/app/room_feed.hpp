#pragma once
// Followers of Socket.IO rooms that are not Socket.IO sockets: Server-Sent Events
// streams (GET /sse) and native WebSocket clients (/ws). Each follower gets what a
// member of its room in its namespace gets from broadcasts: events to the room, and
// events to the whole namespace (HTTP API publishes and broadcasts included).
//
// The namespaces' adapters (Metrics::adapter_factory) hand every broadcast to
// published(). While nobody follows anything (and nobody has for replay_window) that
// costs one relaxed load. Otherwise the event is formatted once, kept in a bounded
// history for Last-Event-ID replay, and posted to each loop that has followers; each
// loop walks only its own followers (shared-nothing, as the adapter does).
//
// Last-Event-ID: a stream that comes back with the id of the last event it saw gets the
// events it missed first, when they are still in the history: the last replay_events
// events (at most replay_bytes), recorded while anyone follows and for replay_window
// after the last follower left — time enough for EventSource's reconnection.
//
// Thread safety: published(), heartbeat() and active() from any thread; follow/unfollow
// on the follower's loop thread. Lifetime: outlives the http::Server's handlers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <switchboard/adapter.hpp>
#include <switchboard/http.hpp>
#include <switchboard/websocket.hpp>

namespace switchboard::app {

struct ThreadCounters;
class Metrics;

class RoomFeed {
 public:
  RoomFeed(http::Server& http, Metrics* metrics);
  ~RoomFeed();
  RoomFeed(const RoomFeed&) = delete;
  RoomFeed& operator=(const RoomFeed&) = delete;

  static constexpr std::size_t replay_events = 1024;
  static constexpr std::size_t replay_bytes = 4 * 1024 * 1024;
  static constexpr std::chrono::seconds replay_window{60};

  bool active() const noexcept {
    if (followers_.load(std::memory_order_relaxed) > 0) return true;
    std::int64_t until = record_until_ns_.load(std::memory_order_relaxed);
    return until != 0 && now_ns() < until;
  }
  // A broadcast of namespace packet.nsp to `options` (any thread).
  void published(const adapter::Packet& packet, const adapter::BroadcastOptions& options);
  // A comment line to every SSE stream (any thread).
  void heartbeat();

  // Loop thread. `room` is the Socket.IO room; `label` the name the client used.
  // An SSE stream: the response has begun streaming; the feed writes to it until it
  // closes.
  // `last_event_id`: the Last-Event-ID the client sent, if any; the events after it that
  // the history still holds are written first.
  void follow_sse(http::Response response, std::string nsp, std::string room,
                  std::optional<std::uint64_t> last_event_id = std::nullopt);
  // A WebSocket subscription; false if it already was one.
  bool follow_ws(ws::WebSocket& ws, std::string nsp, std::string room, std::string label);
  bool unfollow_ws(ws::WebSocket& ws, const std::string& nsp, const std::string& room);
  void unfollow_ws_all(ws::WebSocket& ws);

  // SSE "data:" for an event's arguments: one argument as itself, several as an array,
  // none as null. Pure; public for tests.
  static std::string sse_data(const boost::json::array& data);

 private:
  struct Event;
  struct Follower;
  struct Loop;
  void deliver(unsigned loop, const Event& event);
  Loop& here();
  // Marks the followers `which` accepts as gone (and erases them unless a delivery runs).
  template <typename Predicate>
  void drop(Loop& loop, Predicate which);

  static std::int64_t now_ns() noexcept;
  // Whether a member of `room` in `nsp` gets `event`.
  static bool reaches(const Event& event, const std::string& nsp, const std::string& room);
  void left();  // a follower left: keep recording for replay_window

  http::Server& http_;
  Metrics* metrics_;
  std::vector<std::unique_ptr<Loop>> loops_;
  std::atomic<std::int64_t> followers_{0};
  std::atomic<std::int64_t> record_until_ns_{0};
  // The history, and the ids: assigned under the lock so that the history is in id order.
  std::mutex history_mutex_;
  std::deque<std::shared_ptr<const Event>> history_;
  std::size_t history_bytes_ = 0;
  std::uint64_t next_id_ = 1;
};

}  // namespace switchboard::app

// ---------------------------------------------------------------------------------
// The endpoints that follow rooms.

#include <map>

#include <switchboard/socketio.hpp>

namespace switchboard::app {

struct FeedOptions {
  std::string api_key;  // set: SSE and /ws need it (Bearer header, or ?key=)
  bool ws_publish = false;
};

// GET /sse?room=R[&nsp=N]: the room's events as Server-Sent Events. R is named as the
// HTTP API names rooms ("user:<id>" or a chat room id). 404 for an unknown namespace,
// 400 without a room, 401 without the key when one is set.
void mount_sse(http::Router& router, RoomFeed& feed, std::map<std::string, sio::Namespace*, std::less<>> namespaces,
               FeedOptions options);

// The native WebSocket feed on the rooms of namespace `nsp` (DESIGN.md: `/ws`):
// {"subscribe": R} / {"unsubscribe": R} / {"publish": R, "event": E, "data": D} in,
// {"room": R, "event": E, "data": D} out, plus {"subscribed": R}, {"unsubscribed": R} and
// {"error": sentence} answers.
ws::Behavior ws_feed_behavior(RoomFeed& feed, sio::Namespace& nsp, FeedOptions options);

}  // namespace switchboard::app
