// Where the heads of a request and its response live while the gateway handles them: Beast fields
// over a per-request arena whose blocks come from the memory its owner names (the data path's
// recycled memory), so that an upgrade's parsing, checks and response rewrite make no heap
// allocation in the common case.
#pragma once

#include "memory/resource_allocator.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <cstddef>
#include <memory_resource>

namespace wsgate::http {

// Default-constructed, these take the default memory resource (new and delete), so code that has
// no arena (tests, HTTP/2's translation) uses them as it would Beast's own.
using Allocator = memory::ResourceAllocator<char>;
using Fields = boost::beast::http::basic_fields<Allocator>;
using RequestHeader = boost::beast::http::request_header<Fields>;
using ResponseHeader = boost::beast::http::response_header<Fields>;

// The memory of one request or one response. Its first block (kBlockBytes) is taken from
// `upstream` when something is first allocated, and given back on reset() or destruction; what
// outgrows it comes from `upstream` in larger blocks. Deallocation frees nothing before reset(): a
// head's fields are bounded by max_header_bytes, and one request's rewrites are few. One thread
// only, like the session that owns it.
class RequestArena {
 public:
  static constexpr std::size_t kBlockBytes = 4096;

  explicit RequestArena(std::pmr::memory_resource* upstream);
  RequestArena(const RequestArena&) = delete;
  RequestArena& operator=(const RequestArena&) = delete;

  Allocator allocator() { return Allocator(&memory_); }
  // Everything allocated from the arena is gone: nothing made with its allocator may be used after.
  void reset() { memory_.release(); }

 private:
  std::pmr::monotonic_buffer_resource memory_;
};

}  // namespace wsgate::http
