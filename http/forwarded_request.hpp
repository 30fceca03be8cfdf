// The one builder of what a backend receives: a new request made from the client's parsed and
// validated one, never the client's patched in place. Socket-free; unit-tested and fuzzed.
#pragma once

#include "http/header_rules.hpp"
#include "http/message_memory.hpp"
#include "http/token_source.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wsgate::http {

// A client's request as the gateway parsed it. Beast's parser appends a chunked body's trailer
// fields to the header's; only the first `head_fields` were in the head (RFC 9110 6.5.1: trailers
// are never merged into it, so the rest are dropped).
struct ClientRequest {
  const boost::beast::http::request<boost::beast::http::string_body, Fields>& message;
  std::size_t head_fields;
};

// The route's path rewrite: the matched `prefix` of the path becomes `replacement` (strip_prefix:
// "/"); an empty replacement leaves the target alone.
struct PathRewrite {
  std::string_view prefix;
  std::string_view replacement;
};

// `target` (origin-form, query kept) with the rewrite applied: one '/' where the two parts meet,
// "/" at least. E.g. /app1 -> /: /app1/socket.io/?EIO=4 -> /socket.io/?EIO=4, /app1 -> /.
std::string rewrite_target(std::string_view target, const PathRewrite& rewrite);

struct ForwardContext {
  std::string_view peer_address;    // who connected to the gateway
  std::string_view client_address;  // who the client is (peer, or through trusted proxies' XFF)
  bool peer_is_trusted_proxy = false;  // then its X-Forwarded-For and Forwarded are kept, appended to
  bool tls = false;                 // X-Forwarded-Proto
  bool upgrade = false;             // a WebSocket upgrade: Connection/Upgrade put back, no body
  std::span<const TokenSource> token_sources;  // every one is stripped of its token
  // Headers the gateway writes from verified claims, with their values; a client's own copies,
  // under any spelling a backend folds together, never pass.
  std::vector<std::pair<std::string, std::string>> claim_fields;
  PathRewrite rewrite;                      // the route's, applied after the tokens are cut
  const HeaderRules* request_headers = nullptr;  // the route's; never touches a gateway-owned field
  // X-Forwarded-Client-Cert's value (xfcc_value) when the client's certificate was verified; a
  // client's own copies go whether or not there is one.
  std::string_view client_certificate;
};

enum class BuildProblem {
  none,
  claim_not_a_field_value,  // a claim to forward holds CR, LF, NUL, another control, or edge spaces
};
std::string_view to_string(BuildProblem p);

struct ForwardedRequest {
  BuildProblem problem = BuildProblem::none;
  std::string bytes;             // the serialized request, head and body
  bool offered_bearer = false;   // Sec-WebSocket-Protocol carried "bearer, TOKEN" (now removed)
};

// The fields the gateway owns and writes itself (besides the claim fields); a client's copies
// are removed under every spelling (case, '_' for '-').
inline constexpr std::string_view owned_fields[] = {"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
                                                     "X-Real-IP", "Forwarded", "X-Forwarded-Client-Cert"};

ForwardedRequest build_forwarded_request(const ClientRequest& client, const ForwardContext& context);

// Fields an operator's request rule may not set or remove: the gateway writes them (forwarding
// fields, the handshake's, the framing) or they belong to one connection.
bool is_gateway_owned_request_field(std::string_view name);
// The same for a response rule: framing, hop-by-hop, the handshake's answer and Set-Cookie (the
// affinity cookie's).
bool is_gateway_owned_response_field(std::string_view name);

// A backend's response on its way to the client: fields Connection names and the hop-by-hop set
// removed, the upgrade fields put back on a 101.
void rewrite_response(ResponseHeader& res, bool upgrade);

// The response head as the client receives it (status line, fields, blank line), appended to
// `out`: what Beast's serializer writes, without a stream or an allocation of its own.
void append_response_head(const ResponseHeader& res, std::string& out);

// The gateway's own cookie (`set_cookie`: a whole Set-Cookie value) on a response to the client;
// a backend's Set-Cookie of the same `name` is removed first, so the client keeps only the gateway's.
void set_gateway_cookie(ResponseHeader& res, std::string_view name,
                        const std::string& set_cookie);

}  // namespace wsgate::http
