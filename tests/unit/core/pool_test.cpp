#include "core/pool.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

namespace switchboard::core {
namespace {

TEST(Pool, BlocksOfOneSizeAreDistinctAndWritable) {
  std::set<void*> seen;
  std::vector<void*> blocks;
  for (int i = 0; i < 10'000; ++i) {  // more than one 64 KiB slab
    void* block = pool_allocate(200);
    std::memset(block, i & 0xff, 200);
    EXPECT_TRUE(seen.insert(block).second);
    blocks.push_back(block);
  }
  for (void* block : blocks) pool_deallocate(block, 200);
}

TEST(Pool, AFreedBlockIsReusedOnTheSameThread) {
  void* block = pool_allocate(48);
  pool_deallocate(block, 48);
  EXPECT_EQ(pool_allocate(48), block);
  pool_deallocate(block, 48);
}

TEST(Pool, SizesShareAClassOnlyWithinEightBytes) {
  void* a = pool_allocate(41);
  pool_deallocate(a, 41);
  EXPECT_EQ(pool_allocate(48), a) << "41 and 48 bytes are one class";
  pool_deallocate(a, 48);
  void* b = pool_allocate(49);
  EXPECT_NE(b, a) << "49 bytes is the next class";
  pool_deallocate(b, 49);
}

TEST(Pool, BlocksAreEightByteAligned) {
  std::vector<void*> blocks;
  for (std::size_t size : {8, 24, 200, 1000}) {
    for (int i = 0; i < 3; ++i) {
      blocks.push_back(pool_allocate(size));
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(blocks.back()) % pool_alignment, 0u) << size;
    }
    for (void* block : blocks) pool_deallocate(block, size);
    blocks.clear();
  }
}

TEST(Pool, LargeAndEmptyRequestsFallBackToTheHeap) {
  void* large = pool_allocate(4096);
  std::memset(large, 1, 4096);
  pool_deallocate(large, 4096);
  void* empty = pool_allocate(0);
  EXPECT_NE(empty, nullptr);
  pool_deallocate(empty, 0);
  pool_deallocate(nullptr, 64);
}

TEST(Pool, ABlockMayBeFreedOnAnotherThread) {
  std::vector<void*> blocks;
  for (int i = 0; i < 1000; ++i) blocks.push_back(pool_allocate(96));
  std::thread other([&] {
    for (void* block : blocks) pool_deallocate(block, 96);
  });
  other.join();
  std::thread again([] {
    void* block = pool_allocate(96);
    pool_deallocate(block, 96);
  });
  again.join();
}

struct Pooled : PoolAllocated<Pooled> {
  virtual ~Pooled() = default;
  char payload[100];
};
struct Derived final : Pooled {
  char more[200];
};

TEST(Pool, PoolAllocatedClassesUseTheirDynamicSize) {
  Pooled* object = new Derived();
  delete object;  // the deleting destructor passes sizeof(Derived)
  Pooled* again = new Derived();
  EXPECT_EQ(again, object) << "the block went back to the class of sizeof(Derived)";
  delete again;
}

}  // namespace
}  // namespace switchboard::core
