#include "app/room_feed.hpp"

#include <algorithm>
#include <charconv>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/spdlog.h>

#include "app/chat_events.hpp"
#include "app/http_api.hpp"
#include "app/metrics.hpp"

namespace switchboard::app {

namespace json = boost::json;

struct RoomFeed::Event {
  std::uint64_t id = 0;
  std::string nsp;
  std::set<adapter::Room> rooms;
  std::set<adapter::Room> except;
  std::string sse;        // the whole SSE event, "id: ...\n\n"
  std::string ws_suffix;  // ,"event":E,"data":D}
};

struct RoomFeed::Follower {
  std::uint64_t id = 0;
  bool sse = true;
  std::string nsp;
  std::string room;
  std::string ws_prefix;  // {"room":<label>
  http::Response response;
  ws::WebSocket* ws = nullptr;
  bool gone = false;  // left during a delivery; erased after it
  std::uint64_t replayed_to = 0;  // events up to this id were written by the replay
};

struct RoomFeed::Loop {
  std::vector<Follower> followers;  // touched only on this loop
  std::atomic<std::int64_t> count{0};
  std::atomic<std::int64_t> sse_count{0};
  std::uint64_t next_id = 1;
  // A write in a delivery may close a follower, whose close handler then leaves: while
  // this is set, leaving only marks it gone.
  bool delivering = false;
};

template <typename Predicate>
void RoomFeed::drop(Loop& loop, Predicate which) {
  for (Follower& f : loop.followers) {
    if (f.gone || !which(f)) continue;
    f.gone = true;
    loop.count.fetch_sub(1, std::memory_order_relaxed);
    followers_.fetch_sub(1, std::memory_order_relaxed);
    left();
    if (f.sse) {
      loop.sse_count.fetch_sub(1, std::memory_order_relaxed);
      if (metrics_) metrics_->local().sse_closed.add();
    }
  }
  if (!loop.delivering) std::erase_if(loop.followers, [](const Follower& f) { return f.gone; });
}

RoomFeed::RoomFeed(http::Server& http, Metrics* metrics) : http_(http), metrics_(metrics) {
  for (unsigned i = 0; i < http.threads(); ++i) loops_.push_back(std::make_unique<Loop>());
  // An SSE stream never finishes by itself: end this loop's when the server stops, so
  // that shutdown does not wait out its grace period for them.
  http.on_shutdown([this] {
    Loop& loop = here();
    std::vector<http::Response> streams;
    for (Follower& f : loop.followers) {
      if (f.sse && !f.gone) streams.push_back(f.response);
    }
    for (auto& response : streams) response.end();
  });
}

RoomFeed::~RoomFeed() = default;

RoomFeed::Loop& RoomFeed::here() { return *loops_[http_.current_loop().value_or(0)]; }

std::string RoomFeed::sse_data(const json::array& data) {
  // data[0] is the event name.
  if (data.size() <= 1) return "null";
  if (data.size() == 2) return json::serialize(data[1]);
  json::array args(data.begin() + 1, data.end());
  return json::serialize(args);
}

std::int64_t RoomFeed::now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void RoomFeed::left() {
  record_until_ns_.store(now_ns() + std::chrono::nanoseconds(replay_window).count(), std::memory_order_relaxed);
}

void RoomFeed::published(const adapter::Packet& packet, const adapter::BroadcastOptions& options) {
  if (packet.data.empty() || !packet.data[0].is_string()) return;
  auto event = std::make_shared<Event>();
  event->nsp = packet.nsp;
  event->rooms = options.rooms;
  event->except = options.except;
  std::string name(packet.data[0].get_string());
  std::string data = sse_data(packet.data);
  // An SSE field ends at a line break: one in an event name would forge fields.
  std::string sse_name = name;
  std::replace_if(sse_name.begin(), sse_name.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  event->ws_suffix = ",\"event\":" + json::serialize(json::string(name)) + ",\"data\":" + data + "}";
  std::vector<unsigned> targets;
  {
    // The id, the history and the choice of loops under one lock: a stream that starts
    // (follow_sse, under the same lock) either finds this event in the history or is
    // counted in its loop before the event picks its loops.
    std::lock_guard lock(history_mutex_);
    event->id = next_id_++;
    event->sse = "id: " + std::to_string(event->id) + "\nevent: " + sse_name + "\ndata: " + data + "\n\n";
    history_.push_back(event);
    history_bytes_ += event->sse.size() + event->ws_suffix.size();
    while (!history_.empty() && (history_.size() > replay_events || history_bytes_ > replay_bytes)) {
      history_bytes_ -= history_.front()->sse.size() + history_.front()->ws_suffix.size();
      history_.pop_front();
    }
    for (unsigned i = 0; i < loops_.size(); ++i) {
      if (loops_[i]->count.load(std::memory_order_relaxed) > 0) targets.push_back(i);
    }
  }
  std::shared_ptr<const Event> shared = std::move(event);
  for (unsigned i : targets) http_.post(i, [this, i, shared] { deliver(i, *shared); });
}

void RoomFeed::deliver(unsigned index, const Event& event) {
  Loop& loop = *loops_[index];
  loop.delivering = true;
  // By index: nothing is added during a delivery, and leaving only marks.
  for (std::size_t i = 0; i < loop.followers.size(); ++i) {
    Follower& f = loop.followers[i];
    if (f.gone || event.id <= f.replayed_to || !reaches(event, f.nsp, f.room)) continue;
    if (f.sse) {
      if (!f.response.write(event.sse)) {
        std::uint64_t id = f.id;
        drop(loop, [id](const Follower& g) { return g.id == id; });
      }
    } else {
      std::string frame = f.ws_prefix;
      frame += event.ws_suffix;
      f.ws->send(frame);
    }
  }
  loop.delivering = false;
  std::erase_if(loop.followers, [](const Follower& f) { return f.gone; });
}

void RoomFeed::heartbeat() {
  for (unsigned i = 0; i < loops_.size(); ++i) {
    if (loops_[i]->sse_count.load(std::memory_order_relaxed) == 0) continue;
    http_.post(i, [this, i] {
      Loop& loop = *loops_[i];
      loop.delivering = true;
      for (std::size_t k = 0; k < loop.followers.size(); ++k) {
        Follower& f = loop.followers[k];
        if (f.gone || !f.sse || f.response.write(": heartbeat\n\n")) continue;
        std::uint64_t id = f.id;
        drop(loop, [id](const Follower& g) { return g.id == id; });
      }
      loop.delivering = false;
      std::erase_if(loop.followers, [](const Follower& f) { return f.gone; });
    });
  }
}

void RoomFeed::follow_sse(http::Response response, std::string nsp, std::string room,
                          std::optional<std::uint64_t> last_event_id) {
  Loop& loop = here();
  std::uint64_t id = loop.next_id++;
  response.on_abort([this, &loop, id] { drop(loop, [id](const Follower& f) { return f.id == id; }); });
  Follower f;
  f.id = id;
  f.sse = true;
  f.nsp = std::move(nsp);
  f.room = std::move(room);
  f.response = response;
  std::string replay;
  {
    std::lock_guard lock(history_mutex_);
    if (last_event_id) {
      for (const auto& event : history_) {
        if (event->id > *last_event_id && reaches(*event, f.nsp, f.room)) replay += event->sse;
      }
    }
    // Events already in the history that are posted to this loop come after this
    // handler: the replay has written them.
    f.replayed_to = next_id_ - 1;
    loop.followers.push_back(std::move(f));
    loop.count.fetch_add(1, std::memory_order_relaxed);
    loop.sse_count.fetch_add(1, std::memory_order_relaxed);
    followers_.fetch_add(1, std::memory_order_relaxed);
  }
  if (metrics_) metrics_->local().sse_opened.add();
  // A failed write ends the stream through on_abort, which drops the follower.
  if (!replay.empty()) response.write(replay);
}

bool RoomFeed::follow_ws(ws::WebSocket& ws, std::string nsp, std::string room, std::string label) {
  Loop& loop = here();
  for (const Follower& f : loop.followers) {
    if (!f.gone && !f.sse && f.ws == &ws && f.nsp == nsp && f.room == room) return false;
  }
  Follower f;
  f.id = loop.next_id++;
  f.sse = false;
  f.nsp = std::move(nsp);
  f.room = std::move(room);
  f.ws_prefix = "{\"room\":" + json::serialize(json::string(label));
  f.ws = &ws;
  std::lock_guard lock(history_mutex_);
  // Events from before the subscription that are still on their way are not for it.
  f.replayed_to = next_id_ - 1;
  loop.followers.push_back(std::move(f));
  loop.count.fetch_add(1, std::memory_order_relaxed);
  followers_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool RoomFeed::unfollow_ws(ws::WebSocket& ws, const std::string& nsp, const std::string& room) {
  Loop& loop = here();
  bool found = false;
  drop(loop, [&](const Follower& f) {
    bool match = !f.sse && f.ws == &ws && f.nsp == nsp && f.room == room;
    found = found || match;
    return match;
  });
  return found;
}

void RoomFeed::unfollow_ws_all(ws::WebSocket& ws) {
  drop(here(), [&](const Follower& f) { return !f.sse && f.ws == &ws; });
}

bool RoomFeed::reaches(const Event& event, const std::string& nsp, const std::string& room) {
  if (event.nsp != nsp) return false;
  if (!event.rooms.empty() && !event.rooms.contains(room)) return false;
  return !event.except.contains(room);
}

// ---------------------------------------------------------------------------------

namespace {

// The API key from "Authorization: Bearer" or ?key= (EventSource and browsers'
// WebSocket cannot set headers).
bool key_given(const http::Request& req, const std::string& key) {
  if (key.empty() || authorized(req, key)) return true;
  auto param = req.query_param("key");
  return param && api_key_matches(*param, key);
}

}  // namespace

void mount_sse(http::Router& router, RoomFeed& feed, std::map<std::string, sio::Namespace*, std::less<>> namespaces,
               FeedOptions options) {
  router.get("/sse", [&feed, namespaces = std::move(namespaces), options = std::move(options)](http::Request& req,
                                                                                            http::Response& res) {
    if (!key_given(req, options.api_key)) {
      res.send(401, "{\"error\":\"a valid API key is required\"}", "application/json");
      return;
    }
    auto room = req.query_param("room");
    if (!room || room->empty()) {
      res.send(400, "{\"error\":\"room is required\",\"field\":\"room\"}", "application/json");
      return;
    }
    std::string nsp = req.query_param("nsp").value_or("/");
    if (!namespaces.contains(nsp)) {
      res.send(404, "{\"error\":\"no such namespace\",\"field\":\"nsp\"}", "application/json");
      return;
    }
    res.header("Content-Type", "text/event-stream; charset=utf-8");
    res.header("Cache-Control", "no-cache");
    res.header("X-Accel-Buffering", "no");
    res.begin_stream();
    // A first comment so that clients (and proxies) see the stream open at once; and the
    // reconnection delay EventSource should use.
    res.write(": following " + nsp + " " + *room + "\nretry: 2000\n\n");
    std::optional<std::uint64_t> last;
    std::string_view header = req.header("Last-Event-ID");
    std::uint64_t value = 0;
    if (!header.empty() && std::from_chars(header.data(), header.data() + header.size(), value).ec == std::errc()) {
      last = value;
    }
    feed.follow_sse(res, std::move(nsp), chat::api_room(*room), last);
  });
}

ws::Behavior ws_feed_behavior(RoomFeed& feed, sio::Namespace& nsp, FeedOptions options) {
  ws::Behavior behavior;
  behavior.max_message_size = 64 * 1024;
  std::string key = options.api_key;
  behavior.upgrade = [key](ws::Upgrade& upgrade) {
    if (!key_given(upgrade.request(), key)) upgrade.reject(401, "a valid API key is required\n");
  };
  behavior.message = [&feed, &nsp, publish = options.ws_publish](ws::WebSocket& ws, std::string_view message, bool) {
    auto answer_error = [&ws](std::string_view sentence) {
      ws.send(json::serialize(json::object{{"error", sentence}}));
    };
    boost::system::error_code ec;
    json::value value = json::parse(message, ec);
    if (ec || !value.is_object()) {
      answer_error("a frame must be a JSON object");
      return;
    }
    const json::object& frame = value.as_object();
    auto room_of = [&frame](std::string_view field) -> std::optional<std::string> {
      const json::value* v = frame.if_contains(field);
      if (!v || !v->is_string() || v->get_string().empty() || v->get_string().size() > chat::max_id_length) {
        return std::nullopt;
      }
      return std::string(v->get_string());
    };
    if (frame.contains("subscribe")) {
      auto room = room_of("subscribe");
      if (!room) return answer_error("subscribe takes a room name (a non-empty string)");
      feed.follow_ws(ws, nsp.name(), chat::api_room(*room), *room);
      ws.send(json::serialize(json::object{{"subscribed", *room}}));
    } else if (frame.contains("unsubscribe")) {
      auto room = room_of("unsubscribe");
      if (!room) return answer_error("unsubscribe takes a room name (a non-empty string)");
      feed.unfollow_ws(ws, nsp.name(), chat::api_room(*room));
      ws.send(json::serialize(json::object{{"unsubscribed", *room}}));
    } else if (frame.contains("publish")) {
      if (!publish) return answer_error("publishing is not enabled on this server (ws-publish)");
      auto room = room_of("publish");
      if (!room) return answer_error("publish takes a room name (a non-empty string)");
      const json::value* event = frame.if_contains("event");
      if (!event || !event->is_string() || event->get_string().empty()) {
        return answer_error("publish needs an event name (a non-empty string)");
      }
      static constexpr std::string_view reserved[] = {"connect",       "connect_error", "disconnect",
                                                      "disconnecting", "newListener",   "removeListener"};
      if (std::find(std::begin(reserved), std::end(reserved), std::string_view(event->get_string())) !=
          std::end(reserved)) {
        return answer_error("that event name is reserved by Socket.IO");
      }
      const json::value* data = frame.if_contains("data");
      sio::Args args;
      if (data) args.add(*data);
      nsp.to(chat::api_room(*room)).emit(std::string_view(event->get_string()), std::move(args));
    } else {
      answer_error("expected subscribe, unsubscribe or publish");
    }
  };
  behavior.close = [&feed](ws::WebSocket& ws, std::uint16_t, std::string_view) { feed.unfollow_ws_all(ws); };
  return behavior;
}

}  // namespace switchboard::app
