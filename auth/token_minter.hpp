// Mints HS256 tokens for development and tests (`wsgate token`): the counterpart of JwtVerifier
// for the one algorithm a shared secret file makes convenient.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace wsgate::auth {

std::string mint_hs256(const boost::json::object& claims, std::string_view secret,
                       std::string_view kid = {});

}  // namespace wsgate::auth
