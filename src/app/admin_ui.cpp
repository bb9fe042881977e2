#include "app/admin_ui.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <spdlog/spdlog.h>

#include "app/bcrypt.hpp"
#include "core/encoding.hpp"
#include "http/url.hpp"

namespace switchboard::app {

namespace json = boost::json;
using Clock = std::chrono::system_clock;

namespace {

// The message the UI shows in its login dialog (it keeps the dialog open on it).
constexpr std::string_view invalid_credentials = "invalid credentials";

// A Date as JSON.stringify writes it (what Node's admin sends as each event's time).
json::string iso_date(Clock::time_point time) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  int length = std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                             utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                             static_cast<int>(ms % 1000));
  return json::string(std::string_view(text, static_cast<std::size_t>(length)));
}

json::value now() { return iso_date(Clock::now()); }


std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// The address the UI shows: the proxy's client address when one says it, as Node's admin.
void prefer_forwarded_address(json::object& handshake) {
  const json::object* headers = handshake.contains("headers") ? handshake["headers"].if_object() : nullptr;
  if (!headers) return;
  for (std::string_view name : {"cf-connecting-ip", "x-forwarded-for"}) {
    const json::value* value = headers->if_contains(name);
    if (value && value->is_string() && !value->as_string().empty()) {
      handshake["address"] = *value;
      return;
    }
  }
}

const json::string* string_arg(const sio::Args& args, std::size_t i) {
  return i < args.size() ? args[i].if_string() : nullptr;
}

// What the admin namespace's socket carries from its middleware to its connection.
struct AdminLogin {
  std::string session_id;
};

// Session ids handed to UIs that logged in, so that a reconnecting UI needs no password
// (Node's InMemoryStore; a day, as its RedisStore's default sessionDuration).
class Sessions {
 public:
  static constexpr std::chrono::hours lifetime{24};
  static constexpr std::size_t max_sessions = 10'000;

  void save(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto time = Clock::now();
    if (expiry_.size() >= max_sessions) {
      std::erase_if(expiry_, [time](const auto& entry) { return entry.second < time; });
      if (expiry_.size() >= max_sessions) expiry_.erase(expiry_.begin());
    }
    expiry_[id] = time + lifetime;
  }
  bool valid(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = expiry_.find(id);
    return it != expiry_.end() && it->second > Clock::now();
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, Clock::time_point> expiry_;
};

// Checks passwords against the bcrypt hash on a thread of its own, one at a time: a
// check takes tens of milliseconds by design, and the loops must not wait for it. A
// burst of attempts past `max_waiting` is refused at once rather than queued.
class PasswordChecker {
 public:
  static constexpr std::size_t max_waiting = 16;

  explicit PasswordChecker(std::string hash) : hash_(std::move(hash)), thread_([this] { run(); }) {}
  ~PasswordChecker() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      waiting_.clear();  // their sockets are going with the server
    }
    wake_.notify_one();
    thread_.join();
  }

  // False when too many checks wait; otherwise `done` gets the answer on the checker's thread.
  bool check(std::string password, std::function<void(bool)> done) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || waiting_.size() >= max_waiting) return false;
      waiting_.push_back({std::move(password), std::move(done)});
    }
    wake_.notify_one();
    return true;
  }

 private:
  struct Job {
    std::string password;
    std::function<void(bool)> done;
  };
  void run() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
        if (stopping_) return;
        job = std::move(waiting_.front());
        waiting_.pop_front();
      }
      job.done(bcrypt_matches(job.password, hash_));
    }
  }

  std::string hash_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> waiting_;
  bool stopping_ = false;
  std::thread thread_;  // last: it starts once the rest is ready
};

}  // namespace

struct AdminUi::State : std::enable_shared_from_this<State> {
  State(sio::Server& server, Metrics& counters, AdminUiOptions opts)
      : io(server), metrics(counters), admin(server.of(std::string(admin_namespace))), options(std::move(opts)) {}

  sio::Server& io;
  Metrics& metrics;
  sio::Namespace& admin;
  AdminUiOptions options;
  // The watched namespaces by name, the admin's too; read-only once constructed.
  std::map<std::string, sio::Namespace*, std::less<>> namespaces;
  json::array features;
  Sessions sessions;
  std::unique_ptr<PasswordChecker> checker;
  std::string server_id;
  std::string hostname = host_name();
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Set when the AdminUi goes: handlers still held by sockets then emit nothing.
  std::atomic<bool> stopped{false};

  // What a fetched SocketInfo lacks, per socket ("<nsp>\n<id>"): its client's id and
  // its transport now.
  struct Connection {
    std::string client_id;
    std::string transport;
  };
  std::mutex connections_mutex;
  std::unordered_map<std::string, Connection> connections;

  // tick()'s totals at its previous call.
  std::uint64_t last_opened = 0, last_closed = 0, last_bytes_in = 0, last_bytes_out = 0;

  static std::string key(std::string_view nsp, std::string_view id) {
    std::string k(nsp);
    k += '\n';
    k += id;
    return k;
  }

  void emit(std::string_view event, sio::Args args) {
    if (stopped.load(std::memory_order_relaxed)) return;
    admin.emit(event, std::move(args));
  }

  sio::Namespace* find(const sio::Args& args, std::size_t i) const {
    const json::string* name = string_arg(args, i);
    if (!name) return nullptr;
    auto it = namespaces.find(std::string_view(*name));
    return it == namespaces.end() ? nullptr : it->second;
  }

  // --- authentication --------------------------------------------------------------

  void authenticate(sio::Socket& socket, std::function<void(std::optional<sio::MiddlewareError>)> next) {
    const json::object* auth = socket.handshake().auth.if_object();
    auto text = [auth](std::string_view name) -> const json::string* {
      const json::value* value = auth ? auth->if_contains(name) : nullptr;
      return value ? value->if_string() : nullptr;
    };
    auto refuse = [&next] { next(sio::MiddlewareError{std::string(invalid_credentials), nullptr}); };
    if (const json::string* session = text("sessionId"); session && sessions.valid(std::string(*session))) {
      next(std::nullopt);
      return;
    }
    const json::string* username = text("username");
    const json::string* password = text("password");
    if (!username || !password || std::string_view(*username) != options.username) {
      refuse();
      return;
    }
    std::string session_id = core::random_base64url(16);
    socket.data() = AdminLogin{session_id};
    bool queued = checker->check(std::string(*password), [self = shared_from_this(), next, session_id](bool match) {
      if (!match) {
        next(sio::MiddlewareError{std::string(invalid_credentials), nullptr});
        return;
      }
      self->sessions.save(session_id);
      next(std::nullopt);
    });
    if (!queued) refuse();
  }

  // --- the admin's own sockets -----------------------------------------------------

  void on_admin_connection(sio::Socket& socket) {
    if (!options.readonly) register_commands(socket);
    if (const auto* login = std::any_cast<AdminLogin>(&socket.data())) {
      socket.emit("session", sio::Args{login->session_id});
    }
    socket.emit("config", sio::Args{json::object{{"supportedFeatures", features}}});
    if (!options.production) send_all_sockets(socket.id());
  }

  void register_commands(sio::Socket& socket) {
    auto self = shared_from_this();
    // A filter names a room (a socket's own room is its id); none: the whole namespace.
    auto targets = [](sio::Namespace& nsp, const sio::Args& args, std::size_t filter_at) {
      const json::string* filter = string_arg(args, filter_at);
      return filter && !filter->empty() ? nsp.in(std::string(*filter)) : nsp.all();
    };
    socket.on("emit", [self, targets](sio::Socket&, sio::Args& args, sio::Ack) {
      sio::Namespace* nsp = self->find(args, 0);
      const json::string* event = string_arg(args, 2);
      if (!nsp || !event) return;
      sio::Args rest;
      for (std::size_t i = 3; i < args.size(); ++i) rest.values.push_back(args.values[i]);
      rest.binaries = args.binaries;  // the placeholders in `rest` still number them
      targets(*nsp, args, 1).emit(std::string(*event), std::move(rest));
    });
    socket.on("join", [self, targets](sio::Socket&, sio::Args& args, sio::Ack) {
      sio::Namespace* nsp = self->find(args, 0);
      const json::string* room = string_arg(args, 1);
      if (nsp && room) targets(*nsp, args, 2).sockets_join({std::string(*room)});
    });
    socket.on("leave", [self, targets](sio::Socket&, sio::Args& args, sio::Ack) {
      sio::Namespace* nsp = self->find(args, 0);
      const json::string* room = string_arg(args, 1);
      if (nsp && room) targets(*nsp, args, 2).sockets_leave({std::string(*room)});
    });
    socket.on("_disconnect", [self, targets](sio::Socket&, sio::Args& args, sio::Ack) {
      sio::Namespace* nsp = self->find(args, 0);
      if (!nsp) return;
      bool close = args.size() > 1 && args[1].is_bool() && args[1].as_bool();
      targets(*nsp, args, 2).disconnect_sockets(close);
    });
  }

  // Every socket of the watched namespaces, from every loop, to one admin socket.
  void send_all_sockets(const std::string& admin_socket) {
    struct Gathered {
      std::size_t left;
      json::array sockets;
    };
    auto gathered = std::make_shared<Gathered>(Gathered{namespaces.size(), {}});
    auto self = shared_from_this();
    for (const auto& [name, nsp] : namespaces) {
      // Every answer comes back on this (the admin socket's) loop: no lock for `gathered`.
      nsp->fetch_sockets([self, gathered, name = name, admin_socket](std::vector<sio::SocketInfo> found) {
        for (const auto& info : found) gathered->sockets.push_back(self->serialize(name, info));
        if (--gathered->left > 0 || self->stopped.load(std::memory_order_relaxed)) return;
        self->admin.to(admin_socket).emit("all_sockets", sio::Args{std::move(gathered->sockets)});
      });
    }
  }

  // --- the UI's serialized socket (Node's serialize()) -----------------------------

  json::object serialize(std::string_view nsp, const sio::SocketInfo& info) {
    Connection connection;
    {
      std::lock_guard lock(connections_mutex);
      auto it = connections.find(key(nsp, info.id));
      if (it != connections.end()) connection = it->second;
    }
    return serialize(nsp, info, connection);
  }

  static json::object serialize(std::string_view nsp, const sio::SocketInfo& info, const Connection& connection) {
    json::object handshake = info.handshake;
    handshake.erase("auth");  // it holds passwords and tokens; Node's admin leaves it out too
    prefer_forwarded_address(handshake);
    json::array rooms;
    for (const auto& room : info.rooms) rooms.emplace_back(room);
    json::object out;
    out["id"] = info.id;
    out["clientId"] = connection.client_id;
    out["transport"] = connection.transport;
    out["nsp"] = nsp;
    out["data"] = info.data.is_object() ? info.data : json::object();
    out["handshake"] = std::move(handshake);
    out["rooms"] = std::move(rooms);
    return out;
  }

  static json::object serialize(sio::Socket& socket) {
    sio::SocketInfo info{socket.id(), socket.rooms(), socket.handshake().to_json(), nullptr};
    if (const auto* data = std::any_cast<sio::Json>(&socket.data())) info.data = *data;
    return serialize(socket.nsp(), info, Connection{client_id(socket), std::string(socket.conn().transport())});
  }

  // Node's: the first 12 characters of the Engine.IO session id.
  static std::string client_id(sio::Socket& socket) { return std::string(socket.conn().id().substr(0, 12)); }

  // --- development mode: every socket as it goes -----------------------------------

  void on_connected(sio::Socket& socket) {
    if (stopped.load(std::memory_order_relaxed) || !namespaces.contains(socket.nsp())) return;
    std::string nsp(socket.nsp());
    std::string id = socket.id();
    {
      std::lock_guard lock(connections_mutex);
      connections[key(nsp, id)] = {client_id(socket), std::string(socket.conn().transport())};
    }
    emit("socket_connected", sio::Args{serialize(socket), now()});
    auto self = shared_from_this();
    socket.on_disconnect([self, nsp, id](sio::Socket&, std::string_view reason) {
      {
        std::lock_guard lock(self->connections_mutex);
        self->connections.erase(key(nsp, id));
      }
      self->emit("socket_disconnected", sio::Args{nsp, id, reason, now()});
    });
  }

  // An event a socket received or was sent (event_received / event_sent), as Node's
  // admin records it with onAny / onAnyOutgoing on each socket.
  void on_event(std::string_view what, sio::Socket& socket, std::string_view event, sio::Args& args) {
    std::string_view nsp = socket.nsp();
    // The admin's own traffic would only echo itself.
    if (stopped.load(std::memory_order_relaxed) || nsp == admin_namespace || !namespaces.contains(nsp)) return;
    json::array packet;
    packet.reserve(args.size() + 1);
    packet.emplace_back(event);
    for (const auto& value : args.values) packet.push_back(value);
    sio::Args out{nsp, socket.id(), std::move(packet), now()};
    out.binaries = args.binaries;  // numbered by the placeholders in `packet`
    emit(what, std::move(out));
  }

  void on_upgraded(sio::Socket& socket) {
    if (stopped.load(std::memory_order_relaxed) || !namespaces.contains(socket.nsp())) return;
    std::string transport(socket.conn().transport());
    {
      std::lock_guard lock(connections_mutex);
      auto it = connections.find(key(socket.nsp(), socket.id()));
      if (it != connections.end()) it->second.transport = transport;
    }
    emit("socket_updated", sio::Args{json::object{{"id", socket.id()}, {"nsp", socket.nsp()}, {"transport", transport}}});
  }

  void watch_rooms(const std::string& name, sio::Namespace& nsp) {
    auto& events = nsp.adapter().events();
    auto self = shared_from_this();
    events.join_room = [self, name, previous = events.join_room](const std::string& room, const std::string& id) {
      if (previous) previous(room, id);
      self->emit("room_joined", sio::Args{name, room, id, now()});
    };
    events.leave_room = [self, name, previous = events.leave_room](const std::string& room, const std::string& id) {
      if (previous) previous(room, id);
      self->emit("room_left", sio::Args{name, room, id, now()});
    };
  }
};

AdminUi::AdminUi(sio::Server& io, Metrics& metrics, std::vector<sio::Namespace*> watched, AdminUiOptions options)
    : state_(std::make_shared<State>(io, metrics, std::move(options))) {
  State& s = *state_;
  if (s.options.auth && !bcrypt_hash_valid(s.options.password_hash)) {
    throw std::invalid_argument("the admin UI's password must be a bcrypt hash ($2b$10$... , 60 characters)");
  }
  s.server_id = s.options.server_id.empty() ? s.hostname : s.options.server_id;
  for (sio::Namespace* nsp : watched) s.namespaces[nsp->name()] = nsp;
  s.namespaces[s.admin.name()] = &s.admin;

  // Node's detectSupportedFeatures for a Socket.IO v4 server, then its instrument().
  if (!s.options.readonly) {
    for (const char* feature : {"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"}) {
      s.features.emplace_back(feature);
    }
  }
  s.features.emplace_back("AGGREGATED_EVENTS");
  if (!s.options.production) s.features.emplace_back("ALL_EVENTS");

  std::weak_ptr<State> weak = state_;
  if (s.options.auth) {
    s.checker = std::make_unique<PasswordChecker>(s.options.password_hash);
    s.admin.use([weak](sio::Socket& socket, std::function<void(std::optional<sio::MiddlewareError>)> next) {
      auto self = weak.lock();
      if (!self || self->stopped) {
        next(sio::MiddlewareError{std::string(invalid_credentials), nullptr});
        return;
      }
      self->authenticate(socket, std::move(next));
    });
  }
  s.admin.on_connection([weak](sio::Socket& socket) {
    if (auto self = weak.lock(); self && !self->stopped) self->on_admin_connection(socket);
  });

  if (!s.options.production) {
    for (const auto& [name, nsp] : s.namespaces) s.watch_rooms(name, *nsp);
    sio::SocketObserver observer;
    observer.connected = [weak](sio::Socket& socket) {
      if (auto self = weak.lock()) self->on_connected(socket);
    };
    observer.upgraded = [weak](sio::Socket& socket) {
      if (auto self = weak.lock()) self->on_upgraded(socket);
    };
    observer.event_received = [weak](sio::Socket& socket, std::string_view event, sio::Args& args) {
      if (auto self = weak.lock()) self->on_event("event_received", socket, event, args);
    };
    observer.event_sent = [weak](sio::Socket& socket, std::string_view event, sio::Args& args) {
      if (auto self = weak.lock()) self->on_event("event_sent", socket, event, args);
    };
    io.observe(std::move(observer));
  }
  auto engine = io.engine().stats();
  s.last_opened = engine.opened;
  auto bytes = metrics.bytes();
  s.last_bytes_in = bytes.first;
  s.last_bytes_out = bytes.second;
}

AdminUi::~AdminUi() {
  state_->stopped = true;
  state_->checker.reset();
}

sio::Namespace& AdminUi::nsp() noexcept { return state_->admin; }

void AdminUi::tick() {
  State& s = *state_;
  // Node's aggregatedEvents: counts per second and type, here the totals since the
  // previous tick (so all in this second).
  auto engine = s.io.engine().stats();
  std::uint64_t open = s.io.engine().session_count();
  std::uint64_t closed = engine.opened > open ? engine.opened - open : 0;
  auto [bytes_in, bytes_out] = s.metrics.bytes();
  auto second = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch());
  std::int64_t timestamp = std::chrono::duration_cast<std::chrono::milliseconds>(second).count();
  json::array aggregated;
  auto add = [&](std::string_view type, std::uint64_t total, std::uint64_t& last) {
    // Read without one lock over all of them, a total may lag another by a moment.
    if (total > last) aggregated.push_back(json::object{{"timestamp", timestamp}, {"type", type}, {"count", total - last}});
    last = std::max(last, total);
  };
  add("rawConnection", engine.opened, s.last_opened);
  add("rawDisconnection", closed, s.last_closed);
  add("bytesIn", bytes_in, s.last_bytes_in);
  add("bytesOut", bytes_out, s.last_bytes_out);
  if (s.admin.socket_count() == 0) return;

  json::array namespaces;
  for (const auto& [name, nsp] : s.namespaces) {
    namespaces.push_back(json::object{{"name", name}, {"socketsCount", nsp->socket_count()}});
  }
  json::object stats;
  stats["serverId"] = s.server_id;
  stats["hostname"] = s.hostname;
  stats["pid"] = static_cast<std::int64_t>(getpid());
  stats["uptime"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
  stats["clientsCount"] = open;
  stats["pollingClientsCount"] = engine.polling;
  stats["aggregatedEvents"] = std::move(aggregated);
  stats["namespaces"] = std::move(namespaces);
  s.emit("server_stats", sio::Args{std::move(stats)});
}

}  // namespace switchboard::app
