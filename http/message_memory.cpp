#include "http/message_memory.hpp"

#include <array>
#include <new>

namespace wsgate::http {
namespace {

constexpr std::align_val_t kAlign{alignof(std::max_align_t)};

// One thread's spare blocks. A block is plain memory, so whichever thread frees one keeps it: an
// arena destroyed on another thread (at shutdown) gives its block to that thread's pool, or to the
// heap once that pool is full or has ended with its thread.
struct ThreadBlocks {
  std::array<void*, RequestArena::kPooledBlocks> blocks{};
  std::size_t count = 0;
  std::size_t handed_out = 0;
  ~ThreadBlocks();
};

thread_local bool t_blocks_gone = false;  // trivially destructible: readable after ~ThreadBlocks

ThreadBlocks::~ThreadBlocks() {
  for (std::size_t i = 0; i < count; ++i) ::operator delete(blocks[i], kAlign);
  count = 0;
  t_blocks_gone = true;
}

ThreadBlocks* this_thread_blocks() {
  if (t_blocks_gone) return nullptr;
  thread_local ThreadBlocks blocks;
  return &blocks;
}

class PooledBlocks final : public std::pmr::memory_resource {
  void* do_allocate(std::size_t bytes, std::size_t) override {
    ThreadBlocks* t = this_thread_blocks();
    if (t) ++t->handed_out;
    if (t && bytes == RequestArena::kBlockBytes && t->count > 0) return t->blocks[--t->count];
    return ::operator new(bytes, kAlign);
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t) override {
    ThreadBlocks* t = this_thread_blocks();
    if (t && bytes == RequestArena::kBlockBytes && t->count < t->blocks.size()) {
      t->blocks[t->count++] = p;
      return;
    }
    ::operator delete(p, kAlign);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }
};

// Never destroyed: an arena may outlive static destruction (a thread's last session at exit).
PooledBlocks& pooled_blocks_resource() {
  static PooledBlocks& resource = *new PooledBlocks;
  return resource;
}

// libstdc++'s monotonic_buffer_resource keeps its chunk's bookkeeping inside the chunk and rounds
// the chunk up to a power of two: asking for a little less than a block gets exactly a block
// (tested).
constexpr std::size_t kFirstChunk = RequestArena::kBlockBytes - 64;

}  // namespace

RequestArena::RequestArena() : memory_(kFirstChunk, &pooled_blocks_resource()) {}

std::size_t RequestArena::pooled_blocks() {
  const ThreadBlocks* t = this_thread_blocks();
  return t ? t->count : 0;
}

std::size_t RequestArena::blocks_handed_out() {
  const ThreadBlocks* t = this_thread_blocks();
  return t ? t->handed_out : 0;
}

}  // namespace wsgate::http
