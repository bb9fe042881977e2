// The in-memory adapter: one room index per loop, operations fanned out to every loop.

#include <switchboard/adapter.hpp>

#include "core/pool.hpp"

#include <unordered_set>
#include <utility>

namespace switchboard::adapter {

struct Adapter::LoopIndex {
  // The rooms other than the members' own, and every member (even in no room) by id:
  // a member's own room is found through it.
  // A room's members in a plain array: a broadcast walks it in order (a hash set's
  // nodes cost a cache miss each). Each member keeps its place (Member::joined_), so
  // leaving is a swap with the last.
  std::unordered_map<Room, std::vector<Member*>> rooms;
  // Its nodes live as long as their members: from the pools (core/pool.hpp).
  std::unordered_map<std::string_view, Member*, std::hash<std::string_view>, std::equal_to<std::string_view>,
                     core::PoolAllocator<std::pair<const std::string_view, Member*>>>
      members;
  // Kept between calls so that choosing targets does not allocate each time.
  std::vector<Member*> spare;

  // The member whose own room `room` is, if it is in it.
  Member* own_room_holder(std::string_view room) const {
    auto it = members.find(room);
    return it != members.end() && it->second->in_own_room_ ? it->second : nullptr;
  }
  bool room_empty(const Room& room) const { return !rooms.contains(room) && !own_room_holder(room); }
  // Calls `f` for each member of `room` (a member's own room, and a room joined by name).
  template <typename F>
  void for_each_in(const Room& room, F&& f) const {
    if (Member* holder = own_room_holder(room)) f(holder);
    auto it = rooms.find(room);
    if (it == rooms.end()) return;
    for (Member* member : it->second) f(member);
  }
};

namespace {

// Runs `per_loop` on every loop, then `done` with the results, on the calling loop.
template <typename T>
void gather_from_loops(Host& host, std::function<void(std::vector<T>&)> per_loop,
                       std::function<void(std::vector<T>)> done) {
  struct State {
    unsigned loops_left;
    std::vector<T> found;
    std::function<void(std::vector<T>)> done;
  };
  const unsigned origin = host.current_loop().value_or(0);
  auto state = std::make_shared<State>(State{host.loops(), {}, std::move(done)});
  for (unsigned loop = 0; loop < host.loops(); ++loop) {
    host.run_on(loop, [&host, origin, per_loop, state] {
      std::vector<T> found;
      per_loop(found);
      // Every result lands on the origin loop, so the state needs no lock.
      host.post(origin, [state, found = std::move(found)]() mutable {
        for (auto& item : found) state->found.push_back(std::move(item));
        if (--state->loops_left == 0 && state->done) state->done(std::move(state->found));
      });
    });
  }
}

}  // namespace

Adapter::Adapter(Host& host) : host_(host) {
  loops_.reserve(host.loops());
  for (unsigned i = 0; i < host.loops(); ++i) loops_.push_back(std::make_unique<LoopIndex>());
}

Adapter::~Adapter() = default;

Adapter::LoopIndex& Adapter::here() { return *loops_[host_.current_loop().value()]; }

// --- membership ------------------------------------------------------------------------

void Adapter::add_all(Member& member, const std::set<Room>& rooms) {
  LoopIndex& index = here();
  if (!member.indexed_) {
    index.members.emplace(member.id(), &member);
    member.indexed_ = true;
  }
  for (const Room& room : rooms) {
    const bool own = room == member.id();
    if (own ? member.in_own_room_ : member.joined_.contains(room)) continue;
    const bool created = index.room_empty(room);
    if (own) {
      member.in_own_room_ = true;
    } else {
      auto& members = index.rooms[room];
      member.joined_.emplace(room, static_cast<std::uint32_t>(members.size()));
      members.push_back(&member);
    }
    if (created) room_created(room);
    if (events_.join_room) events_.join_room(room, member.id());
  }
}

void Adapter::del(Member& member, const Room& room_ref) {
  Room room = room_ref;  // the caller's reference may point into the set it leaves
  if (room == member.id() ? !member.in_own_room_ : !member.joined_.contains(room)) return;
  drop_from_room(here(), member, room);
}

void Adapter::del_all(Member& member) {
  if (!member.indexed_) return;
  LoopIndex& index = here();
  std::set<Room> rooms = rooms_of(member);
  for (const Room& room : rooms) drop_from_room(index, member, room);
  index.members.erase(member.id());
  member.indexed_ = false;
}

void Adapter::drop_from_room(LoopIndex& index, Member& member, const Room& room) {
  if (room == member.id()) {
    member.in_own_room_ = false;
  } else {
    auto place = member.joined_.find(room);
    const std::uint32_t position = place->second;
    member.joined_.erase(place);
    auto it = index.rooms.find(room);
    if (it != index.rooms.end()) {
      auto& members = it->second;
      Member* last = members.back();
      members[position] = last;
      if (last != &member) last->joined_.find(room)->second = position;
      members.pop_back();
      if (members.empty()) index.rooms.erase(it);
    }
  }
  // Node's order: leave-room, then delete-room.
  if (events_.leave_room) events_.leave_room(room, member.id());
  if (index.room_empty(room)) room_emptied(room);
}

std::set<Room> Adapter::rooms_of(const Member& member) const {
  std::set<Room> rooms;
  for (const auto& [room, position] : member.joined_) rooms.insert(rooms.end(), room);
  if (member.in_own_room_) rooms.insert(member.id());
  return rooms;
}

bool Adapter::in_room(const Member& member, const Room& room) const {
  return room == member.id() ? member.in_own_room_ : member.joined_.contains(room);
}

void Adapter::room_created(const Room& room) {
  if (!events_.create_room && !events_.delete_room) return;
  std::lock_guard lock(rooms_mutex_);
  if (++loops_holding_[room] == 1 && events_.create_room) events_.create_room(room);
}

void Adapter::room_emptied(const Room& room) {
  if (!events_.create_room && !events_.delete_room) return;
  std::lock_guard lock(rooms_mutex_);
  auto it = loops_holding_.find(room);
  if (it == loops_holding_.end()) return;  // made before the events were set
  if (--it->second == 0) {
    loops_holding_.erase(it);
    if (events_.delete_room) events_.delete_room(room);
  }
}

// --- choosing targets ------------------------------------------------------------------

void Adapter::for_each_local(const BroadcastOptions& options, const std::function<void(Member&)>& action) {
  LoopIndex& index = here();
  auto left_out = [&](Member* member) {
    for (const Room& room : options.except) {
      if (in_room(*member, room)) return true;
    }
    return false;
  };
  // A nested call (an action that broadcasts) finds `spare` taken and allocates.
  std::vector<Member*> chosen = std::move(index.spare);
  chosen.clear();
  if (options.rooms.empty()) {
    for (auto& [id, member] : index.members) {
      if (!left_out(member)) chosen.push_back(member);
    }
  } else if (options.rooms.size() == 1) {
    index.for_each_in(*options.rooms.begin(), [&](Member* member) {
      if (!left_out(member)) chosen.push_back(member);
    });
  } else {
    std::unordered_set<Member*> seen;
    for (const Room& room : options.rooms) {
      index.for_each_in(room, [&](Member* member) {
        if (!left_out(member) && seen.insert(member).second) chosen.push_back(member);
      });
    }
  }
  // The targets are chosen; an action may now change the index (join, leave, a
  // disconnect). A member an earlier action disconnected is skipped: Socket.IO frees
  // sockets only after the loop's turn, so the pointer is still good.
  for (Member* member : chosen) {
    if (member->connected()) action(*member);
  }
  chosen.clear();
  if (index.spare.capacity() < chosen.capacity()) index.spare = std::move(chosen);
}

void Adapter::on_every_loop(const BroadcastOptions& options, std::function<void(Member&)> action) {
  for (unsigned loop = 0; loop < host_.loops(); ++loop) {
    host_.run_on(loop, [this, options, action] { for_each_local(options, action); });
  }
}

// --- operations ------------------------------------------------------------------------

void Adapter::broadcast(const Packet& packet, const BroadcastOptions& options) {
  std::shared_ptr<const Prepared> prepared = host_.prepare(packet, options);
  on_every_loop(options, [this, prepared](Member& member) { host_.deliver(member, *prepared, nullptr); });
}

void Adapter::broadcast_with_ack(const Packet& packet, const BroadcastOptions& options,
                                 std::shared_ptr<AckCollector> acks) {
  std::shared_ptr<const Prepared> prepared = host_.prepare(packet, options);
  acks->expect_reports(host_.loops());
  for (unsigned loop = 0; loop < host_.loops(); ++loop) {
    host_.run_on(loop, [this, options, prepared, acks] {
      std::size_t asked = 0;
      for_each_local(options, [&](Member& member) {
        if (host_.deliver(member, *prepared, acks)) ++asked;
      });
      acks->reached(asked);
    });
  }
}

void Adapter::fetch_ids(const BroadcastOptions& options, std::function<void(std::vector<std::string>)> done) {
  gather_from_loops<std::string>(
      host_,
      [this, options](std::vector<std::string>& found) {
        for_each_local(options, [&found](Member& member) { found.push_back(member.id()); });
      },
      std::move(done));
}

void Adapter::fetch_sockets(const BroadcastOptions& options, std::function<void(std::vector<SocketInfo>)> done) {
  gather_from_loops<SocketInfo>(
      host_,
      [this, options](std::vector<SocketInfo>& found) {
        for_each_local(options, [this, &found](Member& member) { found.push_back(host_.describe(member)); });
      },
      std::move(done));
}

void Adapter::add_sockets(const BroadcastOptions& options, std::vector<Room> rooms) {
  on_every_loop(options, [this, rooms = std::move(rooms)](Member& member) {
    for (const Room& room : rooms) host_.join(member, room);
  });
}

void Adapter::del_sockets(const BroadcastOptions& options, std::vector<Room> rooms) {
  on_every_loop(options, [this, rooms = std::move(rooms)](Member& member) {
    for (const Room& room : rooms) host_.leave(member, room);
  });
}

void Adapter::disconnect_sockets(const BroadcastOptions& options, bool close) {
  on_every_loop(options, [this, close](Member& member) { host_.disconnect(member, close); });
}

void Adapter::server_side_emit(const Packet&) {}

}  // namespace switchboard::adapter
