// OpenSSL contexts: the server side of a TLS listener (certificates chosen by SNI, TLS 1.2+, ALPN
// h2 and http/1.1) and the client side towards wss:// backends (peer and host name verified).
#pragma once

#include "config/config.hpp"

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wsgate::gateway {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

class ServerTlsContext {
 public:
  // Loads every certificate; problems are appended to `errors` and nullptr returned. `http2`:
  // ALPN may choose h2.
  static std::unique_ptr<ServerTlsContext> create(const config::ServerTls& tls, bool http2,
                                                  const std::string& where,
                                                  std::vector<std::string>& errors);

  // The context new connections start with; SNI may switch them to another certificate's.
  SSL_CTX* default_context() const { return contexts_.front().get(); }

  // What an operator watches for expiry: each certificate (the leaf of its chain file).
  struct Certificate {
    std::string file;
    std::string subject_cn;  // "" when the subject has no CN
    std::string serial;      // hex
    std::int64_t not_after_unix = 0;
  };
  const std::vector<Certificate>& certificates() const { return certificates_; }

 private:
  // SNI, early: the certificate's context (and with it its client-certificate policy and session
  // id context) is chosen before OpenSSL looks at a session to resume, so that a session made
  // under one SNI or policy is never resumed under another (nginx CVE-2025-23419).
  static int on_client_hello(SSL* ssl, int* alert, void* arg);
  std::vector<SslCtxPtr> contexts_;  // one per certificate, in configuration order
  std::vector<Certificate> certificates_;  // the same order
};

// ca_file empty: the system's default trust store.
SslCtxPtr make_client_tls_context(const std::string& ca_file, std::string& error);

}  // namespace wsgate::gateway
