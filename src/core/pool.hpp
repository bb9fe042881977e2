#pragma once
// Fixed-size blocks for objects that live as long as a connection (the connection
// itself, its protocol object).
//
// Why not plain new: a connection's long-lived objects are allocated between the
// short-lived ones of its handshake (the HTTP request, the parser, strings). With
// thousands of handshakes in flight, the general heap ends up with long-lived objects
// scattered among the holes the short-lived ones leave, and those holes stay resident:
// measured, about 500 bytes per idle WebSocket connection. Taking the long-lived
// objects from slabs of their own keeps them dense.
//
// Thread safety: allocate and deallocate from any thread. Each thread keeps its own
// free lists (no lock on the hot path); a block may be freed on another thread than
// the one that allocated it. Slabs of 64 KiB are taken under a mutex and kept for the
// life of the process.

#include <cstddef>
#include <new>

namespace switchboard::core {

void* pool_allocate(std::size_t size);
void pool_deallocate(void* block, std::size_t size) noexcept;

// Blocks are 8-byte aligned (sizes go in steps of 8: a 200-byte object takes 200,
// where malloc would take 208 and 16-byte steps 208).
inline constexpr std::size_t pool_alignment = 8;

// Derive from this (naming the class) to allocate a class from the pools.
template <typename T>
struct PoolAllocated {
  static void* operator new(std::size_t size) {
    static_assert(alignof(T) <= pool_alignment, "the pools' blocks are 8-byte aligned");
    return pool_allocate(size);
  }
  static void operator delete(void* block, std::size_t size) noexcept { pool_deallocate(block, size); }
};

// The same for std::allocate_shared (the object and its control block in one block)
// and for containers whose elements live as long as a connection.
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= pool_alignment, "the pools' blocks are 8-byte aligned");
    return static_cast<T*>(pool_allocate(n * sizeof(T)));
  }
  void deallocate(T* block, std::size_t n) noexcept { pool_deallocate(block, n * sizeof(T)); }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace switchboard::core
