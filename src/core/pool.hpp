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

// Derive from this to allocate a class from the pools.
struct PoolAllocated {
  static void* operator new(std::size_t size) { return pool_allocate(size); }
  static void operator delete(void* block, std::size_t size) noexcept { pool_deallocate(block, size); }
};

// The same for std::allocate_shared (the object and its control block in one block).
template <typename T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() = default;
  template <typename U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(pool_allocate(n * sizeof(T))); }
  void deallocate(T* block, std::size_t n) noexcept { pool_deallocate(block, n * sizeof(T)); }
  template <typename U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
};

}  // namespace switchboard::core
