#include "sio/recovery.hpp"

#include <boost/json/string.hpp>

namespace switchboard::sio::detail {
namespace {

// Node's "yeast" ids: the time in ms in base 64 (0-9 A-Z a-z - _), with ".n" for the
// n-th id made in the same millisecond. Opaque to clients; increasing for us.
std::string yeast(std::int64_t ms) {
  static constexpr char alphabet[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
  std::string out;
  do {
    out.insert(out.begin(), alphabet[ms % 64]);
    ms /= 64;
  } while (ms > 0);
  return out;
}

bool shares(const std::set<std::string>& a, const std::set<std::string>& b) {
  for (const auto& item : a) {
    if (b.count(item)) return true;
  }
  return false;
}

}  // namespace

bool recoverable_reason(std::string_view reason) {
  return reason == "transport error" || reason == "transport close" || reason == "forced close" ||
         reason == "ping timeout" || reason == "server shutting down" || reason == "forced server close";
}

std::string SessionStore::next_offset() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  if (ms <= last_ms_) {
    return yeast(last_ms_) + "." + std::to_string(same_ms_++);
  }
  last_ms_ = ms;
  same_ms_ = 0;
  return yeast(ms);
}

void SessionStore::sweep(std::chrono::steady_clock::time_point now) {
  // Node sweeps every 60 s; here, at most once a second, on the next use.
  if (now - last_sweep_ < std::chrono::seconds(1)) return;
  last_sweep_ = now;
  while (!packets_.empty() && now - packets_.front().at > max_age_) packets_.pop_front();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    it = now - it->second.at > max_age_ ? sessions_.erase(it) : std::next(it);
  }
}

void SessionStore::record(const std::set<std::string>& rooms, const std::set<std::string>& except, Args& args) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  sweep(now);
  std::string offset = next_offset();
  args.values.emplace_back(boost::json::string(offset));
  packets_.push_back(Stored{std::move(offset), rooms, except, args, now});
}

void SessionStore::persist(Session session) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  sweep(now);
  std::string pid = session.pid;
  sessions_[pid] = Kept{std::move(session), now};
}

std::optional<SessionStore::Restored> SessionStore::restore(const std::string& pid, const std::string& offset) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  sweep(now);
  auto it = sessions_.find(pid);
  if (it == sessions_.end()) return std::nullopt;
  if (now - it->second.at > max_age_) {
    sessions_.erase(it);
    return std::nullopt;
  }
  auto from = std::find_if(packets_.begin(), packets_.end(), [&](const Stored& p) { return p.offset == offset; });
  if (from == packets_.end()) return std::nullopt;
  Restored restored;
  restored.session.sid = it->second.session.sid;
  restored.session.pid = it->second.session.pid;
  restored.session.rooms = it->second.session.rooms;
  // The data moves to the restored socket; the session itself stays until it expires.
  restored.session.data = std::move(it->second.session.data);
  for (auto p = std::next(from); p != packets_.end(); ++p) {
    bool targeted = p->rooms.empty() || shares(p->rooms, restored.session.rooms);
    if (targeted && !shares(p->except, restored.session.rooms)) restored.missed.push_back(p->args);
  }
  return restored;
}

}  // namespace switchboard::sio::detail
