// Finds a client's token where the provider says to look (Authorization: Bearer, a query
// parameter, a cookie, or Sec-WebSocket-Protocol: bearer, TOKEN), and takes every configured
// source's token out of the parts of a request that carry it, whichever source was used.
#pragma once

#include "http/token_source.hpp"

#include "http/message_memory.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <span>
#include <vector>

namespace wsgate::http {

struct FoundToken {
  std::string token;
  bool from_protocol = false;
};

// The first configured source that carries a non-empty token; the request is not changed.
std::optional<FoundToken> find_token(const RequestHeader& req,
                                     std::span<const TokenSource> sources);

// The origin-form target without any query parameter a query source names (its query as it came
// otherwise); a target that is not origin-form comes back unchanged.
std::string target_without_tokens(std::string_view target, std::span<const TokenSource> sources);

// One Cookie field value without the cookies a cookie source names ("" when none is left).
std::string cookies_without_tokens(std::string_view cookies, std::span<const TokenSource> sources);

// A Sec-WebSocket-Protocol offer (all its field lines joined by ", ") without any "bearer" and the
// token after it. `had_bearer`: the client offered one, so a 101 naming no subprotocol must name it.
struct ProtocolOffer {
  std::string offer;
  bool had_bearer = false;
};
ProtocolOffer protocols_without_bearer(std::string_view offer);

}  // namespace wsgate::http
