// Where the heads of a request and its response live while the gateway handles them: Beast fields
// over a per-request arena whose blocks come from a per-thread pool, so that an upgrade takes no
// heap allocation for its parsing, checks and response rewrite in the common case.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <cstddef>
#include <memory_resource>
#include <type_traits>

namespace wsgate::http {

// std::pmr::polymorphic_allocator, but assignable, as Beast's fields require: a head moved into one
// made with another resource is copied (the resource never propagates), as pmr containers do.
// Default-constructed it takes the default resource (new and delete), so code that has no arena
// (tests, HTTP/2's translation) uses these types as it would Beast's own.
template <class T>
class ResourceAllocator {
 public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::false_type;
  using propagate_on_container_move_assignment = std::false_type;
  using propagate_on_container_swap = std::false_type;
  using is_always_equal = std::false_type;

  ResourceAllocator() noexcept : resource_(std::pmr::get_default_resource()) {}
  explicit ResourceAllocator(std::pmr::memory_resource* resource) noexcept : resource_(resource) {}
  template <class U>
  ResourceAllocator(const ResourceAllocator<U>& other) noexcept : resource_(other.resource()) {}

  T* allocate(std::size_t n) { return static_cast<T*>(resource_->allocate(n * sizeof(T), alignof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { resource_->deallocate(p, n * sizeof(T), alignof(T)); }
  // Copies of a container get the default resource, not the arena of the one copied.
  ResourceAllocator select_on_container_copy_construction() const noexcept { return {}; }
  std::pmr::memory_resource* resource() const noexcept { return resource_; }

  template <class U>
  bool operator==(const ResourceAllocator<U>& other) const noexcept { return *resource_ == *other.resource(); }

 private:
  std::pmr::memory_resource* resource_;
};

using Allocator = ResourceAllocator<char>;
using Fields = boost::beast::http::basic_fields<Allocator>;
using RequestHeader = boost::beast::http::request_header<Fields>;
using ResponseHeader = boost::beast::http::response_header<Fields>;

// The memory of one request and its answer. Its first block comes from this thread's pool, when
// something is first allocated (a connection waiting for its first byte holds none), and goes back
// there on reset() or destruction; what outgrows the block comes from the heap. Deallocation frees
// nothing before reset(): a head's fields are bounded by max_header_bytes, and one request's
// rewrites are few. One thread only, like the session that owns it.
class RequestArena {
 public:
  // The pool's block size, and how many blocks a thread keeps when every arena has given its back
  // (64 x 4 KiB: upgrades in flight at once on one thread beyond that allocate and free theirs).
  static constexpr std::size_t kBlockBytes = 4096;
  static constexpr std::size_t kPooledBlocks = 64;

  RequestArena();
  ~RequestArena() = default;
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;

  Allocator allocator() { return Allocator(&memory_); }
  // Everything allocated from the arena is gone: nothing made with its allocator may be used after.
  void reset() { memory_.release(); }

  // This thread's pooled blocks, and how many blocks the pool has handed out since the thread
  // started (taken from the pool or newly allocated), for tests.
  static std::size_t pooled_blocks();
  static std::size_t blocks_handed_out();

 private:
  std::pmr::monotonic_buffer_resource memory_;
};

}  // namespace wsgate::http
