#pragma once
// A hashed timing wheel (Varghese & Lauck, "scheme 6"): one per loop thread, driven by
// the loop's single periodic tick, so ten thousand idle connections cost ten thousand
// intrusive list nodes and no kernel timers. Scheduling, rescheduling and cancelling
// are O(1); a tick visits one slot.
//
// Thread safety: none; a wheel and its timers belong to one loop thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace switchboard::net {

class TimerWheel {
 public:
  using Clock = std::chrono::steady_clock;

  struct Link {
    Link* prev = nullptr;
    Link* next = nullptr;
  };

  // Embedded in its owner; the owner outlives it or it cancels itself on destruction.
  class Timer : private Link {
   public:
    using Callback = void (*)(void* context);
    Timer(Callback callback, void* context) noexcept : callback_(callback), context_(context) {}
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() { cancel(); }

    bool armed() const noexcept { return prev != nullptr; }
    void cancel() noexcept;

   private:
    friend class TimerWheel;
    std::uint64_t due_tick_ = 0;
    Callback callback_;
    void* context_;
    TimerWheel* wheel_ = nullptr;
  };

  explicit TimerWheel(std::chrono::milliseconds tick = std::chrono::milliseconds(10),
                      Clock::time_point start = Clock::now());
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms (or re-arms) `timer` to fire `delay` from now or later (up to a tick later,
  // plus however late the loop runs the tick).
  void schedule(Timer& timer, std::chrono::milliseconds delay);
  // The same for an absolute deadline, so that a chain of timers (a heartbeat) does not
  // drift by the lateness of each one.
  void schedule_at(Timer& timer, Clock::time_point deadline);
  // When the tick after the last one processed begins.
  Clock::time_point next_tick_time() const noexcept { return start_ + tick_ * (current_tick_ + 1); }
  // The clock as the wheel knows it: the later of now and the last advance.
  Clock::time_point now() const noexcept { return std::max(Clock::now(), last_advance_); }

  // Fires, in this call, every timer due at or before `now`. A callback may schedule or
  // cancel any timer, itself included.
  void advance(Clock::time_point now);

  std::size_t size() const noexcept { return size_; }
  std::chrono::milliseconds tick() const noexcept { return tick_; }

 private:
  static constexpr std::size_t slot_count = 1024;  // 10.24 s per turn with 10 ms ticks
  void link(Link& list, Timer& timer) noexcept;
  void collect_due(std::size_t slot, std::uint64_t up_to, Link& expired) noexcept;

  std::chrono::milliseconds tick_;
  Clock::time_point start_;
  Clock::time_point last_advance_{};
  std::uint64_t current_tick_ = 0;
  std::size_t size_ = 0;
  std::unique_ptr<Link[]> slots_;
};

}  // namespace switchboard::net
