// The HTTP/1.1 request an HTTP/2 stream's checked head stands for: what the gateway's request
// rules (routing, tokens, limits) work on and what ForwardedRequest builds a backend's request from.
#pragma once

#include "http2/request_head.hpp"

#include "http/message_memory.hpp"

#include <string>
#include <string_view>

namespace wsgate::http2 {

// The HTTP/1.1 request head a checked head stands for: the method and target from :method and
// :path (an extended CONNECT becomes a GET upgrade carrying `websocket_key`, which the gateway made
// and checks the backend's 101 against), Host from :authority, the Cookie fields joined into one
// (RFC 9113 8.2.3), and every other field as it came but the length. A stream that goes on after
// its head sends its body chunked (Transfer-Encoding: chunked: the DATA frames are the chunks, see
// chunk()); one that ended with it has none.
http::RequestHeader to_http1(const RequestHead& head, std::string_view websocket_key);

// One chunk of a chunked body in HTTP/1.1's encoding; an empty `data` is the last chunk.
std::string chunk(std::string_view data);

}  // namespace wsgate::http2
