// The sessions living on one io thread, so that SIGTERM can tell each to go away (1001) and the
// drain can see when the last has gone. Touched only from its own thread; the total is atomic.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace wsgate::gateway {

class Drainable {
 public:
  virtual ~Drainable() = default;
  virtual void go_away() = 0;  // close as for shutdown: 1001 to WebSocket clients
  // The backend at `url` left (unhealthy, or removed by a reload): a session relayed to it closes
  // with 1012 so its client reconnects to its new home. Others ignore it.
  virtual void backend_left(const std::string& url) { (void)url; }
};

class SessionRegistry {
 public:
  explicit SessionRegistry(std::size_t thread = 0) : thread_(thread) {}
  // The io thread's number: the row its sessions count metrics in.
  std::size_t thread() const { return thread_; }

  void add(const std::shared_ptr<Drainable>& session);
  void remove(Drainable* session);
  // Marks the thread as draining and tells every live session to go away.
  void drain();
  // Tells every live session that the backend at `url` left.
  void close_backend(const std::string& url);
  bool draining() const { return draining_; }

  // Sessions alive on every thread together; read by the drain to know when to exit.
  static std::size_t total() { return total_.load(std::memory_order_relaxed); }

 private:
  std::vector<std::shared_ptr<Drainable>> live() const;

  std::size_t thread_;
  std::unordered_map<Drainable*, std::weak_ptr<Drainable>> sessions_;
  bool draining_ = false;
  static std::atomic<std::size_t> total_;
};

}  // namespace wsgate::gateway
