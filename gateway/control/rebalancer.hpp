// Rebalancing after a scale-out (routes with rebalance: max_per_minute): once a second, on the
// control thread, each such route's backends that hold more than their bounded-load share have
// their oldest sessions beyond it closed with 1012 "rebalance", at most max_per_minute a minute,
// never below the share and never during a drain. Their clients reconnect to where the hash
// places them now. It reads the io threads' session registries; it opens nothing.
#pragma once

#include "gateway/proxy/session_registry.hpp"
#include "gateway/runtime.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace wsgate::gateway {

class Rebalancer {
 public:
  struct Worker {
    boost::asio::io_context* io;
    SessionRegistry* registry;
  };
  Rebalancer(boost::asio::io_context& control, std::vector<Worker> workers,
             std::function<std::shared_ptr<const Runtime>()> runtime, std::function<bool()> draining);
  void start();
  void stop();

 private:
  void tick();
  void rebalance(const RouteRuntime& route, std::size_t budget, std::shared_ptr<const Runtime> keep);

  boost::asio::io_context& control_;
  std::vector<Worker> workers_;
  std::function<std::shared_ptr<const Runtime>()> runtime_;
  std::function<bool()> draining_;
  boost::asio::steady_timer timer_;
  std::map<std::string, double> allowance_;  // by route: closes it may make now
  std::set<std::string> in_flight_;           // routes whose sessions are being gathered
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wsgate::gateway
