#include <switchboard/buffer.hpp>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace switchboard {
namespace {

// Standard-size blocks freed on this thread wait here for the next write. Bounded, so a
// burst does not pin memory for ever: 64 × 16 KiB = 1 MiB per thread at most.
constexpr std::size_t max_free_blocks = 64;
struct FreeList {
  void* blocks[max_free_blocks];
  std::size_t count = 0;
  ~FreeList() {
    while (count) std::free(blocks[--count]);
  }
};
thread_local FreeList free_list;

}  // namespace

SharedBuffer SharedBuffer::with_capacity(std::size_t capacity) {
  void* memory = nullptr;
  if (capacity <= standard_capacity) {
    capacity = standard_capacity;
    if (free_list.count) memory = free_list.blocks[--free_list.count];
  }
  if (capacity > UINT32_MAX) throw std::length_error("SharedBuffer larger than 4 GiB");
  if (!memory) {
    memory = std::malloc(sizeof(Block) + capacity);
    if (!memory) throw std::bad_alloc();
  }
  auto* block = static_cast<Block*>(memory);
  new (&block->refs) std::atomic<std::uint32_t>(1);
  block->capacity = static_cast<std::uint32_t>(capacity);
  block->size = 0;
  return SharedBuffer(block);
}

SharedBuffer SharedBuffer::copy_of(std::span<const std::byte> bytes) {
  SharedBuffer buffer = with_capacity(bytes.size());
  buffer.append(bytes);
  return buffer;
}

std::size_t SharedBuffer::append(std::span<const std::byte> bytes) noexcept {
  std::size_t n = std::min(bytes.size(), spare_size());
  if (n) std::memcpy(spare(), bytes.data(), n);
  block_->size += n;
  return n;
}

void SharedBuffer::release() noexcept {
  if (!block_) return;
  if (block_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    if (block_->capacity == standard_capacity && free_list.count < max_free_blocks) {
      free_list.blocks[free_list.count++] = block_;
    } else {
      std::free(block_);
    }
  }
  block_ = nullptr;
}

}  // namespace switchboard
