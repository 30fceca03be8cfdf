// What the admin listener answers: /healthz, /readyz, /metrics, the status page (/) and the runtime
// API (/api/...: routes, backends, sessions, config, log level, drain/disable/enable, history).
#pragma once

#include "gateway/admin/admin_server.hpp"
#include "gateway/runtime.hpp"
#include "gateway/proxy/session_registry.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::gateway {

class AdminApi {
 public:
  struct Worker {
    boost::asio::io_context* io = nullptr;
    SessionRegistry* registry = nullptr;
  };
  struct Context {
    boost::asio::io_context* control = nullptr;
    std::function<std::shared_ptr<const Runtime>()> runtime;
    const std::atomic<bool>* ready = nullptr;
    std::function<std::string()> metrics;  // the /metrics body
    std::vector<Worker> workers;
    // Closes the sessions relayed to a URL with 1012 on every thread (disable).
    std::function<void(const std::string& url)> end_backend_sessions;
    std::uint64_t generation = 1;  // the process's (binary upgrades count it up)
  };

  explicit AdminApi(Context context);

  // Starts sampling the per-route history the status page draws. Control thread.
  void start();
  // Control thread; `respond` may be called later (sessions are gathered from every io thread).
  void handle(AdminRequest request, std::function<void(AdminResponse)> respond);

  // A backend's id in the API: its URL's stable hash, 12 hex digits (the URL itself would need
  // escaping in a path, and is no secret either: /api/backends lists both).
  static std::string backend_id(const std::string& url);

 private:
  struct Sample {
    double at_unix = 0;
    std::map<std::string, std::array<std::uint64_t, 4>> routes;  // messages in/out, bytes in/out
    std::map<std::string, std::uint64_t> rejections;             // by status
  };

  bool authorized(const AdminRequest& r) const;
  void sample();
  Sample take_sample() const;
  AdminResponse routes() const;
  AdminResponse backends() const;
  AdminResponse config() const;
  AdminResponse history() const;
  AdminResponse log_level(const AdminRequest& r);
  AdminResponse backend_action(const AdminRequest& r, const std::string& id, const std::string& action);
  void sessions(const std::string& query, std::function<void(AdminResponse)> respond);
  void end_session(const std::string& id, const std::string& query, const AdminRequest& r,
                   std::function<void(AdminResponse)> respond);

  Context ctx_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::deque<Sample> history_;
};

}  // namespace wsgate::gateway
