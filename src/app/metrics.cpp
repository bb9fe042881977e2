#include "app/metrics.hpp"

#include <algorithm>
#include <string>

#include "app/prometheus.hpp"
#include "app/room_feed.hpp"

namespace switchboard::app {

std::size_t event_slot(std::string_view event) noexcept {
  for (std::size_t i = 0; i < tracked_events.size(); ++i) {
    if (tracked_events[i] == event) return i;
  }
  return tracked_events.size();
}

std::string_view event_label(std::size_t slot) noexcept {
  return slot < tracked_events.size() ? tracked_events[slot] : std::string_view("other");
}

std::uint64_t Totals::events_in_sum() const noexcept {
  std::uint64_t sum = 0;
  for (auto n : events_in) sum += n;
  return sum;
}

std::uint64_t Totals::events_out_sum() const noexcept {
  std::uint64_t sum = 0;
  for (auto n : events_out) sum += n;
  return sum;
}

namespace {

std::atomic<std::uint64_t> next_instance{1};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A prepared broadcast with what the counting needs: its event's slot, and whether it is
// volatile. One small allocation per broadcast (not per recipient).
struct TaggedPrepared final : adapter::Prepared {
  std::shared_ptr<const adapter::Prepared> inner;
  std::size_t slot = 0;
  bool volatile_ = false;
  bool counted = true;
};

// The Host that Socket.IO gives an adapter, seen through: deliveries are counted on the
// member's loop, in that loop's block.
class CountingHost final : public adapter::Host {
 public:
  CountingHost(adapter::Host& inner, Metrics& metrics, const std::vector<std::string>& uncounted)
      : inner_(inner), metrics_(metrics), uncounted_(uncounted) {}

  unsigned loops() const noexcept override { return inner_.loops(); }
  std::optional<unsigned> current_loop() const noexcept override { return inner_.current_loop(); }
  void run_on(unsigned loop, std::function<void()> task) override { inner_.run_on(loop, std::move(task)); }
  void post(unsigned loop, std::function<void()> task) override { inner_.post(loop, std::move(task)); }

  std::shared_ptr<const adapter::Prepared> prepare(const adapter::Packet& packet,
                                                   const adapter::BroadcastOptions& options) override {
    auto tagged = std::make_shared<TaggedPrepared>();
    tagged->inner = inner_.prepare(packet, options);
    if (!packet.data.empty() && packet.data[0].is_string()) {
      const auto& name = packet.data[0].get_string();
      tagged->slot = event_slot(std::string_view(name.data(), name.size()));
    } else {
      tagged->slot = tracked_events.size();
    }
    tagged->volatile_ = options.volatile_;
    tagged->counted = std::find(uncounted_.begin(), uncounted_.end(), packet.nsp) == uncounted_.end();
    return tagged;
  }
  bool deliver(adapter::Member& member, const adapter::Prepared& prepared,
               const std::shared_ptr<adapter::AckCollector>& acks) override {
    const auto* tagged = dynamic_cast<const TaggedPrepared*>(&prepared);
    if (!tagged) return inner_.deliver(member, prepared, acks);
    bool sent = inner_.deliver(member, *tagged->inner, acks);
    if (tagged->counted) {
      ThreadCounters& counters = metrics_.local();
      if (sent) {
        counters.events_out[tagged->slot].add();
      } else if (tagged->volatile_) {
        counters.dropped_volatile.add();
      }
    }
    return sent;
  }
  void join(adapter::Member& member, const adapter::Room& room) override { inner_.join(member, room); }
  void leave(adapter::Member& member, const adapter::Room& room) override { inner_.leave(member, room); }
  void disconnect(adapter::Member& member, bool close) override { inner_.disconnect(member, close); }
  adapter::SocketInfo describe(const adapter::Member& member) override { return inner_.describe(member); }

 private:
  adapter::Host& inner_;
  Metrics& metrics_;
  const std::vector<std::string>& uncounted_;
};

struct HostHolder {
  HostHolder(adapter::Host& inner, Metrics& metrics, const std::vector<std::string>& uncounted)
      : counting(inner, metrics, uncounted) {}
  CountingHost counting;
};

}  // namespace

// The in-memory adapter, with counting deliveries, room counts, and the room feed.
class ObservedAdapter final : private HostHolder, public adapter::Adapter {
 public:
  ObservedAdapter(adapter::Host& host, Metrics& metrics, RoomFeed* feed, std::shared_ptr<std::vector<std::string>> uncounted)
      : HostHolder(host, metrics, *uncounted), adapter::Adapter(counting), feed_(feed), uncounted_(std::move(uncounted)) {
    // create/delete run under the adapter's lock, once per room (not per message).
    events().create_room = [this](const adapter::Room& room) { kind(room).fetch_add(1, std::memory_order_relaxed); };
    events().delete_room = [this](const adapter::Room& room) { kind(room).fetch_sub(1, std::memory_order_relaxed); };
  }

  void broadcast(const adapter::Packet& packet, const adapter::BroadcastOptions& options) override {
    if (feed_ && feed_->active()) feed_->published(packet, options);
    adapter::Adapter::broadcast(packet, options);
  }

  Metrics::RoomCounts rooms() const {
    return {chat_.load(std::memory_order_relaxed), user_.load(std::memory_order_relaxed),
            other_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<std::int64_t>& kind(const adapter::Room& room) {
    if (room.starts_with("room:")) return chat_;
    if (room.starts_with("user:")) return user_;
    return other_;
  }
  RoomFeed* feed_;
  std::shared_ptr<std::vector<std::string>> uncounted_;
  std::atomic<std::int64_t> chat_{0}, user_{0}, other_{0};
};

Metrics::Metrics(http::Server& http)
    : http_(http),
      instance_(next_instance.fetch_add(1)),
      lag_(std::make_shared<std::vector<LagProbe>>(http.threads())) {}

Metrics::~Metrics() = default;

ThreadCounters& Metrics::local() {
  struct Cache {
    std::uint64_t instance = 0;
    ThreadCounters* block = nullptr;
  };
  thread_local Cache cache;
  if (cache.instance == instance_) return *cache.block;
  std::lock_guard lock(blocks_mutex_);
  blocks_.push_back(std::make_unique<ThreadCounters>());
  cache = {instance_, blocks_.back().get()};
  return *cache.block;
}

Totals Metrics::totals() const {
  Totals totals;
  std::uint64_t ws_opened = 0, ws_closed = 0, sse_opened = 0, sse_closed = 0;
  std::lock_guard lock(blocks_mutex_);
  for (const auto& block : blocks_) {
    for (std::size_t i = 0; i < event_slots; ++i) {
      totals.events_in[i] += block->events_in[i].get();
      totals.events_out[i] += block->events_out[i].get();
    }
    totals.dropped_volatile += block->dropped_volatile.get();
    totals.dropped_rate_limited += block->dropped_rate_limited.get();
    totals.connect_refused_auth += block->connect_refused_auth.get();
    ws_opened += block->native_ws_opened.get();
    ws_closed += block->native_ws_closed.get();
    sse_opened += block->sse_opened.get();
    sse_closed += block->sse_closed.get();
  }
  totals.native_ws = ws_opened >= ws_closed ? ws_opened - ws_closed : 0;
  totals.sse = sse_opened >= sse_closed ? sse_opened - sse_closed : 0;
  return totals;
}

adapter::AdapterFactory Metrics::adapter_factory(RoomFeed* feed, std::vector<std::string> uncounted) {
  auto shared = std::make_shared<std::vector<std::string>>(std::move(uncounted));
  return [this, feed, shared](adapter::Host& host) -> std::unique_ptr<adapter::Adapter> {
    return std::make_unique<ObservedAdapter>(host, *this, feed, shared);
  };
}

void Metrics::instrument(sio::Server& io) {
  // One observer for the whole server: a catch-all on every socket would give each
  // socket handlers of its own.
  auto counted = [this](sio::Socket& socket) {
    sio::Namespace* nsp = &socket.namespace_();
    return std::find(namespaces_.begin(), namespaces_.end(), nsp) != namespaces_.end();
  };
  sio::SocketObserver observer;
  observer.event_received = [this, counted](sio::Socket& socket, std::string_view event, sio::Args&) {
    if (counted(socket)) local().events_in[event_slot(event)].add();
  };
  observer.event_sent = [this, counted](sio::Socket& socket, std::string_view event, sio::Args&) {
    if (counted(socket)) local().events_out[event_slot(event)].add();
  };
  io.observe(std::move(observer));
}

void Metrics::instrument(ws::Behavior& behavior) {
  auto open = std::move(behavior.open);
  auto close = std::move(behavior.close);
  behavior.open = [this, open = std::move(open)](ws::WebSocket& ws) {
    local().native_ws_opened.add();
    if (open) open(ws);
  };
  behavior.close = [this, close = std::move(close)](ws::WebSocket& ws, std::uint16_t code, std::string_view reason) {
    local().native_ws_closed.add();
    if (close) close(ws, code, reason);
  };
}

void Metrics::probe_loops() {
  auto lag = lag_;
  std::int64_t now = now_ns();
  for (unsigned i = 0; i < lag->size(); ++i) {
    LagProbe& probe = (*lag)[i];
    // One probe in flight per loop: a stuck loop is not flooded.
    if (probe.sent_ns.load(std::memory_order_relaxed) > probe.done_ns.load(std::memory_order_relaxed)) continue;
    probe.sent_ns.store(now, std::memory_order_relaxed);
    http_.post(i, [lag, i, now] {
      std::int64_t done = now_ns();
      LagProbe& p = (*lag)[i];
      p.lag_ns.store(done - now, std::memory_order_relaxed);
      p.done_ns.store(done, std::memory_order_relaxed);
    });
  }
}

std::vector<double> Metrics::loop_lag_seconds() const {
  std::vector<double> seconds;
  std::int64_t now = now_ns();
  for (const LagProbe& probe : *lag_) {
    std::int64_t lag = probe.lag_ns.load(std::memory_order_relaxed);
    std::int64_t sent = probe.sent_ns.load(std::memory_order_relaxed);
    if (sent > probe.done_ns.load(std::memory_order_relaxed)) lag = std::max(lag, now - sent);
    seconds.push_back(static_cast<double>(lag) / 1e9);
  }
  return seconds;
}

Metrics::RoomCounts Metrics::rooms(sio::Namespace& nsp) const { return rooms_of(nsp.adapter()); }

Metrics::RoomCounts Metrics::rooms_of(adapter::Adapter& adapter) {
  if (auto* observed = dynamic_cast<ObservedAdapter*>(&adapter)) return observed->rooms();
  return {};
}

std::pair<std::uint64_t, std::uint64_t> Metrics::bytes() const {
  std::pair<std::uint64_t, std::uint64_t> sum{0, 0};
  for (const auto& loop : http_.loop_stats()) {
    sum.first += loop.bytes_in;
    sum.second += loop.bytes_out;
  }
  return sum;
}

std::string Metrics::render() const {
  PrometheusWriter out;
  Totals t = totals();

  out.family("switchboard_connections", "Client connections open now, by transport.", MetricType::gauge);
  eio::Server::Stats engine;
  if (engine_) engine = engine_->stats();
  out.sample("switchboard_connections", {{"transport", "polling"}}, static_cast<std::uint64_t>(engine.polling));
  out.sample("switchboard_connections", {{"transport", "websocket"}}, static_cast<std::uint64_t>(engine.websocket));
  out.sample("switchboard_connections", {{"transport", "native_ws"}}, t.native_ws);
  out.sample("switchboard_connections", {{"transport", "sse"}}, t.sse);

  out.family("switchboard_socketio_sockets", "Socket.IO sockets connected now, by namespace.", MetricType::gauge);
  for (sio::Namespace* nsp : namespaces_) {
    out.sample("switchboard_socketio_sockets", {{"namespace", nsp->name()}},
               static_cast<std::uint64_t>(nsp->socket_count()));
  }
  out.family("switchboard_rooms",
             "Rooms that have members now, by namespace and kind: chat (joined rooms), user (user:<id>), "
             "other (each socket's own room, as in Socket.IO).",
             MetricType::gauge);
  for (sio::Namespace* nsp : namespaces_) {
    RoomCounts rooms = this->rooms(*nsp);
    out.sample("switchboard_rooms", {{"namespace", nsp->name()}, {"kind", "chat"}}, rooms.chat);
    out.sample("switchboard_rooms", {{"namespace", nsp->name()}, {"kind", "user"}}, rooms.user);
    out.sample("switchboard_rooms", {{"namespace", nsp->name()}, {"kind", "other"}}, rooms.other);
  }

  out.family("switchboard_events_in_total",
             "Socket.IO events received from clients, by event name (names outside the chat contract count as "
             "\"other\"); counted before rate limits and validation.",
             MetricType::counter);
  for (std::size_t i = 0; i < event_slots; ++i) {
    out.sample("switchboard_events_in_total", {{"event", event_label(i)}}, t.events_in[i]);
  }
  out.family("switchboard_events_out_total",
             "Socket.IO events queued to clients, one per recipient, by event name.", MetricType::counter);
  for (std::size_t i = 0; i < event_slots; ++i) {
    out.sample("switchboard_events_out_total", {{"event", event_label(i)}}, t.events_out[i]);
  }

  std::uint64_t bytes_in = 0, bytes_out = 0, slow = 0;
  for (const auto& loop : http_.loop_stats()) {
    bytes_in += loop.bytes_in;
    bytes_out += loop.bytes_out;
    slow += loop.slow_consumer_disconnects;
  }
  out.family("switchboard_bytes_in_total", "Bytes read from client sockets (every protocol, headers included).",
             MetricType::counter);
  out.sample("switchboard_bytes_in_total", {}, bytes_in);
  out.family("switchboard_bytes_out_total", "Bytes written to client sockets (taken by the kernel).",
             MetricType::counter);
  out.sample("switchboard_bytes_out_total", {}, bytes_out);

  out.family("switchboard_dropped_total",
             "Events not delivered on purpose: volatile broadcasts to a connection that could not take them, "
             "events over a socket's rate limit.",
             MetricType::counter);
  out.sample("switchboard_dropped_total", {{"reason", "volatile"}}, t.dropped_volatile);
  out.sample("switchboard_dropped_total", {{"reason", "rate_limited"}}, t.dropped_rate_limited);

  out.family("switchboard_slow_consumer_disconnects_total",
             "Connections closed because their send queue passed its hard limit.", MetricType::counter);
  out.sample("switchboard_slow_consumer_disconnects_total", {}, slow);

  out.family("switchboard_handshake_failures_total",
             "Handshakes refused, by reason: Engine.IO errors (unknown_transport, unknown_sid, "
             "bad_handshake_method, bad_request, forbidden, unsupported_protocol_version), Socket.IO "
             "auth (authentication_error), and native WebSocket routes (ws_bad_request 400, "
             "ws_upgrade_required 426, ws_forbidden_origin 403, ws_rejected: refused by the route, e.g. no API key).",
             MetricType::counter);
  for (int code = 0; code < static_cast<int>(eio::Server::Stats::refusal_codes); ++code) {
    out.sample("switchboard_handshake_failures_total", {{"reason", eio::Server::refusal_reason(code)}},
               engine.refused[static_cast<std::size_t>(code)]);
  }
  out.sample("switchboard_handshake_failures_total", {{"reason", "authentication_error"}}, t.connect_refused_auth);
  ws::Hub::Stats hub;
  if (hub_) hub = hub_->stats();
  out.sample("switchboard_handshake_failures_total", {{"reason", "ws_bad_request"}}, hub.bad_request);
  out.sample("switchboard_handshake_failures_total", {{"reason", "ws_upgrade_required"}}, hub.upgrade_required);
  out.sample("switchboard_handshake_failures_total", {{"reason", "ws_forbidden_origin"}}, hub.forbidden_origin);
  out.sample("switchboard_handshake_failures_total", {{"reason", "ws_rejected"}}, hub.rejected);

  out.family("switchboard_event_loop_lag_seconds",
             "Per loop: how long the last probe waited in the loop's queue (or the probe in flight, if longer).",
             MetricType::gauge);
  auto lag = loop_lag_seconds();
  for (std::size_t i = 0; i < lag.size(); ++i) {
    std::string loop = std::to_string(i);
    out.sample("switchboard_event_loop_lag_seconds", {{"loop", loop}}, lag[i]);
  }
  return out.take();
}

void Ticker::start() {
  thread_ = std::thread([this] {
    std::uint64_t tick = 0;
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, period_, [this] { return stopping_; })) {
      ++tick;
      lock.unlock();
      for (auto& task : tasks_) {
        if (tick % task.every == 0) task.fn();
      }
      lock.lock();
    }
  });
}

void Ticker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace switchboard::app
