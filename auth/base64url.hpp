// Base64url without padding (RFC 7515 2, RFC 4648 5), strict: the alphabet only, no padding, no
// whitespace, and no stray bits in the last character, so one token has exactly one spelling.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsgate::auth {

std::optional<std::string> base64url_decode(std::string_view text);
std::string base64url_encode(std::string_view bytes);

}  // namespace wsgate::auth
