#include <switchboard/buffer.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace switchboard {
namespace {

std::span<const std::byte> as_bytes(std::string_view text) {
  return std::as_bytes(std::span(text.data(), text.size()));
}

TEST(SharedBuffer, DefaultIsEmptyAndHoldsNoBlock) {
  SharedBuffer buffer;
  EXPECT_FALSE(buffer);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.capacity(), 0u);
  EXPECT_EQ(buffer.data(), nullptr);
  EXPECT_FALSE(buffer.unique());
}

TEST(SharedBuffer, CopyOfHoldsTheBytes) {
  SharedBuffer buffer = SharedBuffer::copy_of(std::string_view("hello"));
  ASSERT_TRUE(buffer);
  EXPECT_EQ(buffer.view(), "hello");
  EXPECT_EQ(buffer.size(), 5u);
  EXPECT_EQ(buffer.bytes().size(), 5u);
  EXPECT_TRUE(buffer.unique());
}

TEST(SharedBuffer, CopyOfEmptyIsABlockOfSizeZero) {
  SharedBuffer buffer = SharedBuffer::copy_of(std::string_view());
  EXPECT_TRUE(buffer);
  EXPECT_TRUE(buffer.empty());
  EXPECT_TRUE(buffer.unique());
}

TEST(SharedBuffer, CopyOfLargerThanStandardKeepsEveryByte) {
  std::string text(SharedBuffer::standard_capacity * 3 + 7, 'x');
  for (std::size_t i = 0; i < text.size(); ++i) text[i] = static_cast<char>('a' + i % 26);
  SharedBuffer buffer = SharedBuffer::copy_of(text);
  EXPECT_EQ(buffer.size(), text.size());
  EXPECT_EQ(buffer.view(), text);
  EXPECT_EQ(buffer.capacity(), text.size());
}

TEST(SharedBuffer, CopySharesTheBlockAndCountsReferences) {
  SharedBuffer a = SharedBuffer::copy_of(std::string_view("abc"));
  {
    SharedBuffer b = a;
    EXPECT_EQ(a.data(), b.data());
    EXPECT_FALSE(a.unique());
    EXPECT_FALSE(b.unique());
    SharedBuffer c;
    c = b;  // copy assignment
    EXPECT_EQ(c.data(), a.data());
    EXPECT_FALSE(c.unique());
  }
  EXPECT_TRUE(a.unique());
  EXPECT_EQ(a.view(), "abc");
}

TEST(SharedBuffer, MoveTransfersTheReference) {
  SharedBuffer a = SharedBuffer::copy_of(std::string_view("abc"));
  const std::byte* data = a.data();
  SharedBuffer b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  EXPECT_EQ(b.data(), data);
  EXPECT_TRUE(b.unique());
  SharedBuffer c;
  c = std::move(b);
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(c.data(), data);
  EXPECT_TRUE(c.unique());
}

TEST(SharedBuffer, SelfAssignmentKeepsTheBlock) {
  SharedBuffer a = SharedBuffer::copy_of(std::string_view("abc"));
  SharedBuffer& alias = a;
  a = alias;
  EXPECT_EQ(a.view(), "abc");
  EXPECT_TRUE(a.unique());
}

TEST(SharedBuffer, AssigningReleasesThePreviousBlock) {
  SharedBuffer a = SharedBuffer::copy_of(std::string_view("abc"));
  SharedBuffer b = a;
  b = SharedBuffer::copy_of(std::string_view("other"));
  EXPECT_TRUE(a.unique());
  EXPECT_EQ(b.view(), "other");
}

TEST(SharedBuffer, CapacitiesAreRoundedUpToThePooledSizes) {
  SharedBuffer small = SharedBuffer::with_capacity(10);
  EXPECT_EQ(small.capacity(), SharedBuffer::small_capacity);
  EXPECT_EQ(small.size(), 0u);
  EXPECT_TRUE(small);
  EXPECT_TRUE(small.unique());
  EXPECT_EQ(SharedBuffer::with_capacity(SharedBuffer::small_capacity).capacity(), SharedBuffer::small_capacity);
  EXPECT_EQ(SharedBuffer::with_capacity(SharedBuffer::small_capacity + 1).capacity(),
            SharedBuffer::standard_capacity);
  EXPECT_EQ(SharedBuffer::with_capacity(SharedBuffer::standard_capacity + 1).capacity(),
            SharedBuffer::standard_capacity + 1);
}

TEST(SharedBuffer, AppendWithinCapacityCopiesEverything) {
  SharedBuffer buffer = SharedBuffer::with_capacity(100);
  EXPECT_EQ(buffer.append(as_bytes("hello ")), 6u);
  EXPECT_EQ(buffer.append(as_bytes("world")), 5u);
  EXPECT_EQ(buffer.view(), "hello world");
  EXPECT_EQ(buffer.spare_size(), buffer.capacity() - 11);
}

TEST(SharedBuffer, AppendStopsAtCapacity) {
  const std::size_t capacity = SharedBuffer::standard_capacity + 10;
  SharedBuffer buffer = SharedBuffer::with_capacity(capacity);
  ASSERT_EQ(buffer.capacity(), capacity);
  std::string text(capacity + 5, 'z');
  EXPECT_EQ(buffer.append(as_bytes(text)), capacity);
  EXPECT_EQ(buffer.size(), capacity);
  EXPECT_EQ(buffer.spare_size(), 0u);
  EXPECT_EQ(buffer.append(as_bytes("more")), 0u);
  EXPECT_EQ(buffer.size(), capacity);
}

TEST(SharedBuffer, SpareAndCommitWriteInPlace) {
  SharedBuffer buffer = SharedBuffer::with_capacity(64);
  buffer.append(as_bytes("ab"));
  std::memcpy(buffer.spare(), "cdef", 4);
  buffer.commit(3);
  EXPECT_EQ(buffer.view(), "abcde");
}

TEST(SharedBuffer, CapacityOver4GiBThrows) {
  EXPECT_THROW(SharedBuffer::with_capacity(std::size_t(1) << 33), std::length_error);
}

// A freed standard block goes to this thread's free list and is the next one handed
// out. The malloc in between would receive the block if it had gone back to malloc.
TEST(SharedBuffer, FreedStandardBlockIsReusedOnTheSameThread) {
  const std::byte* first;
  {
    SharedBuffer a = SharedBuffer::with_capacity(100);
    first = a.data();
  }
  void* other = std::malloc(SharedBuffer::standard_capacity + 64);
  SharedBuffer b = SharedBuffer::with_capacity(1);
  EXPECT_EQ(b.data(), first);
  EXPECT_EQ(b.size(), 0u) << "a reused block starts empty";
  EXPECT_TRUE(b.unique()) << "a reused block starts with one reference";
  std::free(other);
}

TEST(SharedBuffer, FreeListIsLastInFirstOut) {
  const std::byte* pa;
  const std::byte* pb;
  {
    SharedBuffer a = SharedBuffer::with_capacity(1);
    SharedBuffer b = SharedBuffer::with_capacity(1);
    pa = a.data();
    pb = b.data();
    // b is released first, then a.
  }
  SharedBuffer x = SharedBuffer::with_capacity(1);
  SharedBuffer y = SharedBuffer::with_capacity(1);
  EXPECT_EQ(x.data(), pa);
  EXPECT_EQ(y.data(), pb);
}

TEST(SharedBuffer, ManyFreedBlocksDoNotLeak) {
  // More than the free list holds; the sanitizer build's leak check sees any block lost.
  std::vector<SharedBuffer> buffers;
  for (int i = 0; i < 200; ++i) buffers.push_back(SharedBuffer::with_capacity(1));
  buffers.clear();
  for (int i = 0; i < 200; ++i) buffers.push_back(SharedBuffer::with_capacity(1));
  std::vector<const std::byte*> seen;
  for (auto& b : buffers) seen.push_back(b.data());
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "a block handed out twice";
}

// The refcount is atomic: copies made and dropped on several threads at once leave
// exactly the original reference (under ASan a lost or extra decrement shows as a
// use-after-free or a leak).
TEST(SharedBuffer, CopiesOnSeveralThreadsKeepTheCount) {
  SharedBuffer buffer = SharedBuffer::copy_of(std::string_view("shared"));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([buffer] {
      for (int i = 0; i < 20000; ++i) {
        SharedBuffer copy = buffer;
        SharedBuffer moved = std::move(copy);
        ASSERT_EQ(moved.view(), "shared");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(buffer.unique());
  EXPECT_EQ(buffer.view(), "shared");
}

// The last reference dropped on another thread frees the block there (into that
// thread's free list, freed when the thread ends).
TEST(SharedBuffer, LastReferenceReleasedOnAnotherThread) {
  for (int round = 0; round < 50; ++round) {
    SharedBuffer standard = SharedBuffer::copy_of(std::string_view("standard"));
    SharedBuffer large = SharedBuffer::with_capacity(SharedBuffer::standard_capacity * 2);
    large.append(as_bytes("large"));
    std::thread other([s = std::move(standard), l = std::move(large)]() mutable {
      EXPECT_EQ(s.view(), "standard");
      EXPECT_EQ(l.view(), "large");
      s = SharedBuffer();
      l = SharedBuffer();
    });
    other.join();
  }
  // This thread's free list is untouched by the other thread's frees.
  SharedBuffer after = SharedBuffer::with_capacity(1);
  EXPECT_EQ(after.size(), 0u);
}

TEST(SharedBuffer, SharedAcrossThreadsLastReleaseRacesWithTheOwner) {
  for (int round = 0; round < 200; ++round) {
    SharedBuffer buffer = SharedBuffer::copy_of(std::string_view("race"));
    SharedBuffer copy = buffer;
    std::thread other([c = std::move(copy)]() mutable { c = SharedBuffer(); });
    buffer = SharedBuffer();  // either thread may drop the last reference
    other.join();
  }
}

}  // namespace
}  // namespace switchboard
