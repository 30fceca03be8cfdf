// Finds a client's token where the provider says to look (Authorization: Bearer, a query
// parameter, a cookie, or Sec-WebSocket-Protocol: bearer, TOKEN), and takes it out of what the
// backend will see when it travelled in the URL or in the subprotocol list.
#pragma once

#include "gateway/config.hpp"

#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>
#include <vector>

namespace wsgate::gateway {

struct TakenToken {
  std::string token;
  bool from_protocol = false;  // the 101 must then name "bearer" if the backend names nothing
};

std::optional<TakenToken> take_token(boost::beast::http::request_header<>& req,
                                     const std::vector<config::TokenSource>& sources);

}  // namespace wsgate::gateway
