#pragma once
// A growable byte queue: append at the back, consume from the front. A connection's
// corked output lives here until the end of the loop turn; a short write leaves the
// rest at the front for the next EPOLLOUT.

#include <cstddef>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace switchboard::loadgen {

class ByteBuffer {
 public:
  bool empty() const noexcept { return head_ == bytes_.size(); }
  std::size_t size() const noexcept { return bytes_.size() - head_; }
  std::span<const std::byte> readable() const noexcept {
    return {bytes_.data() + head_, bytes_.size() - head_};
  }
  std::span<std::byte> readable() noexcept { return {bytes_.data() + head_, bytes_.size() - head_}; }

  // Room for `n` more bytes at the back; the caller writes exactly `n` bytes there.
  std::byte* extend(std::size_t n) {
    std::size_t old = bytes_.size();
    bytes_.resize(old + n);
    return bytes_.data() + old;
  }
  void append(std::span<const std::byte> data) {
    if (!data.empty()) std::memcpy(extend(data.size()), data.data(), data.size());
  }
  void append(std::string_view text) {
    append(std::as_bytes(std::span(text.data(), text.size())));
  }
  // Gives back the unused end of the last extend().
  void shrink_back(std::size_t n) noexcept { bytes_.resize(bytes_.size() - n); }

  void consume(std::size_t n) noexcept {
    head_ += n;
    if (head_ == bytes_.size()) {
      clear();
    } else if (head_ > 64 * 1024 && head_ * 2 > bytes_.size()) {
      // Compact a large, mostly consumed buffer so that a slow reader does not grow it.
      bytes_.erase(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }
  void clear() noexcept {
    bytes_.clear();
    head_ = 0;
  }
  // Returns the memory: for connections that go idle after a large burst.
  void release() noexcept {
    std::vector<std::byte>().swap(bytes_);
    head_ = 0;
  }

 private:
  std::vector<std::byte> bytes_;
  std::size_t head_ = 0;
};

}  // namespace switchboard::loadgen
