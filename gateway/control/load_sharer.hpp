// Bounded loads shared by every gateway instance (routes with shared_loads): every 250 ms, on the
// control thread, this instance's sessions per backend go to Redis under a lease and the other
// live instances' come back, summed, into each backend's remote load, which the pickers add to
// their own. Redis down: the remote loads go to 0 (local bounds), with one line and a counter.
#pragma once

#include "gateway/runtime.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>

namespace wsgate::gateway {

class LoadSharer {
 public:
  // `control_row`: the metrics row of the control thread, where its counts go.
  LoadSharer(boost::asio::io_context& control, std::function<std::shared_ptr<const Runtime>()> runtime,
             std::size_t control_row);
  void start();
  void stop();

 private:
  void exchange();
  void fall_back(const Runtime& rt);

  std::function<std::shared_ptr<const Runtime>()> runtime_;
  boost::asio::steady_timer timer_;
  std::size_t control_row_;
  bool in_flight_ = false;
  bool shared_ = true;  // as last logged: one line per outage
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace wsgate::gateway
