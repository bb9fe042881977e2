#include "net/timer_wheel.hpp"

#include <algorithm>

namespace switchboard::net {
namespace {

void unlink(TimerWheel::Link& node) noexcept {
  node.prev->next = node.next;
  node.next->prev = node.prev;
  node.prev = node.next = nullptr;
}

void init_list(TimerWheel::Link& head) noexcept { head.prev = head.next = &head; }

}  // namespace

void TimerWheel::Timer::cancel() noexcept {
  if (!armed()) return;
  unlink(*this);
  --wheel_->size_;
}

TimerWheel::TimerWheel(std::chrono::milliseconds tick, Clock::time_point start)
    : tick_(std::max(tick, std::chrono::milliseconds(1))),
      start_(start),
      slots_(new Link[slot_count]) {
  for (std::size_t i = 0; i < slot_count; ++i) init_list(slots_[i]);
}

TimerWheel::~TimerWheel() {
  // Timers that outlive the wheel must not touch it on destruction.
  for (std::size_t i = 0; i < slot_count; ++i) {
    while (slots_[i].next != &slots_[i]) unlink(*slots_[i].next);
  }
}

void TimerWheel::link(Link& list, Timer& timer) noexcept {
  timer.prev = list.prev;
  timer.next = &list;
  list.prev->next = &timer;
  list.prev = &timer;
}

void TimerWheel::schedule(Timer& timer, std::chrono::milliseconds delay) {
  // "Now" is the later of the clock and the last advance (a wheel driven by synthetic
  // time in tests).
  schedule_at(timer, now() + delay);
}

void TimerWheel::schedule_at(Timer& timer, Clock::time_point deadline) {
  timer.cancel();
  // Due at the first tick boundary at or after the deadline, so a timer never fires
  // early, whatever the phase of the tick it was armed in.
  auto due = deadline - start_;
  std::int64_t ticks = due.count() <= 0 ? 0 : (due + tick_ - Clock::duration(1)) / tick_;
  timer.due_tick_ = std::max(static_cast<std::uint64_t>(ticks), current_tick_ + 1);
  timer.wheel_ = this;
  link(slots_[timer.due_tick_ % slot_count], timer);
  ++size_;
}

void TimerWheel::collect_due(std::size_t slot, std::uint64_t up_to, Link& expired) noexcept {
  Link& head = slots_[slot];
  for (Link* node = head.next; node != &head;) {
    Link* next = node->next;
    auto& timer = static_cast<Timer&>(*node);
    if (timer.due_tick_ <= up_to) {
      unlink(timer);
      timer.prev = expired.prev;
      timer.next = &expired;
      expired.prev->next = &timer;
      expired.prev = &timer;
    }
    node = next;
  }
}

void TimerWheel::advance(Clock::time_point now) {
  last_advance_ = std::max(last_advance_, now);
  auto target = static_cast<std::uint64_t>((now - start_) / tick_);
  if (target <= current_tick_) return;
  // Due timers move to a local list first, so callbacks may freely cancel or re-arm
  // any timer (a cancelled one just leaves this list).
  Link expired;
  init_list(expired);
  std::uint64_t steps = std::min<std::uint64_t>(target - current_tick_, slot_count);
  for (std::uint64_t i = 1; i <= steps; ++i) {
    collect_due((current_tick_ + i) % slot_count, target, expired);
  }
  current_tick_ = target;
  while (expired.next != &expired) {
    auto& timer = static_cast<Timer&>(*expired.next);
    unlink(timer);
    --size_;
    timer.callback_(timer.context_);
  }
}

}  // namespace switchboard::net
