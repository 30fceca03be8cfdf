#include "gateway/runtime.hpp"

#include <boost/asio/io_context.hpp>

namespace wsgate::gateway {

std::shared_ptr<const Runtime> Runtime::build(config::Config cfg, std::vector<std::string>& errors) {
  auto rt = std::make_shared<Runtime>();
  rt->config = std::move(cfg);
  const auto& c = rt->config;
  const auto errors_before = errors.size();

  std::vector<routing::RouteMatch> matches;
  for (const auto& route : c.routes) matches.push_back({route.host, route.path_prefix});
  rt->table = routing::RouteTable(std::move(matches));

  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  for (const auto& route : c.routes) {
    RouteRuntime r;
    r.config = &route;
    r.picker = std::make_unique<routing::BackendPicker>(route.backends.size());
    bool any_tls = false;
    for (const auto& b : route.backends) {
      boost::system::error_code ec;
      auto results = resolver.resolve(b.host, std::to_string(b.port), ec);
      if (ec || results.empty()) {
        errors.push_back(c.source_file + ": routes " + route.name + ": backend " + b.url +
                         ": cannot resolve " + b.host + ": " + ec.message());
        continue;
      }
      r.endpoints.push_back(results.begin()->endpoint());
      any_tls = any_tls || b.tls;
    }
    if (any_tls) {
      std::string error;
      r.backend_tls = make_client_tls_context(route.backend_ca_file, error);
      if (!r.backend_tls) errors.push_back(c.source_file + ": routes " + route.name + ": " + error);
    }
    rt->routes.push_back(std::move(r));
  }
  for (const auto& l : c.listeners) {
    if (!l.tls) {
      rt->listener_tls.push_back(nullptr);
      continue;
    }
    rt->listener_tls.push_back(
        ServerTlsContext::create(*l.tls, c.source_file + ": listeners " + l.name, errors));
  }
  if (errors.size() != errors_before) return nullptr;
  return rt;
}

}  // namespace wsgate::gateway
