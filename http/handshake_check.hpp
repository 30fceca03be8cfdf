// Is this HTTP request a well-formed WebSocket opening handshake (RFC 6455 4.2.1), and is its
// Origin allowed on the route? Pure checks on a parsed request; the session maps them to statuses.
#pragma once

#include "http/message_memory.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::http {

// Framing rules every request meets before it is routed, upgrade or not.
enum class RequestProblem {
  none,
  host_count,        // RFC 9112 3.2: an HTTP/1.1 request carries exactly one Host (400)
  bad_host,          // ... and it is uri-host [":" port]: no '/', '@', spaces (400)
  transfer_coding,   // a transfer coding other than chunked (501, as NGINX answers)
  expectation,       // RFC 9110 10.1.1: an Expect other than 100-continue (417)
  trace_content,     // RFC 9110 9.3.8: a TRACE carries no content (400)
};
RequestProblem check_request(const RequestHeader& req);
std::string_view to_string(RequestProblem p);

// The request asks for a protocol switch to WebSocket (Upgrade: websocket, Connection: upgrade).
bool wants_websocket(const RequestHeader& req);

enum class HandshakeProblem {
  none,
  not_get,          // RFC 6455 4.1: the method must be GET
  not_http11,       // ... and the version at least HTTP/1.1
  bad_version,      // Sec-WebSocket-Version must be 13
  bad_key,          // Sec-WebSocket-Key must be base64 of 16 bytes
  has_body,         // a Transfer-Encoding or a non-zero Content-Length: the bytes after the head
                    // would be taken as frames, and chunked trailers could carry fields
};

HandshakeProblem check_websocket_handshake(const RequestHeader& req);
std::string_view to_string(HandshakeProblem p);

// RFC 6455 4.2.2: the Sec-WebSocket-Accept a server must answer `key` with, written into `out`;
// empty when no digest could be made.
using AcceptText = std::array<char, 28>;
std::string_view websocket_accept(std::string_view key, AcceptText& out);

// An empty allowlist allows every Origin; a request without one (a client that is no browser) is
// allowed either way.
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin);

}  // namespace wsgate::http
