#include "app/memory_presence.hpp"

namespace switchboard::app {

void MemoryPresenceStore::add(Counts& counts, std::string_view user) {
  auto it = counts.find(user);
  if (it == counts.end()) it = counts.emplace(std::string(user), 0).first;
  ++it->second;
}

void MemoryPresenceStore::remove(Counts& counts, std::string_view user) {
  auto it = counts.find(user);
  if (it == counts.end()) return;
  if (--it->second == 0) counts.erase(it);
}

PresenceStore::UserIds MemoryPresenceStore::ids_of(const Counts& counts) {
  UserIds ids;
  ids.reserve(counts.size());
  for (const auto& [user, connections] : counts) ids.push_back(user);
  return ids;
}

MemoryPresenceStore::Namespace& MemoryPresenceStore::space(std::string_view nsp) {
  auto it = namespaces_.find(nsp);
  if (it == namespaces_.end()) it = namespaces_.emplace(std::string(nsp), Namespace{}).first;
  return it->second;
}

void MemoryPresenceStore::notify(std::string_view nsp) const {
  if (listener_) listener_(std::string(nsp));
}

void MemoryPresenceStore::connect(std::string_view nsp, std::string_view connection, std::string_view user) {
  std::lock_guard lock(mutex_);
  auto& connections = space(nsp).connections;
  if (connections.find(connection) != connections.end()) return;
  connections.emplace(std::string(connection), Connection{std::string(user), {}, {}});
}

void MemoryPresenceStore::announce(std::string_view nsp, std::string_view connection, std::string_view online_id) {
  {
    std::lock_guard lock(mutex_);
    auto& s = space(nsp);
    auto it = s.connections.find(connection);
    if (it == s.connections.end() || online_id.empty()) return;
    if (!it->second.online_id.empty()) remove(s.online, it->second.online_id);
    it->second.online_id = online_id;
    add(s.online, online_id);
  }
  notify(nsp);
}

void MemoryPresenceStore::join(std::string_view nsp, std::string_view connection, std::string_view room) {
  std::lock_guard lock(mutex_);
  auto& s = space(nsp);
  auto it = s.connections.find(connection);
  if (it == s.connections.end() || !it->second.rooms.emplace(room).second) return;
  auto members = s.rooms.find(room);
  if (members == s.rooms.end()) members = s.rooms.emplace(std::string(room), Counts{}).first;
  add(members->second, it->second.user);
}

void MemoryPresenceStore::leave(std::string_view nsp, std::string_view connection, std::string_view room) {
  std::lock_guard lock(mutex_);
  auto& s = space(nsp);
  auto it = s.connections.find(connection);
  if (it == s.connections.end()) return;
  auto joined = it->second.rooms.find(room);
  if (joined == it->second.rooms.end()) return;
  it->second.rooms.erase(joined);
  auto members = s.rooms.find(room);
  if (members == s.rooms.end()) return;
  remove(members->second, it->second.user);
  if (members->second.empty()) s.rooms.erase(members);
}

void MemoryPresenceStore::disconnect(std::string_view nsp, std::string_view connection) {
  bool was_online = false;
  {
    std::lock_guard lock(mutex_);
    auto& s = space(nsp);
    auto it = s.connections.find(connection);
    if (it == s.connections.end()) return;
    Connection& c = it->second;
    for (const auto& room : c.rooms) {
      auto members = s.rooms.find(room);
      if (members == s.rooms.end()) continue;
      remove(members->second, c.user);
      if (members->second.empty()) s.rooms.erase(members);
    }
    if (!c.online_id.empty()) {
      remove(s.online, c.online_id);
      was_online = true;
    }
    s.connections.erase(it);
  }
  if (was_online) notify(nsp);
}

void MemoryPresenceStore::online_users(std::string_view nsp, Reply reply) const {
  UserIds ids;
  {
    std::lock_guard lock(mutex_);
    auto it = namespaces_.find(nsp);
    if (it != namespaces_.end()) ids = ids_of(it->second.online);
  }
  reply(std::move(ids));
}

void MemoryPresenceStore::room_members(std::string_view nsp, std::string_view room, Reply reply) const {
  UserIds ids;
  {
    std::lock_guard lock(mutex_);
    auto it = namespaces_.find(nsp);
    if (it != namespaces_.end()) {
      auto members = it->second.rooms.find(room);
      if (members != it->second.rooms.end()) ids = ids_of(members->second);
    }
  }
  reply(std::move(ids));
}

void MemoryPresenceStore::on_online_change(OnlineListener listener) {
  std::lock_guard lock(mutex_);
  listener_ = std::move(listener);
}

}  // namespace switchboard::app
