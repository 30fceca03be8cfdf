#include "http/field_rules.hpp"

namespace wsgate::http {

namespace {

bool is_unreserved_or_sub_delim(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                         // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+':
    case ',': case ';': case '=':                                                   // sub-delims
      return true;
    default: return false;
  }
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_reg_name(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
      i += 2;
    } else if (!is_unreserved_or_sub_delim(s[i])) {
      return false;
    }
  }
  return true;
}

// Inside the brackets of an IP-literal: an IPv6 address (hex, ':' and a dotted IPv4 tail) or
// IPvFuture ("v" HEXDIG "." ...); checked by alphabet, as the route table compares it literally.
bool is_ip_literal_body(std::string_view s) {
  if (s.empty()) return false;
  if (s[0] == 'v' || s[0] == 'V') {
    for (char c : s.substr(1))
      if (!is_unreserved_or_sub_delim(c) && c != ':') return false;
    return true;
  }
  for (char c : s)
    if (!is_hex(c) && c != ':' && c != '.') return false;
  return true;
}

}  // namespace

bool is_field_value(std::string_view value) {
  if (value.empty()) return true;
  if (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' || value.back() == '\t')
    return false;
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

bool is_host(std::string_view host) {
  std::string_view name = host;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos || !is_ip_literal_body(host.substr(1, close - 1))) return false;
    const std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? rest : rest.substr(1);
    name = {};
  } else if (const auto colon = host.find(':'); colon != std::string_view::npos) {
    name = host.substr(0, colon);
    port = host.substr(colon + 1);  // RFC 3986 3.2.3: port = *DIGIT, so "x:" is valid
  }
  for (char c : port)
    if (c < '0' || c > '9') return false;
  if (port.size() > 5) return false;
  return is_reg_name(name);
}

namespace {
char fold(char c) {
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  return c == '_' ? '-' : c;
}
}  // namespace

std::string folded_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = fold(c);
  return out;
}

bool same_folded_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(a[i]) != fold(b[i])) return false;
  return true;
}

bool folded_starts_with(std::string_view name, std::string_view folded_prefix) {
  return name.size() >= folded_prefix.size() && same_folded_name(name.substr(0, folded_prefix.size()), folded_prefix);
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) continue;
    switch (c) {
      case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
      case '.': case '^': case '_': case '`': case '|': case '~':
        continue;
      default:
        return false;
    }
  }
  return true;
}

}  // namespace wsgate::http
