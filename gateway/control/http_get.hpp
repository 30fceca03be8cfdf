// One GET from the control thread (JWKS fetches, health checks): resolve, connect, TLS when asked
// (the server's certificate and name checked), a bounded response read under one deadline.
#pragma once

#include <boost/asio/io_context.hpp>

#include <openssl/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace wsgate::gateway {

struct HttpRequest {
  SSL_CTX* tls = nullptr;  // nullptr: plain HTTP; else must outlive the request
  std::string host;        // also the SNI name and the name the certificate must carry
  std::string address;     // set: connect here (an IP literal), not to what `host` resolves to
  std::uint16_t port = 443;
  std::string target = "/";
  std::string headers = "Connection: close\r\n";  // after Host and User-Agent, each ending in CRLF
  std::chrono::milliseconds timeout{10'000};  // for all of it, from resolve to the last body byte
  std::size_t max_body = 1 << 20;
};

struct HttpResponse {
  std::string error;  // empty on success (a response head was read, whatever its status)
  unsigned status = 0;
  std::string body;
};

// `done` runs once, on `io`. A 1xx answer (a WebSocket 101) ends the read at its head.
void http_get(boost::asio::io_context& io, HttpRequest request, std::function<void(HttpResponse)> done);

}  // namespace wsgate::gateway
