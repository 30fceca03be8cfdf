// The sessions living on one io thread, so that SIGTERM can tell each to go away (1001) and the
// drain can see when the last has gone. Touched only from its own thread; the total is atomic.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <unordered_map>

namespace wsgate::gateway {

class Drainable {
 public:
  virtual ~Drainable() = default;
  virtual void go_away() = 0;  // close as for shutdown: 1001 to WebSocket clients
};

class SessionRegistry {
 public:
  void add(const std::shared_ptr<Drainable>& session);
  void remove(Drainable* session);
  // Marks the thread as draining and tells every live session to go away.
  void drain();
  bool draining() const { return draining_; }

  // Sessions alive on every thread together; read by the drain to know when to exit.
  static std::size_t total() { return total_.load(std::memory_order_relaxed); }

 private:
  std::unordered_map<Drainable*, std::weak_ptr<Drainable>> sessions_;
  bool draining_ = false;
  static std::atomic<std::size_t> total_;
};

}  // namespace wsgate::gateway
