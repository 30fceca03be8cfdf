// An allocator over a std::pmr::memory_resource that, unlike std::pmr::polymorphic_allocator, can
// be assigned, as Beast's fields and buffers require; the resource never propagates.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <type_traits>

namespace wsgate::memory {

// A container moved into one made with another resource copies its elements, as pmr containers
// do. Default-constructed it takes the default resource (new and delete).
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
  // A copy of a container gets the default resource, not the one of the container copied.
  ResourceAllocator select_on_container_copy_construction() const noexcept { return {}; }
  std::pmr::memory_resource* resource() const noexcept { return resource_; }

  template <class U>
  bool operator==(const ResourceAllocator<U>& other) const noexcept { return *resource_ == *other.resource(); }

 private:
  std::pmr::memory_resource* resource_;
};

}  // namespace wsgate::memory
