// The HTTP/1.1 request an HTTP/2 stream's checked head stands for: what the gateway's request
// rules (routing, tokens, limits) work on and what ForwardedRequest builds a backend's request from.
#pragma once

#include "http2/request_head.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>

namespace wsgate::http2 {

// The HTTP/1.1 request a checked head stands for: the method and target from :method and :path
// (an extended CONNECT becomes a GET upgrade carrying `websocket_key`, which the gateway made and
// will check the backend's 101 against), Host from :authority, the Cookie fields joined into one
// (RFC 9113 8.2.3), the Content-Length the body's own, and every other field as it came. `body`
// is the stream's DATA, for a request that has one.
boost::beast::http::request<boost::beast::http::string_body> to_http1(const RequestHead& head,
                                                                     std::string_view websocket_key,
                                                                     std::string body = {});

}  // namespace wsgate::http2
