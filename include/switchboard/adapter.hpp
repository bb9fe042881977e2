#pragma once
// The adapter of a Socket.IO namespace: who is in which room, and how an operation on a
// set of sockets (a broadcast, a join, a fetch) reaches them — Socket.IO's Adapter.
//
// This class is the in-memory adapter: one server, one room index per event loop, so
// joining and leaving (always on the socket's own loop) take no lock. A cluster adapter
// derives from it and keeps its local behaviour: it overrides an operation, forwards it
// to the other nodes, then calls the base for this server's share.
//
// An adapter never encodes or frames. Socket.IO gives it a Host that prepares a packet
// once and queues it on each member, so no adapter knows Engine.IO or WebSocket framing.
//
// Threads: add_all/del/del_all and for_each_local run on the member's (the calling)
// loop. The operations (broadcast, fetch, add/del/disconnect sockets) may be called
// from any thread; they run on every loop, and their callbacks on the calling loop
// (loop 0 when called from outside the server's loops).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace switchboard::adapter {

using Room = std::string;

// A socket as the adapter sees it. Socket.IO owns it; it lives on one loop.
class Member {
 public:
  // Stable while the member is in any room (the adapter indexes members by it).
  virtual const std::string& id() const noexcept = 0;
  // Sockets still in their namespace's middleware are indexed but not reached.
  virtual bool connected() const noexcept = 0;

 protected:
  ~Member() = default;

 private:
  friend class Adapter;
  // The adapter's record of this member's rooms, kept in the member rather than in a
  // map beside it. Every socket is in the room named by its own id; that room is a
  // flag, not an index entry: a per-socket room costs a hash node and a bucket array.
  // The rooms other than its own, each with this member's place in the loop's list of
  // that room's members.
  std::map<Room, std::uint32_t> joined_;
  bool in_own_room_ = false;
  bool indexed_ = false;  // in its loop's index of members
};

// Which sockets an operation reaches, and how.
struct BroadcastOptions {
  std::set<Room> rooms;   // members of any of these; every socket when empty
  std::set<Room> except;  // minus the members of any of these
  bool volatile_ = false;  // dropped for a connection that cannot take it now
  bool compress = true;
  bool local = false;  // this server only (a cluster adapter skips the other nodes)
};

// An event packet as adapters carry it, to this server's loops or to other nodes.
struct Packet {
  std::string nsp;
  boost::json::array data;  // [event, args...]; binaries appear as placeholders
  std::vector<std::string> binaries;
  std::optional<std::uint64_t> ack_id;  // set for broadcast_with_ack
};

// A socket's description, as fetch_sockets returns it (Node's RemoteSocket).
struct SocketInfo {
  std::string id;
  std::set<Room> rooms;
  boost::json::object handshake;  // headers, time, address, xdomain, secure, issued, url, query, auth
  // The socket's data when it holds a JSON value (Node's RemoteSocket.data); null
  // otherwise — other types cannot travel to another node.
  boost::json::value data;
};

// A packet encoded for delivery; what it holds is the Host's business.
class Prepared {
 public:
  virtual ~Prepared() = default;
};

// Where a broadcast_with_ack's answers gather; thread-safe.
class AckCollector {
 public:
  virtual ~AckCollector() = default;
  // How many reached() reports make the whole: one per loop here (plus one per node).
  virtual void expect_reports(std::size_t reports) = 0;
  // One report: `targets` sockets were asked (each answers through the Host).
  virtual void reached(std::size_t targets) = 0;
};

// What Socket.IO gives a namespace's adapter.
class Host {
 public:
  // The server's event loops.
  virtual unsigned loops() const noexcept = 0;
  virtual std::optional<unsigned> current_loop() const noexcept = 0;
  // Runs `task` on a loop: at once when called on it, queued otherwise.
  virtual void run_on(unsigned loop, std::function<void()> task) = 0;
  // Queues `task` on a loop, also when called on it: answers for user callbacks
  // (fetch_ids, fetch_sockets) arrive after the call returns, as Node's promises do.
  virtual void post(unsigned loop, std::function<void()> task) = 0;

  // Encodes once, for delivery on any loop.
  virtual std::shared_ptr<const Prepared> prepare(const Packet& packet, const BroadcastOptions& options) = 0;
  // Queues a prepared packet on a member of the calling loop; with `acks`, the member's
  // answer (or its leaving) goes there. False if it was not sent (volatile, gone).
  virtual bool deliver(Member& member, const Prepared& prepared, const std::shared_ptr<AckCollector>& acks) = 0;
  // Operations on a member of the calling loop.
  virtual void join(Member& member, const Room& room) = 0;
  virtual void leave(Member& member, const Room& room) = 0;
  virtual void disconnect(Member& member, bool close) = 0;
  virtual SocketInfo describe(const Member& member) = 0;

 protected:
  ~Host() = default;
};

class Adapter {
 public:
  explicit Adapter(Host& host);
  virtual ~Adapter();
  Adapter(const Adapter&) = delete;
  Adapter& operator=(const Adapter&) = delete;

  // --- membership, on the member's loop ---------------------------------------------
  virtual void add_all(Member& member, const std::set<Room>& rooms);
  virtual void del(Member& member, const Room& room);
  virtual void del_all(Member& member);
  // The rooms `member` is in (empty once it left them all).
  std::set<Room> rooms_of(const Member& member) const;
  bool in_room(const Member& member, const Room& room) const;
  // Calls `action` for every connected member of this loop that `options` reach. The
  // targets are chosen first, so `action` may join, leave or disconnect.
  void for_each_local(const BroadcastOptions& options, const std::function<void(Member&)>& action);

  // --- operations, from any thread ---------------------------------------------------
  virtual void broadcast(const Packet& packet, const BroadcastOptions& options);
  virtual void broadcast_with_ack(const Packet& packet, const BroadcastOptions& options,
                                  std::shared_ptr<AckCollector> acks);
  virtual void fetch_ids(const BroadcastOptions& options, std::function<void(std::vector<std::string>)> done);
  virtual void fetch_sockets(const BroadcastOptions& options, std::function<void(std::vector<SocketInfo>)> done);
  virtual void add_sockets(const BroadcastOptions& options, std::vector<Room> rooms);
  virtual void del_sockets(const BroadcastOptions& options, std::vector<Room> rooms);
  virtual void disconnect_sockets(const BroadcastOptions& options, bool close);
  // To the other servers of a cluster, for their Namespace::on_server_side handlers;
  // this adapter serves one server, so there is nobody to tell.
  virtual void server_side_emit(const Packet& packet);
  virtual std::size_t server_count() const { return 1; }

  // Node's "create-room", "delete-room", "join-room" and "leave-room". Set them before
  // the server runs. create/delete are for the whole server (a room exists while a
  // member on any loop is in it) and run under a lock: they must not join or leave.
  // join/leave run on the member's loop.
  struct Events {
    std::function<void(const Room&)> create_room;
    std::function<void(const Room&)> delete_room;
    std::function<void(const Room&, const std::string& id)> join_room;
    std::function<void(const Room&, const std::string& id)> leave_room;
  };
  Events& events() noexcept { return events_; }

 protected:
  Host& host() noexcept { return host_; }

 private:
  struct LoopIndex;
  LoopIndex& here();
  // Takes `member` out of the index entry of `room` (its own record already updated).
  void drop_from_room(LoopIndex& index, Member& member, const Room& room);
  void room_created(const Room& room);
  void room_emptied(const Room& room);
  // Runs `action` on every loop, for the members that `options` reach there.
  void on_every_loop(const BroadcastOptions& options, std::function<void(Member&)> action);

  Host& host_;
  std::vector<std::unique_ptr<LoopIndex>> loops_;
  Events events_;
  std::mutex rooms_mutex_;  // the server-wide room counts, kept only for room events
  std::unordered_map<Room, unsigned> loops_holding_;
};

// Makes a namespace's adapter; ServerOptions::adapter holds one (none: this class).
using AdapterFactory = std::function<std::unique_ptr<Adapter>(Host&)>;

}  // namespace switchboard::adapter
