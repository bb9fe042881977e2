#pragma once
// The live dashboard's feed (web/dashboard.html): namespace /dashboard, where the server
// emits `stats` every second — connections by transport, sockets and rooms by
// namespace, events in/out per second, bytes, loop lag — read from Metrics.
//
// With an API key configured, a client must send it in the handshake's auth
// ({apiKey: KEY}); otherwise the connection fails with "Authentication error".
//
// Thread safety: construct before the server runs; tick() from one thread (the Ticker).

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/json/object.hpp>
#include <switchboard/socketio.hpp>

#include "app/metrics.hpp"

namespace switchboard::app {

inline constexpr std::string_view dashboard_namespace = "/dashboard";

class Dashboard {
 public:
  Dashboard(sio::Server& io, Metrics& metrics, std::string api_key);

  // Emits `stats` to the dashboard's sockets (if any).
  void tick();
  // The `stats` payload: totals now, rates since the previous call.
  boost::json::object snapshot();
  sio::Namespace& nsp() noexcept { return nsp_; }

 private:
  boost::json::object snapshot_without_rates() const;
  sio::Namespace& nsp_;
  Metrics& metrics_;
  std::chrono::steady_clock::time_point last_time_;
  std::uint64_t last_in_ = 0;
  std::uint64_t last_out_ = 0;
};

}  // namespace switchboard::app
