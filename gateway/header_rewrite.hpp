// How a request is changed on its way to a backend, and a response on its way back: hop-by-hop
// headers dropped (RFC 7230 6.1), X-Forwarded-* added, the upgrade headers put back for WebSocket.
#pragma once

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <string_view>

namespace wsgate::gateway {

struct ForwardInfo {
  std::string_view client_ip;  // appended to X-Forwarded-For
  bool tls = false;            // X-Forwarded-Proto: https or http
  bool upgrade = false;        // keep the request a WebSocket upgrade
};

// Removes Connection, the headers Connection names, and the RFC 7230 hop-by-hop set.
void strip_hop_by_hop(boost::beast::http::fields& fields);

void rewrite_request(boost::beast::http::request_header<>& req, const ForwardInfo& info);
void rewrite_response(boost::beast::http::response_header<>& res, bool upgrade);

}  // namespace wsgate::gateway
