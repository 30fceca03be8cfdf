// One HTTPS GET from the control thread (the JWKS fetch): resolve, connect, TLS with the server's
// certificate and name checked, a bounded response read under one deadline. Not on the data path.
#pragma once

#include <boost/asio/io_context.hpp>

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace wsgate::gateway {

struct HttpsRequest {
  std::string host;  // also the SNI name and the name the certificate must carry
  std::uint16_t port = 443;
  std::string target = "/";
  std::chrono::milliseconds timeout{10'000};  // for all of it, from resolve to the last body byte
  std::size_t max_body = 1 << 20;
};

struct HttpsResponse {
  std::string error;  // empty on success (a response was read, whatever its status)
  unsigned status = 0;
  std::string body;
};

// `ctx` must outlive the request; `done` runs once, on `io`.
void https_get(boost::asio::io_context& io, SSL_CTX* ctx, HttpsRequest request,
               std::function<void(HttpsResponse)> done);

}  // namespace wsgate::gateway
