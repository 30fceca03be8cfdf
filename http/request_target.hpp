// The request-target as routing and the backend see it: one spelling per path (RFC 3986 6.2.2),
// so that no path can match one route at the gateway and mean another at the backend.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wsgate::http {

struct RequestTarget {
  // Origin-form, with percent-encoded unreserved characters decoded and dot segments removed
  // (the query as it came): what routes match and what the backend receives.
  std::string target;
  // The authority of an absolute-form target (RFC 9112 3.2.2: it replaces Host), else empty.
  std::string host;
  // The path as the loosest backend would read it: %2F and %5C decoded, '\' taken as '/', dot
  // segments removed again. A route must match it as it matches `target`.
  std::string loose_path;
};

// nullopt with `problem` set when the target is not one a client may send: not origin- or
// absolute-form, a '#' fragment, a malformed %-escape, or an encoded NUL.
std::optional<RequestTarget> normalize_target(std::string_view target, std::string& problem);

// RFC 3986 5.2.4, on a path that starts with '/'; a ".." above the root stays at the root.
std::string remove_dot_segments(std::string_view path);

}  // namespace wsgate::http
