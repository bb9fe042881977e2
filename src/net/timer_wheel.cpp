#include "net/timer_wheel.hpp"

#include <algorithm>
#include <bit>

namespace switchboard::net {
namespace {

void unlink(TimerWheel::Link& node) noexcept {
  node.prev->next = node.next;
  node.next->prev = node.prev;
  node.prev = node.next = nullptr;
}

void init_list(TimerWheel::Link& head) noexcept { head.prev = head.next = &head; }

void push_back(TimerWheel::Link& list, TimerWheel::Link& node) noexcept {
  node.prev = list.prev;
  node.next = &list;
  list.prev->next = &node;
  list.prev = &node;
}

template <class Bits>
void set_bit(Bits& bits, std::uint64_t index) noexcept {
  bits[index / 64] |= std::uint64_t{1} << (index % 64);
}

template <class Bits>
void clear_bit(Bits& bits, std::uint64_t index) noexcept {
  bits[index / 64] &= ~(std::uint64_t{1} << (index % 64));
}

template <class Bits>
bool any_bit(const Bits& bits) noexcept {
  return std::any_of(bits.begin(), bits.end(), [](std::uint64_t word) { return word != 0; });
}

}  // namespace

void TimerWheel::Timer::cancel() noexcept {
  if (!armed()) return;
  unlink(*this);
  --wheel_->size_;
}

TimerWheel::TimerWheel(std::chrono::milliseconds tick, Clock::time_point start)
    : tick_(std::max(tick, std::chrono::milliseconds(1))),
      start_(start),
      fine_(new Link[fine_slots]),
      coarse_(new Link[coarse_slots]) {
  for (std::size_t i = 0; i < fine_slots; ++i) init_list(fine_[i]);
  for (std::size_t i = 0; i < coarse_slots; ++i) init_list(coarse_[i]);
}

TimerWheel::~TimerWheel() {
  // Timers that outlive the wheel must not touch it on destruction.
  for (std::size_t i = 0; i < fine_slots; ++i) {
    while (fine_[i].next != &fine_[i]) unlink(*fine_[i].next);
  }
  for (std::size_t i = 0; i < coarse_slots; ++i) {
    while (coarse_[i].next != &coarse_[i]) unlink(*coarse_[i].next);
  }
}

void TimerWheel::place(Timer& timer) noexcept {
  // Due within the fine wheel's reach: its own tick's slot. Farther: the coarse slot
  // of its 256-tick span (it moves down one coarse slot before it is due).
  if (timer.due_tick_ - current_tick_ < fine_slots) {
    std::uint64_t slot = timer.due_tick_ % fine_slots;
    push_back(fine_[slot], timer);
    set_bit(fine_bits_, slot);
  } else {
    std::uint64_t slot = (timer.due_tick_ / coarse_ticks) % coarse_slots;
    push_back(coarse_[slot], timer);
    set_bit(coarse_bits_, slot);
  }
}

void TimerWheel::schedule(Timer& timer, std::chrono::milliseconds delay) {
  // "Now" is the later of the clock and the last advance (a wheel driven by synthetic
  // time in tests).
  schedule_at(timer, now() + delay);
}

void TimerWheel::schedule_at(Timer& timer, Clock::time_point deadline) {
  timer.cancel();
  if (size_ == 0) {
    // Nothing is armed: the wheel may jump to now instead of catching up on ticks
    // that had nothing to do (a loop idle for an hour).
    auto now_tick = static_cast<std::int64_t>((now() - start_) / tick_);
    current_tick_ = std::max(current_tick_, static_cast<std::uint64_t>(std::max<std::int64_t>(now_tick, 0)));
  }
  // Due at the first tick boundary at or after the deadline, so a timer never fires
  // early, whatever the phase of the tick it was armed in.
  auto due = deadline - start_;
  std::int64_t ticks = due.count() <= 0 ? 0 : (due + tick_ - Clock::duration(1)) / tick_;
  timer.due_tick_ = std::max(static_cast<std::uint64_t>(ticks), current_tick_ + 1);
  timer.wheel_ = this;
  place(timer);
  ++size_;
}

void TimerWheel::collect_fine(std::uint64_t tick, Link& expired) noexcept {
  // Every timer in a fine slot is due at that very tick: the fine wheel only takes
  // timers less than one turn ahead.
  std::uint64_t slot = tick % fine_slots;
  Link& head = fine_[slot];
  while (head.next != &head) {
    Link* node = head.next;
    unlink(*node);
    push_back(expired, *node);
  }
  clear_bit(fine_bits_, slot);
}

void TimerWheel::cascade(std::uint64_t coarse_index, Link& expired) noexcept {
  std::uint64_t slot = coarse_index % coarse_slots;
  Link& head = coarse_[slot];
  Link moved;
  init_list(moved);
  for (Link* node = head.next; node != &head;) {
    Link* next = node->next;
    auto& timer = static_cast<Timer&>(*node);
    if (timer.due_tick_ <= current_tick_) {
      unlink(timer);
      push_back(expired, timer);
    } else if (timer.due_tick_ - current_tick_ < fine_slots) {
      unlink(timer);
      push_back(moved, timer);
    }
    node = next;
  }
  while (moved.next != &moved) {
    auto& timer = static_cast<Timer&>(*moved.next);
    unlink(timer);
    place(timer);
  }
  if (head.next == &head) clear_bit(coarse_bits_, slot);
}

std::optional<std::uint64_t> TimerWheel::next_fine_tick(std::uint64_t after, std::uint64_t limit) const noexcept {
  // Walks the bitmap from tick after + 1, one 64-bit word at a time.
  std::uint64_t tick = after + 1;
  while (tick <= limit && tick <= after + fine_slots) {
    std::uint64_t slot = tick % fine_slots;
    std::uint64_t word = fine_bits_[slot / 64] >> (slot % 64);
    if (word) {
      std::uint64_t found = tick + static_cast<std::uint64_t>(std::countr_zero(word));
      return found <= limit ? std::optional<std::uint64_t>(found) : std::nullopt;
    }
    tick += 64 - slot % 64;
  }
  return std::nullopt;
}

void TimerWheel::advance(Clock::time_point now) {
  last_advance_ = std::max(last_advance_, now);
  auto target_signed = static_cast<std::int64_t>((now - start_) / tick_);
  if (target_signed <= 0 || static_cast<std::uint64_t>(target_signed) <= current_tick_) return;
  auto target = static_cast<std::uint64_t>(target_signed);
  // Due timers move to a local list first, so callbacks may freely cancel or re-arm
  // any timer (a cancelled one just leaves this list).
  Link expired;
  init_list(expired);
  while (current_tick_ < target) {
    std::uint64_t boundary = (current_tick_ / coarse_ticks + 1) * coarse_ticks;
    std::uint64_t stop = std::min(target, boundary);
    if (auto tick = next_fine_tick(current_tick_, stop)) {
      current_tick_ = *tick;
      collect_fine(current_tick_, expired);
    } else {
      current_tick_ = stop;
    }
    // At each coarse boundary the next coarse slot moves down (its timers are then at
    // most two coarse slots, 512 ticks, ahead: within the fine wheel's reach).
    if (current_tick_ == boundary) cascade(current_tick_ / coarse_ticks + 1, expired);
  }
  while (expired.next != &expired) {
    auto& timer = static_cast<Timer&>(*expired.next);
    unlink(timer);
    --size_;
    timer.callback_(timer.context_);
  }
}

std::optional<TimerWheel::Clock::time_point> TimerWheel::next_wake() const noexcept {
  if (size_ == 0) return std::nullopt;
  std::uint64_t boundary = (current_tick_ / coarse_ticks + 1) * coarse_ticks;
  std::uint64_t wake = boundary;
  bool coarse_pending = any_bit(coarse_bits_);
  if (auto tick = next_fine_tick(current_tick_, current_tick_ + fine_slots)) {
    wake = coarse_pending ? std::min(*tick, boundary) : *tick;
  } else if (!coarse_pending) {
    // Only stale bits (cancelled timers): look again a turn later.
    wake = current_tick_ + fine_slots;
  }
  return start_ + tick_ * wake;
}

}  // namespace switchboard::net
