#pragma once
// Refcounted byte blocks: the unit of "encode once, send many". A broadcast is framed
// once into a SharedBuffer and every receiving connection queues the same block by
// reference.
//
// Thread safety: the reference count is atomic, so a SharedBuffer may be copied and
// released on any thread. The bytes are immutable once a second reference exists;
// only the sole owner of a block may write into it (BufferBuilder, or the write
// queue's append path via unique()).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

namespace switchboard {

class SharedBuffer {
 public:
  SharedBuffer() noexcept = default;
  SharedBuffer(const SharedBuffer& other) noexcept : block_(other.block_) { retain(); }
  SharedBuffer(SharedBuffer&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  SharedBuffer& operator=(SharedBuffer other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~SharedBuffer() { release(); }

  // A block with room for `capacity` bytes (or more) and a size of zero. Blocks of the
  // two standard sizes come from per-thread free lists, so the write path does not
  // call malloc.
  static SharedBuffer with_capacity(std::size_t capacity);
  static SharedBuffer copy_of(std::span<const std::byte> bytes);
  static SharedBuffer copy_of(std::string_view text) {
    return copy_of(std::as_bytes(std::span(text.data(), text.size())));
  }

  const std::byte* data() const noexcept { return block_ ? block_->bytes() : nullptr; }
  std::size_t size() const noexcept { return block_ ? block_->size : 0; }
  std::size_t capacity() const noexcept { return block_ ? block_->capacity : 0; }
  bool empty() const noexcept { return size() == 0; }
  explicit operator bool() const noexcept { return block_ != nullptr; }
  std::span<const std::byte> bytes() const noexcept { return {data(), size()}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data()), size()};
  }

  // True when this is the only reference, so appending cannot be seen by anyone else.
  bool unique() const noexcept {
    return block_ && block_->refs.load(std::memory_order_acquire) == 1;
  }
  // Appends into spare capacity; only valid when unique(). Returns the bytes copied.
  std::size_t append(std::span<const std::byte> bytes) noexcept;
  // Room to write in place, then commit(n): for encoders that know an upper bound.
  std::byte* spare() noexcept { return block_->bytes() + block_->size; }
  std::size_t spare_size() const noexcept { return block_->capacity - block_->size; }
  void commit(std::size_t n) noexcept { block_->size += n; }

  // The two pooled sizes: small for a connection's first write of a turn (a frame, an
  // HTTP response head), standard once a turn writes more.
  static constexpr std::size_t small_capacity = 1024 - 16;
  static constexpr std::size_t standard_capacity = 16 * 1024;

 private:
  struct Block {
    std::atomic<std::uint32_t> refs;
    std::uint32_t capacity;
    std::size_t size;
    std::byte* bytes() noexcept { return reinterpret_cast<std::byte*>(this + 1); }
  };
  explicit SharedBuffer(Block* block) noexcept : block_(block) {}
  void retain() noexcept {
    if (block_) block_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  void release() noexcept;

  Block* block_ = nullptr;
};

}  // namespace switchboard
