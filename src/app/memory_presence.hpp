#pragma once
// The in-memory PresenceStore: this process only, guarded by one mutex (connections
// live on different loop threads, and presence changes are rare next to messages).

#include <map>
#include <mutex>
#include <set>

#include "app/presence.hpp"

namespace switchboard::app {

class MemoryPresenceStore final : public PresenceStore {
 public:
  void connect(std::string_view nsp, std::string_view connection, std::string_view user) override;
  void announce(std::string_view nsp, std::string_view connection, std::string_view online_id) override;
  void join(std::string_view nsp, std::string_view connection, std::string_view room) override;
  void leave(std::string_view nsp, std::string_view connection, std::string_view room) override;
  void disconnect(std::string_view nsp, std::string_view connection) override;
  void online_users(std::string_view nsp, Reply reply) const override;
  void room_members(std::string_view nsp, std::string_view room, Reply reply) const override;
  void on_online_change(OnlineListener listener) override;

 private:
  // Users counted by their connections: a user is present while the count is above 0.
  using Counts = std::map<std::string, unsigned, std::less<>>;
  struct Connection {
    std::string user;
    std::string online_id;  // empty until announced
    std::set<std::string, std::less<>> rooms;
  };
  struct Namespace {
    std::map<std::string, Connection, std::less<>> connections;
    Counts online;
    std::map<std::string, Counts, std::less<>> rooms;
  };

  static void add(Counts& counts, std::string_view user);
  static void remove(Counts& counts, std::string_view user);
  static UserIds ids_of(const Counts& counts);
  Namespace& space(std::string_view nsp);
  void notify(std::string_view nsp) const;

  mutable std::mutex mutex_;
  std::map<std::string, Namespace, std::less<>> namespaces_;
  OnlineListener listener_;
};

}  // namespace switchboard::app
