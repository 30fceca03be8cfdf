// Takes in a session the previous process of a binary upgrade handed over: its record decoded and
// checked, its sockets wrapped, and a relay built against this process's configuration, by route
// name and backend URL. Nothing is read or written until the previous process knows it is taken.
#pragma once

#include "gateway/proxy/session_registry.hpp"
#include "gateway/runtime.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace wsgate::gateway {

struct Adoption {
  std::string error;  // set: not taken; the descriptors are closed and the session stays with the old process
  std::string id;     // its id in the previous process
  bool closed = false;  // its route or backend is gone from this configuration: it gets 1012
  // Run on the session's thread once the previous process was told: the relay goes on (or the
  // session is closed as a reload would close it).
  std::function<void()> go;
};

// On the io thread that will own the session; takes both descriptors whatever the outcome.
Adoption adopt_session(std::string_view record, int client_fd, int backend_fd,
                       const std::shared_ptr<const Runtime>& runtime, SessionRegistry& registry,
                       boost::asio::io_context& io);

}  // namespace wsgate::gateway
