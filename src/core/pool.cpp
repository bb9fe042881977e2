#include "core/pool.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <vector>

namespace switchboard::core {
namespace {

constexpr std::size_t granularity = pool_alignment;
constexpr std::size_t largest_pooled = 1024;
constexpr std::size_t class_count = largest_pooled / granularity;
constexpr std::size_t slab_size = 64 * 1024;

// The slabs, shared by every thread: taken under the mutex, a slab at a time, and kept
// for the life of the process (reachable from here, so not a leak to LeakSanitizer).
struct Slabs {
  std::mutex mutex;
  std::vector<std::unique_ptr<std::byte[]>> slabs;
  // Each thread's free lists, registered here so that they stay reachable after the
  // thread exits.
  std::vector<std::unique_ptr<std::array<std::vector<void*>, class_count>>> lists;
};

Slabs& slabs() {
  static auto* instance = new Slabs();  // never destroyed: blocks are freed during exit
  return *instance;
}

std::array<std::vector<void*>, class_count>& thread_lists() {
  // A plain pointer (no destructor): a block freed during this thread's exit still
  // finds its list.
  thread_local std::array<std::vector<void*>, class_count>* lists = nullptr;
  if (!lists) {
    auto& s = slabs();
    std::lock_guard lock(s.mutex);
    s.lists.push_back(std::make_unique<std::array<std::vector<void*>, class_count>>());
    lists = s.lists.back().get();
  }
  return *lists;
}

}  // namespace

void* pool_allocate(std::size_t size) {
  if (size == 0 || size > largest_pooled) return ::operator new(size);
  std::size_t index = (size + granularity - 1) / granularity - 1;
  std::vector<void*>& free = thread_lists()[index];
  if (free.empty()) {
    std::size_t block_size = (index + 1) * granularity;
    std::byte* slab;
    {
      auto& s = slabs();
      std::lock_guard lock(s.mutex);
      s.slabs.push_back(std::make_unique<std::byte[]>(slab_size));
      slab = s.slabs.back().get();
    }
    for (std::size_t offset = slab_size / block_size * block_size; offset >= block_size; offset -= block_size) {
      free.push_back(slab + offset - block_size);
    }
  }
  void* block = free.back();
  free.pop_back();
  return block;
}

void pool_deallocate(void* block, std::size_t size) noexcept {
  if (!block) return;
  if (size == 0 || size > largest_pooled) {
    ::operator delete(block);
    return;
  }
  std::vector<void*>& free = thread_lists()[(size + granularity - 1) / granularity - 1];
  try {
    free.push_back(block);
  } catch (...) {
    // Out of memory for the list itself: the block is lost, not corrupted.
  }
}

}  // namespace switchboard::core
