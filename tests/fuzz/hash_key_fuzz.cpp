// libFuzzer: what a client is pinned and rate-limited by: X-Forwarded-For behind trusted proxies,
// cookies, query parameters, headers and verified claims of any JSON type.
#include "gateway/proxy/hash_key.hpp"
#include "config/ip_network.hpp"

#include <boost/json/parse.hpp>

#include <string_view>

namespace bh = boost::beast::http;
using namespace wsgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<config::IpNetwork> trusted{*config::IpNetwork::parse("127.0.0.0/8"),
                                                       *config::IpNetwork::parse("fd00::/8")};
  static const std::vector<config::HashKeySource> sources{
      {config::HashKeySource::Kind::claim, "sub"},   {config::HashKeySource::Kind::claim, "tenant"},
      {config::HashKeySource::Kind::header, "X-User"}, {config::HashKeySource::Kind::cookie, "sid"},
      {config::HashKeySource::Kind::query, "room"},  {config::HashKeySource::Kind::ip, ""}};
  // Fields separated by NUL: peer, X-Forwarded-For, Cookie, target, X-User, claims JSON.
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string_view field[6];
  for (auto& f : field) {
    const auto end = input.find('\0');
    f = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
  }
  wsgate::http::RequestHeader req;
  try {
    req.target(field[3]);
    req.set("X-Forwarded-For", field[1]);
    req.set(bh::field::cookie, field[2]);
    if (!field[4].empty()) req.set("X-User", field[4]);
  } catch (const std::exception&) {
    return 0;  // Beast refuses a value no parser would have produced (CR, LF)
  }
  boost::system::error_code ec;
  const auto claims = boost::json::parse(field[5], ec);
  const auto address = gateway::client_address(field[0], req, trusted);
  gateway::hash_key_of(req, sources, !ec && claims.is_object() ? &claims.as_object() : nullptr, address);
  return 0;
}
