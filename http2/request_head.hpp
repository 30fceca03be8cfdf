// A request as one HTTP/2 stream carries it (pseudo-header fields and regular fields), and what
// the gateway refuses in one. Socket-free; http1_request.hpp turns a checked one into HTTP/1.1.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::http2 {

struct RequestHead {
  std::string method;     // :method
  std::string scheme;     // :scheme
  std::string authority;  // :authority
  std::string path;       // :path
  std::string protocol;   // :protocol, on an extended CONNECT only (RFC 8441 4)
  // Regular fields in arrival order, names as received (HTTP/2 requires them lower case).
  std::vector<std::pair<std::string, std::string>> fields;
  // RFC 9113 6.5.2's measure of the decoded list: each field's name and value plus 32.
  std::size_t list_size = 0;
  bool ends_stream = false;  // END_STREAM came with the head: no body

  // RFC 8441's WebSocket opening: CONNECT with :protocol websocket.
  bool websocket() const { return method == "CONNECT" && protocol == "websocket"; }
};

// What the gateway refuses in a head that nghttp2's own checks let through (it already refuses
// upper-case or connection-specific names, a missing or repeated pseudo-field, and :protocol
// unless the gateway sent SETTINGS_ENABLE_CONNECT_PROTOCOL).
enum class HeadProblem {
  none,
  bad_field,         // a method or name that is no token, or a value with CR, LF, NUL or edge spaces (400)
  bad_path,          // :path is not origin-form ("/..."): no "*", no absolute form (400)
  bad_authority,     // :authority missing or not uri-host [":" port] (400)
  host_mismatch,     // RFC 9113 8.3.1: a Host field that differs from :authority (400)
  plain_connect,     // CONNECT without :protocol: the gateway is no forward proxy (405)
  unknown_protocol,  // an extended CONNECT for a protocol other than websocket (501)
  websocket_body,    // the extended CONNECT ended its stream: there is no session to relay (400)
  bad_version,       // RFC 8441 5: sec-websocket-version must be 13 (400)
  has_key,           // sec-websocket-key or -accept belongs to HTTP/1.1's handshake (400)
};
HeadProblem check_head(const RequestHead& head);
// The authority a head names: :authority, or a lone Host field where a client left :authority out
// (RFC 9113 8.3.1 allows that outside CONNECT).
std::string_view authority_of(const RequestHead& head);
std::string_view to_string(HeadProblem p);
int status_for(HeadProblem p);

}  // namespace wsgate::http2
