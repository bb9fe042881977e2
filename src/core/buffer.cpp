#include <switchboard/buffer.hpp>

#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>

namespace switchboard {
namespace {

// Blocks of the pooled sizes freed on this thread wait here for the next write.
// Bounded, so a burst does not pin memory for ever: 64 × (1 + 16) KiB per thread.
constexpr std::size_t max_free_blocks = 64;
struct FreeList {
  void* blocks[max_free_blocks];
  std::size_t count = 0;
  ~FreeList() {
    while (count) std::free(blocks[--count]);
    alive = false;
  }
  // Trivially destructible, so still readable after ~FreeList during thread exit: a
  // block released then goes back to malloc instead of into a dead list.
  static thread_local bool alive;
};
thread_local bool FreeList::alive = true;
thread_local FreeList small_free, standard_free;

FreeList* list_for(std::size_t capacity) {
  if (capacity == SharedBuffer::small_capacity) return &small_free;
  if (capacity == SharedBuffer::standard_capacity) return &standard_free;
  return nullptr;
}

}  // namespace

SharedBuffer SharedBuffer::with_capacity(std::size_t capacity) {
  void* memory = nullptr;
  if (capacity <= standard_capacity) {
    capacity = capacity <= small_capacity ? small_capacity : standard_capacity;
    FreeList* list = list_for(capacity);
    if (FreeList::alive && list->count) memory = list->blocks[--list->count];
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
    FreeList* list = list_for(block_->capacity);
    if (list && FreeList::alive && list->count < max_free_blocks) {
      list->blocks[list->count++] = block_;
    } else {
      std::free(block_);
    }
  }
  block_ = nullptr;
}

}  // namespace switchboard
