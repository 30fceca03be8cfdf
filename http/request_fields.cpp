#include "http/request_fields.hpp"

#include <boost/url/parse.hpp>

namespace wsgate::http {
namespace bh = boost::beast::http;

std::optional<std::string> find_cookie(const RequestHeader& req, std::string_view name) {
  // Every Cookie field, wherever it stands among the others.
  auto [first, last] = req.equal_range(bh::field::cookie);
  for (auto it = first; it != last; ++it) {
    std::string_view cookies = it->value();
    while (!cookies.empty()) {
      const auto semi = cookies.find(';');
      std::string_view pair = cookies.substr(0, semi);
      while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
      const auto eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
      if (semi == std::string_view::npos) break;
      cookies.remove_prefix(semi + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> find_query_param(std::string_view target, std::string_view name) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  for (auto param : parsed->params())
    if (param.key == name) return std::string(param.value);
  return std::nullopt;
}

}  // namespace wsgate::http
