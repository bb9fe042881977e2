#pragma once
// Presence: which users are online in a namespace, and who is in which room. A user is
// online while at least one of their connections is, and a member of a room while at
// least one of their connections is in it.
//
// The interface is asynchronous (answers come through callbacks) so that a store kept
// in Redis, shared by every node of a cluster, can replace the in-memory one without a
// change to its callers. Updates are fire-and-forget and apply in the order one
// connection makes them.
//
// Thread safety: every member may be called from any thread. A reply may run before the
// call returns (the in-memory store answers at once) or later on another thread (a
// remote store): callers must not hold locks the reply needs. A reply that touches a
// socket (room-members answers an ack) must run on that socket's loop; the in-memory
// store guarantees it by answering at once, and a remote store will need a way to post
// back to the caller's loop, which the public sio API does not offer yet.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::app {

class PresenceStore {
 public:
  using UserIds = std::vector<std::string>;  // sorted, no duplicates
  using Reply = std::function<void(UserIds)>;
  // Told the name of a namespace whose online list changed; it reads the list itself.
  using OnlineListener = std::function<void(const std::string& nsp)>;

  virtual ~PresenceStore() = default;

  // A connection opened in `nsp` for `user` (the user its rooms are counted under).
  virtual void connect(std::string_view nsp, std::string_view connection, std::string_view user) = 0;
  // The connection says it is online as `online_id` (replacing what it said before).
  virtual void announce(std::string_view nsp, std::string_view connection, std::string_view online_id) = 0;
  virtual void join(std::string_view nsp, std::string_view connection, std::string_view room) = 0;
  virtual void leave(std::string_view nsp, std::string_view connection, std::string_view room) = 0;
  // The connection closed: it leaves its rooms and, if it had announced, the online list.
  virtual void disconnect(std::string_view nsp, std::string_view connection) = 0;

  virtual void online_users(std::string_view nsp, Reply reply) const = 0;
  virtual void room_members(std::string_view nsp, std::string_view room, Reply reply) const = 0;

  // Called after every change to the connections that are online (an announce, or the
  // disconnect of a connection that had announced), also when the list of ids stays
  // the same. Set once, before the store is used.
  virtual void on_online_change(OnlineListener listener) = 0;
};

}  // namespace switchboard::app
