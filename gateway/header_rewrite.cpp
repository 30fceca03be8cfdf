#include "gateway/header_rewrite.hpp"

#include <boost/beast/http/rfc7230.hpp>

#include <string>
#include <vector>

namespace wsgate::gateway {
namespace http = boost::beast::http;

void strip_hop_by_hop(http::fields& fields) {
  std::vector<std::string> named;
  for (auto token : http::token_list(fields[http::field::connection]))
    named.emplace_back(token);
  for (const auto& name : named) fields.erase(name);
  for (auto f : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                 http::field::proxy_authenticate, http::field::proxy_authorization,
                 http::field::te, http::field::trailer, http::field::transfer_encoding,
                 http::field::upgrade})
    fields.erase(f);
}

void rewrite_request(http::request_header<>& req, const ForwardInfo& info) {
  strip_hop_by_hop(req);
  if (info.upgrade) {
    req.set(http::field::connection, "Upgrade");
    req.set(http::field::upgrade, "websocket");
  }
  // As NGINX's $proxy_add_x_forwarded_for: keep what earlier proxies wrote, append our peer.
  std::string xff(req["X-Forwarded-For"]);
  xff += xff.empty() ? "" : ", ";
  xff += info.client_ip;
  req.set("X-Forwarded-For", xff);
  req.set("X-Forwarded-Proto", info.tls ? "https" : "http");
  req.set("X-Forwarded-Host", req[http::field::host]);
}

void rewrite_response(http::response_header<>& res, bool upgrade) {
  strip_hop_by_hop(res);
  if (upgrade) {
    res.set(http::field::connection, "Upgrade");
    res.set(http::field::upgrade, "websocket");
  }
}

}  // namespace wsgate::gateway
