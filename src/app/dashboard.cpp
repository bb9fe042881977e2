#include "app/dashboard.hpp"

#include <boost/json/array.hpp>

#include "app/http_api.hpp"

namespace switchboard::app {

namespace json = boost::json;

Dashboard::Dashboard(sio::Server& io, Metrics& metrics, std::string api_key)
    : nsp_(io.of(std::string(dashboard_namespace))), metrics_(metrics), last_time_(std::chrono::steady_clock::now()) {
  if (!api_key.empty()) {
    nsp_.use([key = std::move(api_key)](sio::Socket& socket,
                                        std::function<void(std::optional<sio::MiddlewareError>)> next) {
      const auto& auth = socket.handshake().auth;
      const json::value* given = auth.is_object() ? auth.as_object().if_contains("apiKey") : nullptr;
      if (!given || !given->is_string() || !api_key_matches(given->get_string(), key)) {
        next(sio::MiddlewareError{"Authentication error", nullptr});
        return;
      }
      next(std::nullopt);
    });
  }
  // A new dashboard gets a first picture at once instead of after up to a second.
  nsp_.on_connection([this](sio::Socket& socket) {
    json::object stats = snapshot_without_rates();
    socket.emit("stats", sio::Args{std::move(stats)});
  });
}

json::object Dashboard::snapshot_without_rates() const {
  Totals t = metrics_.totals();
  json::object connections;
  json::object sockets;
  json::object rooms;
  std::int64_t room_total = 0;
  for (sio::Namespace* nsp : metrics_.namespaces()) {
    sockets[nsp->name()] = nsp->socket_count();
    auto counts = metrics_.rooms(*nsp);
    rooms[nsp->name()] = counts.chat;
    room_total += counts.chat;
  }
  auto engine = metrics_.engine_stats();
  connections["polling"] = engine.polling;
  connections["websocket"] = engine.websocket;
  connections["native_ws"] = t.native_ws;
  connections["sse"] = t.sse;
  connections["total"] = engine.polling + engine.websocket + t.native_ws + t.sse;
  json::array lag;
  for (double seconds : metrics_.loop_lag_seconds()) lag.push_back(seconds * 1000.0);
  json::object stats;
  stats["time"] = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  stats["connections"] = std::move(connections);
  stats["sockets"] = std::move(sockets);
  stats["rooms"] = std::move(rooms);
  stats["roomCount"] = room_total;
  stats["eventsIn"] = t.events_in_sum();
  stats["eventsOut"] = t.events_out_sum();
  stats["eventsInPerSecond"] = 0.0;
  stats["eventsOutPerSecond"] = 0.0;
  auto bytes = metrics_.bytes();
  stats["bytesIn"] = bytes.first;
  stats["bytesOut"] = bytes.second;
  stats["lagMs"] = std::move(lag);
  return stats;
}

json::object Dashboard::snapshot() {
  json::object stats = snapshot_without_rates();
  auto now = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(now - last_time_).count();
  std::uint64_t in = stats["eventsIn"].to_number<std::uint64_t>();
  std::uint64_t out = stats["eventsOut"].to_number<std::uint64_t>();
  if (seconds > 0) {
    stats["eventsInPerSecond"] = static_cast<double>(in - last_in_) / seconds;
    stats["eventsOutPerSecond"] = static_cast<double>(out - last_out_) / seconds;
  }
  last_time_ = now;
  last_in_ = in;
  last_out_ = out;
  return stats;
}

void Dashboard::tick() {
  json::object stats = snapshot();  // always: the rates are per interval
  if (nsp_.socket_count() == 0) return;
  nsp_.emit("stats", sio::Args{std::move(stats)});
}

}  // namespace switchboard::app
