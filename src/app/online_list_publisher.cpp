#include "app/online_list_publisher.hpp"

#include "core/log.hpp"

namespace switchboard::app {

OnlineListPublisher::OnlineListPublisher(const PresenceStore& store, Send send)
    : store_(store), send_(std::move(send)), thread_([this] { run(); }) {}

OnlineListPublisher::~OnlineListPublisher() { stop(); }

void OnlineListPublisher::changed(const std::string& nsp) {
  {
    std::lock_guard lock(mutex_);
    if (muted_ || stopping_) return;
    pending_.insert(nsp);
  }
  wake_.notify_one();
}

void OnlineListPublisher::mute() {
  std::lock_guard lock(mutex_);
  muted_ = true;
  pending_.clear();
}

void OnlineListPublisher::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void OnlineListPublisher::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, nothing left
    auto batch = std::move(pending_);
    pending_.clear();
    lock.unlock();
    for (const auto& nsp : batch) {
      // The list is read now, after the change: a change that lands meanwhile is
      // pending again and will be sent after this one.
      store_.online_users(nsp, [&](PresenceStore::UserIds online) {
        try {
          send_(nsp, std::move(online));
        } catch (const std::exception& e) {
          log::error({.component = "chat", .nsp = nsp}, "sending the online list failed: {}", e.what());
        }
      });
    }
    lock.lock();
  }
}

}  // namespace switchboard::app
