#include "http/request_target.hpp"

#include <cctype>

namespace wsgate::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
         c == '~';
}

// Decodes the escapes of unreserved characters, and with `loose` of '/' and '\' too; other escapes
// stay as they came. False on a malformed escape or %00.
bool decode_path(std::string_view path, bool loose, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size()) return false;
      const int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
      if (hi < 0 || lo < 0) return false;
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0') return false;
      if (unreserved(decoded) || (loose && (decoded == '/' || decoded == '\\'))) {
        c = decoded;
      } else {
        out.append(path.substr(i, 3));
        i += 2;
        continue;
      }
      i += 2;
    }
    if (loose && c == '\\') c = '/';
    out += c;
  }
  return true;
}

}  // namespace

std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in.size() == 3 ? std::string_view("/") : in.substr(3);
      const auto last = out.rfind('/');
      out.erase(last == std::string::npos ? 0 : last);
    } else {
      // Move the first segment, with its leading '/', to the output.
      const auto end = in.find('/', 1);
      const auto n = end == std::string_view::npos ? in.size() : end;
      out.append(in.substr(0, n));
      in.remove_prefix(n);
    }
  }
  return out.empty() ? "/" : out;
}

std::optional<RequestTarget> normalize_target(std::string_view target, std::string& problem) {
  RequestTarget result;
  if (!target.starts_with('/')) {
    // Absolute-form: scheme "://" authority path-abempty [ "?" query ].
    const auto scheme_end = target.find("://");
    const auto scheme = target.substr(0, scheme_end);
    bool http = scheme.size() == 4 || scheme.size() == 5;
    for (std::size_t i = 0; http && i < scheme.size(); ++i)
      http = std::tolower(static_cast<unsigned char>(scheme[i])) == "https"[i];
    if (scheme_end == std::string_view::npos || !http) {
      problem = "request-target is neither origin-form nor absolute-form";
      return std::nullopt;
    }
    target.remove_prefix(scheme_end + 3);
    const auto path_start = target.find_first_of("/?");
    result.host = std::string(target.substr(0, path_start));
    if (result.host.empty() || result.host.find('@') != std::string::npos) {
      problem = "absolute-form target without a plain authority";
      return std::nullopt;
    }
    target = path_start == std::string_view::npos ? std::string_view("/") : target.substr(path_start);
  }
  if (target.find('#') != std::string_view::npos) {
    problem = "fragment in request-target";
    return std::nullopt;
  }
  const auto query_start = target.find('?');
  const auto path = target.substr(0, query_start);
  const auto query = query_start == std::string_view::npos ? std::string_view() : target.substr(query_start);
  std::string decoded;
  if (!decode_path(path.empty() ? std::string_view("/") : path, false, decoded)) {
    problem = "malformed percent-encoding in path";
    return std::nullopt;
  }
  result.target = remove_dot_segments(decoded);
  result.target.append(query);
  decode_path(path.empty() ? std::string_view("/") : path, true, decoded);
  result.loose_path = remove_dot_segments(decoded);
  return result;
}

}  // namespace wsgate::http
