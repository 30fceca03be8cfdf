// Memory the data path takes and gives back on every connection (session objects, read buffers,
// request arenas, readiness waits), kept per thread by exact size, so that an upgrade cycle does
// not go to the heap for it once a thread has seen one.
#pragma once

#include "memory/resource_allocator.hpp"

#include <cstddef>
#include <memory_resource>

namespace wsgate::memory {

// Blocks of up to kLargestRecycled bytes, of up to kSizesRecycled distinct sizes, go on a free
// list of their size when given back, kKeptPerSize of each and kKeptBytes in all at most; the rest
// come from and go to the heap. Whichever thread frees a block keeps it (a block is plain memory); a thread's lists
// are freed when it ends. Never destroyed. Under AddressSanitizer or ThreadSanitizer nothing is
// kept, so that every use after free is still seen.
std::pmr::memory_resource* recycled_memory();

inline constexpr std::size_t kLargestRecycled = 16384;
inline constexpr std::size_t kSizesRecycled = 16;
inline constexpr std::size_t kKeptPerSize = 128;
inline constexpr std::size_t kKeptBytes = 4 << 20;  // per thread: what a burst leaves is bounded

// Whether this build keeps blocks at all (not under a sanitizer).
bool recycles();
// This thread's kept blocks of `size` bytes, and the blocks of any size it has taken from the
// heap so far; for tests.
std::size_t kept_blocks(std::size_t size);
std::size_t heap_blocks();

template <class T>
ResourceAllocator<T> recycling_allocator() {
  return ResourceAllocator<T>(recycled_memory());
}

}  // namespace wsgate::memory
