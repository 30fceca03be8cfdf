// Values a request carries in places other than a whole header: a cookie among the Cookie fields,
// a query parameter in the target. Shared by token extraction and the hash key.
#pragma once

#include "http/message_memory.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace wsgate::http {

// The value of cookie `name` in any of the request's Cookie fields.
std::optional<std::string> find_cookie(const RequestHeader& req,
                                       std::string_view name);
// The decoded value of query parameter `name` in an origin-form target.
std::optional<std::string> find_query_param(std::string_view target, std::string_view name);

}  // namespace wsgate::http
