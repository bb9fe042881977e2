#pragma once
// Sends each namespace's online list to everyone after it changes.
//
// Why a thread of its own: a broadcast made on a loop thread reaches that loop's
// sockets at once and the other loops' later, so two changes announced from two loops
// could reach a client in the wrong order and leave it with a stale list. Broadcasts
// made from this one thread are posted to every loop in the order they are made, and
// each carries the list as it is when sent, so the last list a client gets is the
// current one. Changes that come faster than lists can be sent are folded into one (a
// thousand clients leaving at once cost a few broadcasts, not a thousand).
//
// Thread safety: changed() may be called from any thread; `send` runs on the
// publisher's thread. Stop it (or destroy it) before what `send` uses goes away.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "app/presence.hpp"

namespace switchboard::app {

class OnlineListPublisher {
 public:
  using Send = std::function<void(const std::string& nsp, PresenceStore::UserIds online)>;

  OnlineListPublisher(const PresenceStore& store, Send send);
  ~OnlineListPublisher();
  OnlineListPublisher(const OnlineListPublisher&) = delete;
  OnlineListPublisher& operator=(const OnlineListPublisher&) = delete;

  // The online list of `nsp` changed: send it (soon, from the publisher's thread).
  void changed(const std::string& nsp);
  // From now on changes are forgotten (the server is shutting down: every client is
  // leaving, and nobody would read the lists).
  void mute();
  // Sends what is pending, then ends the thread.
  void stop();

 private:
  void run();

  const PresenceStore& store_;
  Send send_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::set<std::string> pending_;
  bool muted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace switchboard::app
