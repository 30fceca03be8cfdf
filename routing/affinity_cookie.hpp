// The affinity cookie: names the backend a browser was sent to by an opaque id, signed with a key
// every gateway instance of the configuration shares, so each honours it and none can be forged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate::routing {

// Value: "<backend id, 16 hex>.<expiry, Unix seconds>.<HMAC-SHA256 of route, id and expiry, first
// 16 bytes, 32 hex>". The id is a keyed hash of the backend's URL: it reveals no address, and a
// client cannot make one up for a backend it was never sent to.
class AffinityCookie {
 public:
  // `secret`: at least 32 bytes (checked by the configuration). `route`: the route's name, so a
  // cookie of one route means nothing on another.
  AffinityCookie(std::string secret, std::string route);

  std::uint64_t backend_id(std::string_view url) const;
  std::string encode(std::uint64_t backend_id, std::int64_t expires_unix) const;
  // The backend id of a well-formed value with a valid signature and an expiry after `now_unix`;
  // nothing for anything else (forged, altered, stale, of another route or configuration).
  std::optional<std::uint64_t> decode(std::string_view value, std::int64_t now_unix) const;

 private:
  std::string mac_hex(std::string_view message, std::size_t bytes) const;

  std::string secret_;
  std::string route_;
};

}  // namespace wsgate::routing
