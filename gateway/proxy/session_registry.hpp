// The sessions living on one io thread, so that SIGTERM can tell each to go away (1001) and the
// drain can see when the last has gone. Touched only from its own thread; the total is atomic.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::gateway {

// A relayed session as the admin API shows it.
struct SessionView {
  std::string id;  // "THREAD-N": unique while the process lives
  std::string route, backend, client;
  std::uint64_t key_hash = 0;  // the client's key, hashed (0: none); never the key itself
  double age_seconds = 0;
  std::uint64_t messages_in = 0, messages_out = 0;  // in: client to backend
  std::uint64_t bytes_in = 0, bytes_out = 0;
};

// A session leaving for the new process of a binary upgrade, at a frame boundary: its record
// (handover/session_record) and both sockets, which this process's epoll no longer watches. The
// descriptors stay this process's, to close once the new one has them or to take back if it fails.
struct HandedSession {
  std::string id;
  std::string record;
  int client_fd = -1;
  int backend_fd = -1;
};
using HandoverSink = std::function<void(HandedSession)>;

// What a session does when a binary upgrade asks it to move.
enum class HandoverStep {
  moving,    // it goes to the sink at its next frame boundary
  draining,  // it cannot move (TLS, HTTP/2, its HTTP phase): it goes away as for a drain (1001)
  ending,    // it is closing on its own already
};

class Drainable {
 public:
  virtual ~Drainable() = default;
  virtual void go_away() = 0;  // close as for shutdown: 1001 to WebSocket clients
  // The backend at `url` left (unhealthy, or removed by a reload): a session relayed to it closes
  // with 1012 so its client reconnects to its new home. Others ignore it.
  virtual void backend_left(const std::string& url) { (void)url; }
  // A relayed session fills `view` and returns true; one still in its HTTP phase returns false.
  virtual bool describe(SessionView& view) const { (void)view; return false; }
  // The operator ends it: `code` to the client, 1001 to the backend. False when not a relay.
  virtual bool end_by_operator(std::uint16_t code) { (void)code; return false; }
  // Its backend holds more than its share: 1012 "rebalance" to the client. False when not a relay.
  virtual bool rebalance() { return false; }
  // A binary upgrade: a relay of two plain sockets goes to `sink` at its next frame boundary in
  // both directions; anything else goes away as for a drain.
  virtual HandoverStep hand_over(const std::shared_ptr<HandoverSink>& sink) {
    (void)sink;
    go_away();
    return HandoverStep::draining;
  }

  std::uint64_t registry_id() const { return registry_id_; }

 private:
  friend class SessionRegistry;
  std::uint64_t registry_id_ = 0;
  // The registry's list runs through its sessions: adding one allocates nothing.
  std::weak_ptr<Drainable> registry_self_;
  Drainable* registry_prev_ = nullptr;
  Drainable* registry_next_ = nullptr;
  bool registered_ = false;
  bool handover_asked_ = false;  // by the binary upgrade under way
};

class SessionRegistry {
 public:
  explicit SessionRegistry(std::size_t thread = 0) : thread_(thread) {}
  // The io thread's number: the row its sessions count metrics in.
  std::size_t thread() const { return thread_; }

  // `number`: keep the id of the session this one continues (a relay, its upgrade's); 0: a new one.
  void add(const std::shared_ptr<Drainable>& session, std::uint64_t number = 0);
  // "THREAD-N": what logs, the access log and the admin API call the session.
  std::string id_of(const Drainable& session) const {
    return std::to_string(thread_) + "-" + std::to_string(session.registry_id());
  }
  void remove(Drainable* session);
  // Marks the thread as draining and tells every live session to go away.
  void drain();
  // A binary upgrade, a batch at a time: up to `limit` live sessions not asked before move
  // (hand_over); those met on the way that cannot move go away. No new sessions are taken.
  struct HandoverStart {
    std::size_t moving = 0;
    std::size_t draining = 0;
    bool more = false;  // sessions are left that were not asked yet
  };
  HandoverStart hand_over(const std::shared_ptr<HandoverSink>& sink, std::size_t limit);
  // Tells every live session that the backend at `url` left.
  void close_backend(const std::string& url);
  // The admin API's view of this thread's relays (those matching `route` and `backend` when not
  // empty), at most `limit`; and one ended by its id's number. Own thread only.
  std::vector<SessionView> describe(const std::string& route, const std::string& backend,
                                    std::size_t limit) const;
  bool end_session(std::uint64_t number, std::uint16_t code);
  bool rebalance_session(std::uint64_t number);
  bool draining() const { return draining_; }
  // A handover failed: the sessions stay, and new ones are taken again.
  void stop_draining();

  // Sessions alive on every thread together; read by the drain to know when to exit.
  static std::size_t total() { return total_.load(std::memory_order_relaxed); }

 private:
  std::vector<std::shared_ptr<Drainable>> live() const;

  std::size_t thread_;
  std::uint64_t next_id_ = 0;
  Drainable* first_ = nullptr;  // the sessions, newest first
  bool draining_ = false;
  static std::atomic<std::size_t> total_;
};

}  // namespace wsgate::gateway
