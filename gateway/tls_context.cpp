#include "gateway/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/bn.h>
#include <openssl/sha.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>

namespace wsgate::gateway {
namespace {

// Mozilla's "intermediate" TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites are
// OpenSSL's defaults, all of which are fine.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_error() {
  const auto e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

void apply_common(SSL_CTX* ctx, int min_version) {
  SSL_CTX_set_min_proto_version(ctx, min_version);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
  // RELEASE_BUFFERS: an idle connection gives its 2 x ~17 KiB record buffers back.
  // PARTIAL_WRITE + MOVING_WRITE_BUFFER: non-blocking writes that resume from another buffer.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // A peer that drops TCP without close_notify is an EOF, not an error (WebSocket has its own close).
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  // One recv() takes every record that has arrived, instead of a header and then a body each.
  SSL_CTX_set_read_ahead(ctx, 1);
}

// h2 when the listener offers it and the client does (browsers list it first), else http/1.1.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  static const unsigned char both[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  const bool http2 = arg != nullptr;
  const unsigned char* ours = http2 ? both : both + 3;
  const unsigned int ours_len = http2 ? sizeof both : sizeof both - 3;
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, ours, ours_len, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  // A client offering neither still gets HTTP/1.1 without ALPN, as NGINX does.
  return SSL_TLSEXT_ERR_NOACK;
}

ServerTlsContext::Certificate describe(X509* cert, const std::string& file) {
  ServerTlsContext::Certificate out;
  out.file = file;
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
    out.subject_cn = cn;
  if (BIGNUM* serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
    if (char* hex = BN_bn2hex(serial)) {
      out.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(serial);
  }
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) out.not_after_unix = timegm(&tm);
  return out;
}

// The host name of the ClientHello's server_name extension (RFC 6066 3), read before OpenSSL parses
// it; "" when there is none or it is not well formed (OpenSSL refuses the latter itself).
std::string client_hello_server_name(SSL* ssl) {
  const unsigned char* p = nullptr;
  std::size_t len = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) != 1 || len < 2) return {};
  const std::size_t list = std::size_t{p[0]} << 8 | p[1];
  if (list + 2 != len) return {};
  for (std::size_t at = 2; at + 3 <= len;) {
    const unsigned type = p[at];
    const std::size_t n = std::size_t{p[at + 1]} << 8 | p[at + 2];
    if (at + 3 + n > len) return {};
    if (type == TLSEXT_NAMETYPE_host_name) {
      std::string name(reinterpret_cast<const char*>(p + at + 3), n);
      if (name.empty() || name.size() > 255 || name.find('\0') != std::string::npos) return {};
      return name;
    }
    at += 3 + n;
  }
  return {};
}

// Asks for client certificates and checks them against the CA, the CRL and the depth.
bool require_client_certificates(SSL_CTX* ctx, const config::ClientAuth& auth, const std::string& where,
                                 std::vector<std::string>& errors) {
  if (SSL_CTX_load_verify_locations(ctx, auth.ca_file.c_str(), nullptr) != 1) {
    errors.push_back(where + ": client_auth ca_file " + auth.ca_file + ": " + openssl_error());
    return false;
  }
  // The CAs the server names in its CertificateRequest, so a client picks a certificate they issued.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(auth.ca_file.c_str());
  if (!names) {
    errors.push_back(where + ": client_auth ca_file " + auth.ca_file + ": no certificate in it");
    return false;
  }
  SSL_CTX_set_client_CA_list(ctx, names);
  if (!auth.crl_file.empty()) {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (!lookup || X509_load_crl_file(lookup, auth.crl_file.c_str(), X509_FILETYPE_PEM) < 1) {
      errors.push_back(where + ": client_auth crl_file " + auth.crl_file + ": " + openssl_error());
      return false;
    }
    // The client's own certificate is checked against the CRL; intermediates need none.
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  SSL_CTX_set_verify(ctx, auth.mode == "required" ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER,
                     nullptr);
  SSL_CTX_set_verify_depth(ctx, static_cast<int>(auth.verify_depth));
  return true;
}

}  // namespace

std::unique_ptr<ServerTlsContext> ServerTlsContext::create(const config::ServerTls& tls, bool http2,
                                                           const std::string& where,
                                                           std::vector<std::string>& errors) {
  std::unique_ptr<ServerTlsContext> out(new ServerTlsContext);
  const int min_version = tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION;
  bool ok = true;
  for (const auto& cert : tls.certificates) {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
      errors.push_back(where + ": " + openssl_error());
      return nullptr;
    }
    apply_common(ctx.get(), min_version);
    // The client's order of the suites decides, as with NGINX's and HAProxy's defaults and
    // Mozilla's intermediate profile: every suite offered is forward-secret AEAD, and a client
    // knows whether it has AES instructions (ChaCha20 when not). Our own order would pick
    // AES128-GCM-SHA256, whose SHA-256 key derivation takes more HMACs per handshake than SHA-384.
    // No server-side session cache (it keeps 1-2 KiB per session for hours, per thread's share):
    // clients resume with stateless tickets, which work on every thread (they share this
    // context). Their keys are this process's: a restart or another instance means a full handshake.
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
    // One TLS 1.3 ticket per handshake, not OpenSSL's two: a client resumes one connection with
    // it and gets a fresh one then, and each ticket costs an encryption and a record to send.
    SSL_CTX_set_num_tickets(ctx.get(), 1);
    // The chain sent is the file's, as NGINX sends it. Without NO_AUTO_CHAIN OpenSSL rebuilds it
    // from the certificate store in every full handshake (an X509_verify_cert each), and could
    // complete it from the client_auth CAs.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_NO_AUTO_CHAIN);
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.cert_file.c_str()) != 1) {
      errors.push_back(where + ": certificate " + cert.cert_file + ": " + openssl_error());
      ok = false;
      continue;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), cert.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx.get()) != 1) {
      errors.push_back(where + ": key " + cert.key_file + ": " + openssl_error());
      ok = false;
      continue;
    }
    // The argument only says whether h2 is on (any non-null pointer).
    SSL_CTX_set_alpn_select_cb(ctx.get(), select_alpn, http2 ? static_cast<void*>(ctx.get()) : nullptr);
    SSL_CTX_set_client_hello_cb(ctx.get(), &ServerTlsContext::on_client_hello, out.get());
    const auto& auth = cert.client_auth ? cert.client_auth : tls.client_auth;
    if (auth && !require_client_certificates(ctx.get(), *auth, where, errors)) {
      ok = false;
      continue;
    }
    // A session resumes only under the context that made it: this certificate with this policy.
    const std::string policy = cert.cert_file + "|" + (auth ? auth->mode + "|" + auth->ca_file + "|" + auth->crl_file +
                                                                   "|" + std::to_string(auth->verify_depth)
                                                             : std::string("none"));
    unsigned char sid[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(policy.data()), policy.size(), sid);
    SSL_CTX_set_session_id_context(ctx.get(), sid, SSL_MAX_SID_CTX_LENGTH);
    out->certificates_.push_back(describe(SSL_CTX_get0_certificate(ctx.get()), cert.cert_file));
    out->contexts_.push_back(std::move(ctx));
  }
  if (!ok || out->contexts_.empty()) return nullptr;
  return out;
}

int ServerTlsContext::on_client_hello(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerTlsContext*>(arg);
  const auto name = client_hello_server_name(ssl);
  if (name.empty()) return SSL_CLIENT_HELLO_SUCCESS;  // no SNI: the default certificate
  for (const auto& ctx : self->contexts_) {
    X509* cert = SSL_CTX_get0_certificate(ctx.get());
    // X509_check_host follows RFC 6125: SAN dNSNames, wildcards in the left-most label.
    if (cert && X509_check_host(cert, name.data(), name.size(), 0, nullptr) == 1) {
      if (ctx.get() != SSL_get_SSL_CTX(ssl)) {
        SSL_set_SSL_CTX(ssl, ctx.get());  // its certificate and session id context
        // ... but not its verification: that the connection took from the first context.
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx.get()), SSL_CTX_get_verify_callback(ctx.get()));
        SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx.get()));
        SSL_set_client_CA_list(ssl, SSL_dup_CA_list(SSL_CTX_get_client_CA_list(ctx.get())));
      }
      return SSL_CLIENT_HELLO_SUCCESS;
    }
  }
  return SSL_CLIENT_HELLO_SUCCESS;  // unknown name: the default certificate, as NGINX and HAProxy do
}

SslCtxPtr make_client_tls_context(const std::string& ca_file, std::string& error) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    error = openssl_error();
    return nullptr;
  }
  apply_common(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  const int loaded = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                                     : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  if (loaded != 1) {
    error = "CA file " + ca_file + ": " + openssl_error();
    return nullptr;
  }
  static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx.get(), http11, sizeof http11);
  return ctx;
}

}  // namespace wsgate::gateway
