#include "memory/recycled_memory.hpp"

#include <array>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WSGATE_NO_RECYCLING 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WSGATE_NO_RECYCLING 1
#endif

namespace wsgate::memory {
namespace {

struct FreeBlock {
  FreeBlock* next;
};

struct SizeList {
  std::size_t size = 0;  // 0: unused
  FreeBlock* first = nullptr;
  std::size_t kept = 0;
};

struct ThreadLists {
  std::array<SizeList, kSizesRecycled> lists{};
  std::size_t from_heap = 0;
  std::size_t kept_bytes = 0;
  ~ThreadLists();

  // The list of `size`, made if there is room for another size.
  SizeList* of(std::size_t size) {
    for (auto& l : lists) {
      if (l.size == size) return &l;
      if (l.size == 0) {
        l.size = size;
        return &l;
      }
    }
    return nullptr;
  }
};

thread_local bool t_lists_gone = false;  // trivially destructible: readable after ~ThreadLists

ThreadLists::~ThreadLists() {
  for (auto& l : lists) {
    while (FreeBlock* b = l.first) {
      l.first = b->next;
      ::operator delete(b);
    }
    l.kept = 0;
  }
  kept_bytes = 0;
  t_lists_gone = true;
}

ThreadLists* this_thread_lists() {
  if (t_lists_gone) return nullptr;
  thread_local ThreadLists lists;
  return &lists;
}

bool recyclable(std::size_t bytes, std::size_t alignment) {
#ifdef WSGATE_NO_RECYCLING
  (void)bytes;
  (void)alignment;
  return false;
#else
  return bytes >= sizeof(FreeBlock) && bytes <= kLargestRecycled && alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;
#endif
}

class RecycledMemory final : public std::pmr::memory_resource {
  void* do_allocate(std::size_t bytes, std::size_t alignment) override {
    ThreadLists* t = this_thread_lists();
    if (t && recyclable(bytes, alignment))
      if (SizeList* l = t->of(bytes); l && l->first) {
        FreeBlock* b = l->first;
        l->first = b->next;
        --l->kept;
        t->kept_bytes -= bytes;
        return b;
      }
    if (t) ++t->from_heap;
    if (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator new(bytes, std::align_val_t(alignment));
    return ::operator new(bytes);
  }

  void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
    ThreadLists* t = this_thread_lists();
    if (t && recyclable(bytes, alignment))
      if (SizeList* l = t->of(bytes); l && l->kept < kKeptPerSize && t->kept_bytes + bytes <= kKeptBytes) {
        l->first = new (p) FreeBlock{l->first};
        ++l->kept;
        t->kept_bytes += bytes;
        return;
      }
    if (alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__) return ::operator delete(p, std::align_val_t(alignment));
    ::operator delete(p);
  }

  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }
};

}  // namespace

std::pmr::memory_resource* recycled_memory() {
  // Never destroyed: a session may end after static destruction began (a thread's last, at exit).
  static RecycledMemory& resource = *new RecycledMemory;
  return &resource;
}

bool recycles() {
#ifdef WSGATE_NO_RECYCLING
  return false;
#else
  return true;
#endif
}

std::size_t kept_blocks(std::size_t size) {
  ThreadLists* t = this_thread_lists();
  if (!t) return 0;
  for (const auto& l : t->lists)
    if (l.size == size) return l.kept;
  return 0;
}

std::size_t heap_blocks() {
  const ThreadLists* t = this_thread_lists();
  return t ? t->from_heap : 0;
}

}  // namespace wsgate::memory
