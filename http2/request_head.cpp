#include "http2/request_head.hpp"

#include "http/field_rules.hpp"

namespace wsgate::http2 {

namespace {

const std::string* find_field(const RequestHead& head, std::string_view name) {
  for (const auto& [n, v] : head.fields)
    if (n == name) return &v;
  return nullptr;
}

std::size_t count_field(const RequestHead& head, std::string_view name) {
  std::size_t n = 0;
  for (const auto& field : head.fields) n += field.first == name;
  return n;
}

}  // namespace

std::string_view authority_of(const RequestHead& head) {
  if (!head.authority.empty()) return head.authority;
  const std::string* host = find_field(head, "host");
  return host ? std::string_view(*host) : std::string_view();
}

HeadProblem check_head(const RequestHead& head) {
  for (const auto& [name, value] : head.fields)
    if (!http::is_token(name) || (!value.empty() && !http::is_field_value(value))) return HeadProblem::bad_field;
  if (!http::is_token(head.method)) return HeadProblem::bad_field;
  if (head.method == "CONNECT" && head.protocol.empty()) return HeadProblem::plain_connect;
  if (!head.protocol.empty() && !head.websocket()) return HeadProblem::unknown_protocol;
  if (head.path.empty() || head.path.front() != '/') return HeadProblem::bad_path;
  for (char c : head.path)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return HeadProblem::bad_path;
  if (count_field(head, "host") > 1) return HeadProblem::host_mismatch;
  const std::string* host = find_field(head, "host");
  if (host && !head.authority.empty() && *host != head.authority) return HeadProblem::host_mismatch;
  const std::string_view authority = authority_of(head);
  if (authority.empty() || !http::is_host(authority)) return HeadProblem::bad_authority;
  if (head.websocket()) {
    if (head.ends_stream) return HeadProblem::websocket_body;
    const std::string* version = find_field(head, "sec-websocket-version");
    if (count_field(head, "sec-websocket-version") != 1 || *version != "13") return HeadProblem::bad_version;
    if (find_field(head, "sec-websocket-key") || find_field(head, "sec-websocket-accept"))
      return HeadProblem::has_key;
  }
  return HeadProblem::none;
}

std::string_view to_string(HeadProblem p) {
  switch (p) {
    case HeadProblem::none: return "ok";
    case HeadProblem::bad_field: return "malformed header field";
    case HeadProblem::bad_path: return ":path must be origin-form";
    case HeadProblem::bad_authority: return "missing or malformed :authority";
    case HeadProblem::host_mismatch: return "host differs from :authority";
    case HeadProblem::plain_connect: return "CONNECT without :protocol is not supported";
    case HeadProblem::unknown_protocol: return "only the websocket protocol is supported";
    case HeadProblem::websocket_body: return "an extended CONNECT must leave its stream open";
    case HeadProblem::bad_version: return "sec-websocket-version must be 13";
    case HeadProblem::has_key: return "sec-websocket-key has no place in HTTP/2";
  }
  return "?";
}

int status_for(HeadProblem p) {
  switch (p) {
    case HeadProblem::none: return 200;
    case HeadProblem::plain_connect: return 405;
    case HeadProblem::unknown_protocol: return 501;
    default: return 400;
  }
}

}  // namespace wsgate::http2
