#pragma once
// A hierarchical timing wheel (Varghese & Lauck): one per loop thread, so ten
// thousand idle connections cost ten thousand intrusive list nodes and no kernel
// timers. Scheduling, rescheduling and cancelling are O(1).
//
// Two levels: a fine wheel of 1,024 ticks (1 ms each by default, so 1 s ahead) holds
// the timers due soon, and a coarse wheel of 1,024 slots of 256 ticks holds the rest;
// a coarse slot moves down to the fine wheel one coarse slot before it is due.
// Bitmaps of non-empty slots let the loop sleep until the next due tick
// (next_wake()) instead of waking every tick: a server whose connections all have
// two-minute idle timers wakes four times a second, not a thousand.
//
// Thread safety: none; a wheel and its timers belong to one loop thread.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

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

  explicit TimerWheel(std::chrono::milliseconds tick = std::chrono::milliseconds(1),
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

  // Fires, in this call, every timer due at or before `now`. A callback may schedule or
  // cancel any timer, itself included.
  void advance(Clock::time_point now);

  // When advance() next has something to do (a due tick, or a coarse slot to move
  // down); nullopt when no timer is armed.
  std::optional<Clock::time_point> next_wake() const noexcept;

  // The clock as the wheel knows it: the later of now and the last advance.
  Clock::time_point now() const noexcept { return std::max(Clock::now(), last_advance_); }

  std::size_t size() const noexcept { return size_; }
  std::chrono::milliseconds tick() const noexcept { return tick_; }

 private:
  static constexpr std::uint64_t fine_slots = 1024;
  static constexpr std::uint64_t coarse_ticks = 256;  // fine ticks per coarse slot
  static constexpr std::uint64_t coarse_slots = 1024;
  using Bits = std::array<std::uint64_t, 1024 / 64>;

  void place(Timer& timer) noexcept;
  void collect_fine(std::uint64_t tick, Link& expired) noexcept;
  void cascade(std::uint64_t coarse_index, Link& expired) noexcept;
  // The first tick in (after, limit] whose fine slot may hold timers, or nullopt.
  std::optional<std::uint64_t> next_fine_tick(std::uint64_t after, std::uint64_t limit) const noexcept;

  std::chrono::milliseconds tick_;
  Clock::time_point start_;
  Clock::time_point last_advance_{};
  std::uint64_t current_tick_ = 0;
  std::size_t size_ = 0;
  std::unique_ptr<Link[]> fine_;
  std::unique_ptr<Link[]> coarse_;
  // A set bit: the slot may be non-empty (bits are cleared lazily, when a slot is
  // found empty).
  Bits fine_bits_{};
  Bits coarse_bits_{};
};

}  // namespace switchboard::net
