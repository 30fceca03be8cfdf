// Where a route's provider looks for a client's token (configuration: auth.providers[].token_from).
// Kept apart from the code that reads it so that configuration needs no HTTP headers.
#pragma once

#include <string>

namespace wsgate::http {

struct TokenSource {
  enum class Kind { header, query, cookie, protocol };
  Kind kind = Kind::header;
  std::string name;  // header, query parameter or cookie name; unused for protocol
};

}  // namespace wsgate::http
