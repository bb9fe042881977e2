// The Socket.IO feature server of the interop tests (tests/interop/sio_*.test.mjs):
// every feature of the sio API made observable to the official socket.io-client. It
// uses the public API only (switchboard/socketio.hpp, switchboard/http.hpp).
//
//   sio_feature_server --host 127.0.0.1 --port 0 --threads 2 [--connect-timeout MS]
//                      [--ping-interval MS] [--ping-timeout MS] [--recovery MS]
//                      [--trust-proxy] [--parser json|msgpack]
//
// Prints "listening on PORT" once bound. Every disconnect is printed as
// "disconnect <nsp> <id> <reason>" (so a test reads the reasons of a shutdown from the
// output) and recorded; a client of /admin asks for a socket's record with "watch".
//
// Namespaces and events (every result comes back in the event's acknowledgement):
//   /            the workbench: echo, acks both ways, binary, handshake, rooms and
//                their events, broadcasts and their acks, fetch/join/leave/disconnect
//                of targets.
//   /guarded     middleware: an asynchronous one (next() called from a later loop
//                turn), refusals with and without data, their order ("trace").
//   /dyn-<n>     dynamic namespaces of io.of(predicate): the parent's middleware and
//                connection handler; the predicate refuses auth.denyDyn.
//   /any         catch-all listeners and per-packet middleware.
//   /admin       "watch" <id>: the disconnect record of a socket, now or later.
//
// Server::observe sees every socket: it adds "observer" to the middleware trace (so the
// trace shows it runs between the middleware and the connection handler), and gives
// each socket an "observed" event whose ack is what it saw of the socket: its
// namespace, its transport when it joined, and the transports it was upgraded to.
//
// A broadcast "spec" (the first argument of bcast, bcast-ack, fetch-ids, ...) is
//   {via: "nsp" | "socket", to: [rooms], except: [rooms], volatile: bool,
//    timeout: ms, event: name, args: [values]}
// via "socket" starts from socket.broadcast() (every socket but the sender).

#include <algorithm>
#include <any>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <switchboard/http.hpp>
#include <switchboard/socketio.hpp>

namespace sio = switchboard::sio;
namespace json = boost::json;

namespace {

// --- small JSON helpers -----------------------------------------------------------------

const json::object& as_object(const sio::Args& args, std::size_t i = 0) {
  static const json::object empty;
  if (i >= args.size() || !args[i].is_object()) return empty;
  return args[i].as_object();
}

std::string str(const json::object& o, std::string_view key, std::string fallback = {}) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : fallback;
}

bool flag(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

std::int64_t integer(const json::object& o, std::string_view key, std::int64_t fallback) {
  const auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  return fallback;
}

// A string or an array of strings.
std::vector<std::string> strings(const json::value* v) {
  std::vector<std::string> out;
  if (!v) return out;
  if (v->is_string()) out.emplace_back(v->as_string());
  if (v->is_array()) {
    for (const auto& e : v->as_array()) {
      if (e.is_string()) out.emplace_back(e.as_string());
    }
  }
  return out;
}

json::array to_array(const std::set<std::string>& set) {
  json::array a;
  for (const auto& s : set) a.emplace_back(s);
  return a;
}

std::string thread_name() {
  return std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    unsigned n = static_cast<unsigned char>(bytes[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    unsigned n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

// Every binary placeholder in `value`, with its path ("0.a[1]"), as {path, size, base64}.
void find_binaries(const sio::Args& args, const json::value& value, const std::string& path, json::array& out) {
  if (auto bytes = args.binary(value)) {
    out.push_back(json::object{{"path", path}, {"size", bytes->size()}, {"base64", base64(*bytes)}});
    return;
  }
  if (value.is_array()) {
    const auto& a = value.as_array();
    for (std::size_t i = 0; i < a.size(); ++i) find_binaries(args, a[i], path + "[" + std::to_string(i) + "]", out);
  } else if (value.is_object()) {
    for (const auto& [k, v] : value.as_object()) find_binaries(args, v, path + "." + std::string(k), out);
  }
}

// The values of spec.args, keeping the binaries of the packet they came in (their
// placeholders still name them).
sio::Args spec_args(const json::object& spec, const sio::Args& incoming) {
  sio::Args out;
  if (const auto* a = spec.if_contains("args"); a && a->is_array()) out.values = a->as_array();
  out.binaries = incoming.binaries;
  return out;
}

// `value` of `from`, its binary placeholders renumbered into `to`.
json::value rebase(const sio::Args& from, const json::value& value, sio::Args& to) {
  if (auto bytes = from.binary(value)) return to.binary_value(*bytes);
  if (value.is_array()) {
    json::array a;
    for (const auto& e : value.as_array()) a.push_back(rebase(from, e, to));
    return a;
  }
  if (value.is_object()) {
    json::object o;
    for (const auto& [k, v] : value.as_object()) o[k] = rebase(from, v, to);
    return o;
  }
  return value;
}

// The targets a spec names.
sio::BroadcastOperator make_op(sio::Socket& s, const json::object& spec) {
  // A Namespace hands out no plain operator: local() is "every socket of this server".
  sio::BroadcastOperator op = str(spec, "via", "nsp") == "socket" ? s.broadcast() : s.namespace_().local();
  for (auto& room : strings(spec.if_contains("to"))) op = op.to(room);
  for (auto& room : strings(spec.if_contains("except"))) op = op.except(room);
  if (flag(spec, "volatile")) op = op.volatile_();
  if (spec.contains("timeout")) op = op.timeout(std::chrono::milliseconds(integer(spec, "timeout", 1000)));
  return op;
}

// --- disconnect records -------------------------------------------------------------------

struct Records {
  std::mutex mutex;
  std::map<std::string, json::object> by_id;
  sio::Namespace* admin = nullptr;

  void record(sio::Socket& s, std::string_view reason, json::array rooms_at_disconnecting) {
    json::object rec{{"id", s.id()},
                     {"nsp", std::string(s.nsp())},
                     {"reason", std::string(reason)},
                     {"roomsAtDisconnecting", std::move(rooms_at_disconnecting)},
                     {"roomsAfter", to_array(s.rooms())}};
    {
      std::lock_guard lock(mutex);
      by_id[s.id()] = rec;
      std::printf("disconnect %s %s %s\n", std::string(s.nsp()).c_str(), s.id().c_str(), std::string(reason).c_str());
      std::fflush(stdout);
    }
    // To the watchers, whatever loop they live on (a broadcast may start on any thread).
    admin->to("watch:" + s.id()).emit("record", sio::Args{json::value(std::move(rec))});
  }

  json::value find(const std::string& id) {
    std::lock_guard lock(mutex);
    auto it = by_id.find(id);
    return it == by_id.end() ? json::value(nullptr) : json::value(it->second);
  }
};

Records records;

// Every socket of every namespace: its disconnect reason is recorded, with its rooms as
// on_disconnecting saw them and as they are in on_disconnect.
void track(sio::Socket& socket) {
  auto at_disconnecting = std::make_shared<json::array>();
  socket.on_disconnecting([at_disconnecting](sio::Socket& s, std::string_view) { *at_disconnecting = to_array(s.rooms()); });
  socket.on_disconnect([at_disconnecting](sio::Socket& s, std::string_view reason) {
    records.record(s, reason, *at_disconnecting);
  });
}

// Packet middleware continuations held by /any ("hold") per Engine.IO session, released
// by "release" on "/" of the same connection (so on the same loop).
struct Held {
  std::mutex mutex;
  std::map<std::string, std::vector<std::function<void(std::optional<std::string>)>>> by_conn;

  void add(std::string_view conn, std::function<void(std::optional<std::string>)> next) {
    std::lock_guard lock(mutex);
    by_conn[std::string(conn)].push_back(std::move(next));
  }
  std::vector<std::function<void(std::optional<std::string>)>> take(std::string_view conn) {
    std::lock_guard lock(mutex);
    auto it = by_conn.find(std::string(conn));
    if (it == by_conn.end()) return {};
    auto out = std::move(it->second);
    by_conn.erase(it);
    return out;
  }
};

Held held;

json::object whoami(sio::Socket& s) {
  return json::object{{"id", s.id()},
                      {"nsp", std::string(s.nsp())},
                      {"engine", std::string(s.conn().id())},
                      {"transport", std::string(s.conn().transport())},
                      {"thread", thread_name()}};
}

// The middleware trace of /guarded and /dyn-*: an array in socket.data(), shared so that
// an asynchronous step may write to it without touching the socket.
std::shared_ptr<json::array> trace_of(sio::Socket& s) {
  if (auto* p = std::any_cast<std::shared_ptr<json::array>>(&s.data())) return *p;
  auto trace = std::make_shared<json::array>();
  s.data() = trace;
  return trace;
}

// Threads outside the server's loops that answer later (next(), acks), as a database
// client's would; joined in main before the server goes.
class Workers {
 public:
  void later(std::function<void()> fn) {
    std::lock_guard lock(mutex_);
    threads_.emplace_back([fn = std::move(fn)] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      fn();
    });
  }
  ~Workers() {
    std::lock_guard lock(mutex_);
    for (auto& thread : threads_) thread.join();
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};
Workers* workers = nullptr;

// --- namespaces -----------------------------------------------------------------------------

// The room events of "/" ("create-room", "join-room", ...), in the order they came,
// for "room-events"; rooms named "ev-*" only, so the other tests' rooms stay out.
struct RoomEventLog {
  std::mutex mutex;
  json::array events;
  void add(std::string_view kind, const std::string& room, const std::string* id = nullptr) {
    if (!room.starts_with("ev-")) return;
    std::lock_guard lock(mutex);
    json::array e{kind, room};
    if (id) e.emplace_back(*id);
    events.emplace_back(std::move(e));
  }
  json::array take() {
    std::lock_guard lock(mutex);
    return std::exchange(events, {});
  }
};

void log_room_events(sio::Namespace& nsp, RoomEventLog& log) {
  auto& events = nsp.adapter().events();
  events.create_room = [&log](const std::string& room) { log.add("create-room", room); };
  events.delete_room = [&log](const std::string& room) { log.add("delete-room", room); };
  events.join_room = [&log](const std::string& room, const std::string& id) { log.add("join-room", room, &id); };
  events.leave_room = [&log](const std::string& room, const std::string& id) { log.add("leave-room", room, &id); };
}

json::object describe(const sio::SocketInfo& info) {
  json::array rooms;
  for (const auto& room : info.rooms) rooms.emplace_back(room);
  return {{"id", info.id}, {"rooms", std::move(rooms)}, {"handshake", info.handshake}, {"data", info.data}};
}

void setup_main(sio::Server& io, sio::Namespace& dyn_parent) {
  static RoomEventLog room_events;
  log_room_events(io.of("/"), room_events);
  io.of("/").on_connection([&dyn_parent](sio::Socket& socket) {
    track(socket);
    socket.on("whoami", [](sio::Socket& s, sio::Args&, sio::Ack ack) { ack({whoami(s)}); });
    socket.on("echo", [](sio::Socket& s, sio::Args& args, sio::Ack) { s.emit("echo", std::move(args)); });
    // socket.data, which a recovered session gets back.
    socket.on("set-data", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      s.data() = args.size() ? args[0] : json::value(nullptr);
      ack();
    });
    socket.on("get-data", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      const auto* value = std::any_cast<json::value>(&s.data());
      ack({value ? *value : json::value(nullptr)});
    });
    socket.on("recovered", [](sio::Socket& s, sio::Args&, sio::Ack ack) { ack({s.recovered()}); });
    socket.on("echo-ack", [](sio::Socket&, sio::Args& args, sio::Ack ack) { ack(std::move(args)); });
    socket.on("echo-ack-from-thread", [](sio::Socket&, sio::Args& args, sio::Ack ack) {
      workers->later([ack, args = std::move(args)]() mutable { ack(std::move(args)); });
    });
    socket.on("ack-empty", [](sio::Socket&, sio::Args&, sio::Ack ack) { ack(); });
    socket.on("never-ack", [](sio::Socket&, sio::Args&, sio::Ack) {});
    // Each "grow" adds another "grow" handler that counts; as in Node, a handler added
    // while an event is dispatched is not called for that event.
    auto grown = std::make_shared<int>(0);
    socket.on("grow", [grown](sio::Socket& s, sio::Args&, sio::Ack) {
      s.on("grow", [grown](sio::Socket&, sio::Args&, sio::Ack) { ++*grown; });
    });
    socket.on("grown", [grown](sio::Socket&, sio::Args&, sio::Ack ack) { ack({*grown}); });
    socket.on("handshake", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      const sio::Handshake& h = s.handshake();
      json::array headers;
      for (const auto& [name, value] : h.headers()) headers.push_back(json::array{json::string(name), json::string(value)});
      auto foo = h.query_param("foo");
      ack({json::object{
          {"auth", h.auth},
          {"query", h.query()},
          {"foo", foo ? json::value(*foo) : json::value(nullptr)},
          {"xCustom", std::string(h.header("x-custom"))},
          {"headers", std::move(headers)},
          {"address", h.address()},
          {"url", h.url()},
          {"secure", h.secure()},
          {"issued", h.issued()},
          {"now", std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count()},
      }});
    });
    // Every binary the server finds in the arguments, at any depth.
    socket.on("binary-info", [](sio::Socket&, sio::Args& args, sio::Ack ack) {
      json::array found;
      for (std::size_t i = 0; i < args.size(); ++i) find_binaries(args, args[i], std::to_string(i), found);
      ack({json::object{{"count", args.binaries.size()}, {"found", std::move(found)}}});
    });
    // Binary made by the server: top level, nested in an object and in an array.
    socket.on("make-binary", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      auto make = [] {
        sio::Args out;
        std::string all(256, '\0');
        for (int i = 0; i < 256; ++i) all[i] = static_cast<char>(i);
        out.add_binary(all);
        json::value deep = out.binary_value(std::string("\x00\x01\xff", 3));
        json::value in_array = out.binary_value("abc");
        out.add(json::object{{"text", "x"}, {"nested", json::object{{"deep", json::array{deep, 7}}}}});
        out.add(json::array{1, in_array, json::object{{"empty", out.binary_value("")}}});
        return out;
      };
      s.emit("made-binary", make());
      ack(make());
    });
    // The server asks the client (emit_with_ack); the ack tells what came back.
    socket.on("ask", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      s.emit_with_ack(str(spec, "event", "question"), spec_args(spec, args),
                      std::chrono::milliseconds(integer(spec, "timeout", 1000)),
                      [ack](std::optional<sio::Args> answer) mutable {
                        if (!answer) {
                          ack({json::object{{"answered", false}}});
                          return;
                        }
                        sio::Args out;
                        out.binaries = std::move(answer->binaries);
                        out.add(json::object{{"answered", true}, {"args", std::move(answer->values)}});
                        ack(std::move(out));
                      });
    });
    socket.on("join", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      for (auto& room : strings(args.empty() ? nullptr : &args[0])) s.join(room);
      ack({to_array(s.rooms())});
    });
    socket.on("leave", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      for (auto& room : strings(args.empty() ? nullptr : &args[0])) s.leave(room);
      ack({to_array(s.rooms())});
    });
    socket.on("rooms", [](sio::Socket& s, sio::Args&, sio::Ack ack) { ack({to_array(s.rooms())}); });
    socket.on("bcast", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      make_op(s, spec).emit(str(spec, "event", "news"), spec_args(spec, args));
      ack();
    });
    socket.on("bcast-ack", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      make_op(s, spec).emit_with_ack(str(spec, "event", "poll"), spec_args(spec, args),
                                     [ack](bool all_answered, std::vector<sio::Args> responses) mutable {
                                       sio::Args out;
                                       json::array answers;
                                       for (auto& r : responses) {
                                         // Every answer's binaries move into out, renumbered.
                                         json::array values;
                                         for (const auto& v : r.values) values.push_back(rebase(r, v, out));
                                         answers.emplace_back(std::move(values));
                                       }
                                       out.add(json::object{{"allAnswered", all_answered}, {"responses", std::move(answers)}});
                                       ack(std::move(out));
                                     });
    });
    // The same broadcast made from a thread of its own (broadcasts may start on any
    // thread), followed by a fence to every socket from that thread: each loop gets both,
    // in order.
    socket.on("thread-bcast", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      sio::BroadcastOperator op = make_op(s, spec);
      sio::BroadcastOperator all = s.namespace_().local();
      std::string event = str(spec, "event", "news");
      sio::Args out = spec_args(spec, args);
      json::value token = spec.contains("fence") ? spec.at("fence") : json::value("fence");
      std::thread([op, all, event, out = std::move(out), token]() mutable {
        op.emit(event, std::move(out));
        all.emit("fence", sio::Args{token});
      }).join();
      ack();
    });
    socket.on("fetch-ids", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      make_op(s, as_object(args)).fetch_ids([ack](std::vector<std::string> ids) mutable {
        std::sort(ids.begin(), ids.end());
        json::array a;
        for (auto& id : ids) a.emplace_back(id);
        ack({std::move(a)});
      });
    });
    socket.on("fetch-sockets", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      make_op(s, as_object(args)).fetch_sockets([ack](std::vector<sio::SocketInfo> found) mutable {
        std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
        json::array a;
        for (const auto& info : found) a.emplace_back(describe(info));
        ack({std::move(a)});
      });
    });
    socket.on("room-events", [](sio::Socket&, sio::Args&, sio::Ack ack) { ack({room_events.take()}); });
    socket.on("sockets-join", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      make_op(s, spec).sockets_join(strings(spec.if_contains("rooms")));
      ack();
    });
    socket.on("sockets-leave", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      make_op(s, spec).sockets_leave(strings(spec.if_contains("rooms")));
      ack();
    });
    socket.on("disconnect-sockets", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      make_op(s, spec).disconnect_sockets(flag(spec, "close"));
      ack();
    });
    socket.on("disconnect-me", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      ack();
      s.disconnect(flag(as_object(args), "close"));
    });
    socket.on("nsp-emit", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      s.namespace_().emit(str(spec, "event", "all"), spec_args(spec, args));
      ack();
    });
    // Node: a parent namespace's emit reaches every child namespace.
    socket.on("parent-emit", [&dyn_parent](sio::Socket&, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      dyn_parent.emit(str(spec, "event", "from-parent"), spec_args(spec, args));
      ack();
    });
    // volatile: to this socket (a Socket has no volatile emit of its own: through the
    // namespace and the socket's own room).
    socket.on("volatile-me", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      const auto& spec = as_object(args);
      s.namespace_().volatile_().to(s.id()).emit(str(spec, "event", "volatile"), spec_args(spec, args));
      ack();
    });
    // Calls the packet middleware continuations /any holds for this connection.
    socket.on("release", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      auto nexts = held.take(s.conn().id());
      for (auto& next : nexts) next(std::nullopt);
      ack({nexts.size()});
    });
    socket.on("count", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      (void)args;
      ack({s.namespace_().socket_count()});
    });
  });
}

// /guarded: three middlewares. m1 is asynchronous: it asks every loop for the ids of
// /admin (fetch_ids, whose callback runs on this loop in a later turn) and only then
// calls next — the public API offers no timer and no way to post work to a loop.
void setup_guarded(sio::Server& io) {
  sio::Namespace& guarded = io.of("/guarded");
  sio::Namespace& admin = io.of("/admin");
  guarded.use([&admin](sio::Socket& s, std::function<void(std::optional<sio::MiddlewareError>)> next) {
    auto trace = trace_of(s);
    bool refuse = flag(s.handshake().auth.as_object(), "asyncRefuse");
    trace->emplace_back("m1:called");
    admin.local().fetch_ids([trace, next, refuse](std::vector<std::string>) {
      trace->emplace_back("m1:next");
      if (refuse) {
        next(sio::MiddlewareError{"refused later", json::object{{"when", "after fetch_ids"}}});
      } else {
        next(std::nullopt);
      }
    });
    trace->emplace_back("m1:returned");
  });
  guarded.use([](sio::Socket& s, std::function<void(std::optional<sio::MiddlewareError>)> next) {
    trace_of(s)->emplace_back("m2");
    std::string token = str(s.handshake().auth.as_object(), "token");
    if (token == "secret") return next(std::nullopt);
    if (token == "thread") return workers->later([next] { next(std::nullopt); });
    if (token == "thread-refuse") {
      return workers->later([next] { next(sio::MiddlewareError{"refused from a thread", nullptr}); });
    }
    if (token == "nodata") return next(sio::MiddlewareError{"refused without data", nullptr});
    next(sio::MiddlewareError{"not authorized",
                              json::object{{"code", 401}, {"detail", "bad token"}, {"list", json::array{1, "two", nullptr}}}});
  });
  guarded.use([](sio::Socket& s, std::function<void(std::optional<sio::MiddlewareError>)> next) {
    trace_of(s)->emplace_back("m3");
    next(std::nullopt);
  });
  guarded.on_connection([](sio::Socket& socket) {
    track(socket);
    trace_of(socket)->emplace_back("connection");
    socket.on("trace", [](sio::Socket& s, sio::Args&, sio::Ack ack) { ack({*trace_of(s)}); });
    socket.on("auth", [](sio::Socket& s, sio::Args&, sio::Ack ack) { ack({s.handshake().auth}); });
    socket.on("whoami", [](sio::Socket& s, sio::Args&, sio::Ack ack) { ack({whoami(s)}); });
  });
}

sio::Namespace& setup_dynamic(sio::Server& io) {
  static const std::regex name_re("^/dyn-[0-9]+$");
  sio::Namespace& parent = io.of([](std::string_view name, const sio::Json& auth) {
    if (auth.is_object() && flag(auth.as_object(), "denyDyn")) return false;
    return std::regex_match(name.begin(), name.end(), name_re);
  });
  parent.use([](sio::Socket& s, std::function<void(std::optional<sio::MiddlewareError>)> next) {
    trace_of(s)->emplace_back("parent-mw:" + std::string(s.nsp()));
    if (flag(s.handshake().auth.as_object(), "dynRefuse")) {
      return next(sio::MiddlewareError{"dyn refused", json::object{{"nsp", std::string(s.nsp())}}});
    }
    next(std::nullopt);
  });
  parent.on_connection([](sio::Socket& socket) {
    track(socket);
    trace_of(socket)->emplace_back("parent-connection");
    socket.on("whoami", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      json::object me = whoami(s);
      me["trace"] = *trace_of(s);
      me["count"] = s.namespace_().socket_count();
      ack({std::move(me)});
    });
    socket.on("echo", [](sio::Socket& s, sio::Args& args, sio::Ack) { s.emit("echo", std::move(args)); });
  });
  return parent;
}

// /any: a log of what the catch-all listeners see.
void setup_any(sio::Server& io) {
  io.of("/any").on_connection([](sio::Socket& socket) {
    track(socket);
    auto log = std::make_shared<json::array>();
    auto entry = [](std::string_view kind, std::string_view event, const sio::Args& args) {
      return json::object{{"kind", kind}, {"event", event}, {"args", args.values}, {"binaries", args.binaries.size()}};
    };
    socket.on_any([log, entry](sio::Socket&, std::string_view event, sio::Args& args) {
      log->push_back(entry("any", event, args));
    });
    socket.prepend_any([log, entry](sio::Socket&, std::string_view event, sio::Args& args) {
      log->push_back(entry("prepended", event, args));
    });
    socket.on_any_outgoing([log, entry](sio::Socket&, std::string_view event, sio::Args& args) {
      log->push_back(entry("outgoing", event, args));
    });
    // Per-packet middleware: "forbidden" is dropped with an error; "mutate" gets one more
    // argument; everything else passes.
    // "slow" waits for a round trip through every loop (fetch_ids) before next(): an
    // asynchronous packet middleware, whose socket may be gone by then.
    socket.use([](sio::Socket& s, std::string_view event, sio::Args& args, std::function<void(std::optional<std::string>)> next) {
      if (event == "forbidden") return next("forbidden event: " + std::string(event));
      if (event == "mutate") args.add("added by middleware");
      if (event == "slow") {
        s.namespace_().local().fetch_ids([next](std::vector<std::string>) { next(std::nullopt); });
        return;
      }
      if (event == "threaded") return workers->later([next] { next(std::nullopt); });
      if (event == "hold") {  // until "release" on "/" of the same connection
        held.add(s.conn().id(), std::move(next));
        return;
      }
      next(std::nullopt);
    });
    socket.on("error", [](sio::Socket& s, sio::Args& args, sio::Ack) { s.emit("middleware-error", std::move(args)); });
    socket.on("log", [log](sio::Socket&, sio::Args&, sio::Ack ack) { ack({*log}); });
    socket.on("clear-log", [log](sio::Socket&, sio::Args&, sio::Ack ack) {
      log->clear();
      ack();
    });
    socket.on("off-any", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      s.off_any();
      ack();
    });
    socket.on("say", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      s.emit("said", std::move(args));
      ack();
    });
    socket.on("hold", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      s.emit("hold-handled", std::move(args));
      ack();
    });
    socket.on("slow", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      s.emit("slow-handled");
      ack(std::move(args));
    });
    socket.on("threaded", [](sio::Socket&, sio::Args& args, sio::Ack ack) {
      workers->later([ack, args = std::move(args)]() mutable { ack(std::move(args)); });
    });
    socket.on("mutate", [](sio::Socket& s, sio::Args& args, sio::Ack ack) { ack(std::move(args)); });
    socket.on("forbidden", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      s.emit("forbidden-handled");
      ack();
    });
  });
}

// --- the server-wide observer ------------------------------------------------------------

struct Observed {
  std::mutex mutex;
  std::map<std::string, json::object> by_socket;  // "<nsp> <id>"
  static std::string key(sio::Socket& s) { return std::string(s.nsp()) + " " + s.id(); }
};
Observed observed;
// What a second observer's event hooks saw, per socket: {received: [...], sent: [...]}.
Observed observed_events;

void setup_observer(sio::Server& io) {
  sio::SocketObserver observer;
  observer.connected = [](sio::Socket& socket) {
    if (auto* trace = std::any_cast<std::shared_ptr<json::array>>(&socket.data())) (*trace)->emplace_back("observer");
    {
      std::lock_guard lock(observed.mutex);
      observed.by_socket[Observed::key(socket)] = json::object{{"nsp", std::string(socket.nsp())},
                                                               {"transport", std::string(socket.conn().transport())},
                                                               {"upgrades", json::array()}};
    }
    socket.on("observed", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      std::lock_guard lock(observed.mutex);
      ack({observed.by_socket[Observed::key(s)]});
    });
    socket.on("observed-events", [](sio::Socket& s, sio::Args&, sio::Ack ack) {
      std::lock_guard lock(observed_events.mutex);
      ack({observed_events.by_socket[Observed::key(s)]});
    });
    socket.on_disconnect([](sio::Socket& s, std::string_view) {
      std::lock_guard lock(observed.mutex);
      observed.by_socket.erase(Observed::key(s));
      std::lock_guard events_lock(observed_events.mutex);
      observed_events.by_socket.erase(Observed::key(s));
    });
  };
  observer.upgraded = [](sio::Socket& socket) {
    std::lock_guard lock(observed.mutex);
    auto it = observed.by_socket.find(Observed::key(socket));
    if (it != observed.by_socket.end()) it->second["upgrades"].as_array().emplace_back(socket.conn().transport());
  };
  io.observe(std::move(observer));

  // A second observer: observers add up.
  auto record = [](const char* list) {
    return [list](sio::Socket& socket, std::string_view event, sio::Args&) {
      std::lock_guard lock(observed_events.mutex);
      json::object& entry = observed_events.by_socket[Observed::key(socket)];
      if (!entry.contains(list)) entry[list] = json::array();
      entry[list].as_array().emplace_back(event);
    };
  };
  sio::SocketObserver events;
  events.event_received = record("received");
  events.event_sent = record("sent");
  io.observe(std::move(events));
}

void setup_admin(sio::Server& io) {
  sio::Namespace& admin = io.of("/admin");
  records.admin = &admin;
  admin.on_connection([](sio::Socket& socket) {
    socket.on("watch", [](sio::Socket& s, sio::Args& args, sio::Ack ack) {
      std::string id = args.size() && args[0].is_string() ? std::string(args[0].as_string()) : "";
      // Join first: a record made after the lookup reaches this room.
      s.join("watch:" + id);
      ack({records.find(id)});
    });
    socket.on("whoami", [](sio::Socket& s, sio::Args&, sio::Ack ack) { ack({whoami(s)}); });
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sio_feature_server: the Socket.IO server of the socket.io-client interop tests"};
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  unsigned threads = 2;
  unsigned connect_timeout_ms = 45'000;
  unsigned ping_interval_ms = 25'000;
  unsigned ping_timeout_ms = 20'000;
  app.add_option("--host", host, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "TCP port (0: any free one)")->capture_default_str();
  app.add_option("--threads", threads, "Worker threads (0: one per core)")->capture_default_str();
  app.add_option("--connect-timeout", connect_timeout_ms, "Socket.IO connectTimeout (ms)")->capture_default_str();
  app.add_option("--ping-interval", ping_interval_ms, "Engine.IO pingInterval (ms)")->capture_default_str();
  app.add_option("--ping-timeout", ping_timeout_ms, "Engine.IO pingTimeout (ms)")->capture_default_str();
  unsigned recovery_ms = 0;
  app.add_option("--recovery", recovery_ms,
                 "Connection state recovery's maxDisconnectionDuration (ms; 0: recovery off)")
      ->capture_default_str();
  bool trust_proxy = false;
  app.add_flag("--trust-proxy", trust_proxy, "Take the client address from X-Forwarded-For");
  std::string parser = "json";
  app.add_option("--parser", parser, "The packet format")
      ->check(CLI::IsMember({"json", "msgpack"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  switchboard::http::Server http({.host = host, .port = port, .threads = threads});
  sio::ServerOptions options;
  options.connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
  options.engine.ping_interval = std::chrono::milliseconds(ping_interval_ms);
  options.engine.ping_timeout = std::chrono::milliseconds(ping_timeout_ms);
  options.engine.trust_proxy = trust_proxy;
  options.parser = parser == "msgpack" ? sio::Parser::msgpack : sio::Parser::json;
  if (recovery_ms > 0) {
    options.connection_state_recovery = sio::ServerOptions::Recovery{
        .max_disconnection_duration = std::chrono::milliseconds(recovery_ms)};
  }
  sio::Server io(http, options);
  Workers answerers;  // destroyed (joined) before the server
  workers = &answerers;

  setup_observer(io);
  setup_admin(io);
  sio::Namespace& dyn_parent = setup_dynamic(io);
  setup_main(io, dyn_parent);
  setup_guarded(io);
  setup_any(io);

  http.on_termination_signal([&http](int) { http.shutdown(std::chrono::milliseconds(3000)); });
  http.listen();
  std::printf("listening on %u\n", static_cast<unsigned>(http.port()));
  std::fflush(stdout);
  http.run();
  std::printf("stopped\n");
  std::fflush(stdout);
  return 0;
}
