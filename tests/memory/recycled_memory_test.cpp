#include "memory/recycled_memory.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace wsgate::memory {
namespace {

struct Sized {
  char bytes[200];
};

TEST(RecycledMemory, AGivenBackBlockIsTheNextOneTakenOfItsSize) {
  if (!recycles()) GTEST_SKIP() << "a sanitizer build keeps nothing";
  auto* r = recycled_memory();
  void* a = r->allocate(1000, 16);
  const std::size_t kept = kept_blocks(1000);
  r->deallocate(a, 1000, 16);
  EXPECT_EQ(kept_blocks(1000), kept + 1);
  const std::size_t from_heap = heap_blocks();
  void* b = r->allocate(1000, 16);
  EXPECT_EQ(b, a);
  EXPECT_EQ(heap_blocks(), from_heap);
  void* other = r->allocate(1008, 16);  // another size is not served from this one's list
  EXPECT_NE(other, a);
  r->deallocate(b, 1000, 16);
  r->deallocate(other, 1008, 16);
}

TEST(RecycledMemory, KeepsABoundedNumberPerSize) {
  if (!recycles()) GTEST_SKIP() << "a sanitizer build keeps nothing";
  auto* r = recycled_memory();
  std::vector<void*> blocks;
  for (std::size_t i = 0; i < kKeptPerSize + 50; ++i) blocks.push_back(r->allocate(3000, 16));
  for (void* p : blocks) r->deallocate(p, 3000, 16);
  EXPECT_EQ(kept_blocks(3000), kKeptPerSize);
}

TEST(RecycledMemory, KeepsABoundedNumberOfBytesInAll) {
  if (!recycles()) GTEST_SKIP() << "a sanitizer build keeps nothing";
  auto* r = recycled_memory();
  // 128 of 16,000 bytes and 128 of 15,000 would be 3.8 MiB; with what other tests left, the
  // third size's blocks stop being kept once the thread keeps kKeptBytes.
  std::vector<std::pair<void*, std::size_t>> blocks;
  for (const std::size_t size : {16000, 15000, 14000})
    for (std::size_t i = 0; i < kKeptPerSize; ++i) blocks.emplace_back(r->allocate(size, 16), size);
  for (auto [p, size] : blocks) r->deallocate(p, size, 16);
  const std::size_t kept = kept_blocks(16000) * 16000 + kept_blocks(15000) * 15000 + kept_blocks(14000) * 14000;
  EXPECT_LE(kept, kKeptBytes);
  EXPECT_GT(kept, kKeptBytes - 16000 - 3000 * kKeptPerSize);  // it did fill up to near the bound
  EXPECT_LT(kept_blocks(14000), kKeptPerSize);
}

TEST(RecycledMemory, LargeAndOveralignedBlocksGoToTheHeap) {
  auto* r = recycled_memory();
  void* big = r->allocate(kLargestRecycled + 1, 16);
  r->deallocate(big, kLargestRecycled + 1, 16);
  EXPECT_EQ(kept_blocks(kLargestRecycled + 1), 0u);
  void* aligned = r->allocate(256, 64);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(aligned) % 64, 0u);
  r->deallocate(aligned, 256, 64);
  EXPECT_EQ(kept_blocks(256), 0u);
}

TEST(RecycledMemory, ABlockFreedOnAnotherThreadIsKeptThereAndFreedWithIt) {
  auto* r = recycled_memory();
  void* p = r->allocate(777, 16);
  const std::size_t kept_here = kept_blocks(777);
  std::size_t kept_there = 0;
  std::thread([&] {
    r->deallocate(p, 777, 16);
    kept_there = kept_blocks(777);
  }).join();  // the thread's lists are freed as it ends: LeakSanitizer would see a block lost there
  EXPECT_EQ(kept_there, recycles() ? 1u : 0u);
  EXPECT_EQ(kept_blocks(777), kept_here);
}

TEST(RecycledMemory, SharedObjectsComeAndGoThroughIt) {
  if (!recycles()) GTEST_SKIP() << "a sanitizer build keeps nothing";
  std::weak_ptr<Sized> weak;
  void* first = nullptr;
  {
    auto a = std::allocate_shared<Sized>(recycling_allocator<Sized>());
    a->bytes[0] = 'x';
    weak = a;
    first = a.get();
  }
  EXPECT_TRUE(weak.expired());
  weak.reset();  // the control block goes back once the last weak reference does
  auto b = std::allocate_shared<Sized>(recycling_allocator<Sized>());
  EXPECT_EQ(static_cast<void*>(b.get()), first);
}

}  // namespace
}  // namespace wsgate::memory
