#include "http/handshake_check.hpp"

#include "http/field_rules.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <algorithm>
#include <cstring>
#include <memory>

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace wsgate::http {
namespace bh = boost::beast::http;

namespace {

bool has_token(std::string_view list, std::string_view token) {
  return bh::token_list(list).exists(token);
}

bool is_base64_of_16_bytes(std::string_view key) {
  // 16 bytes encode to 22 characters and "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  return std::all_of(key.begin(), key.begin() + 22, [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '+' || c == '/';
  });
}

}  // namespace

RequestProblem check_request(const RequestHeader& req) {
  if (req.version() >= 11 && req.count(bh::field::host) != 1) return RequestProblem::host_count;
  if (!is_host(req[bh::field::host])) return RequestProblem::bad_host;
  // The parser has refused Transfer-Encoding with Content-Length; what is left must be exactly
  // "chunked", since that is the only coding the gateway takes off and puts back.
  const auto codings = req.count(bh::field::transfer_encoding);
  if (codings > 1 ||
      (codings == 1 && !boost::beast::iequals(req[bh::field::transfer_encoding], "chunked")))
    return RequestProblem::transfer_coding;
  if (req.count(bh::field::expect) > 1 ||
      (req.count(bh::field::expect) == 1 && !boost::beast::iequals(req[bh::field::expect], "100-continue")))
    return RequestProblem::expectation;
  if (req.method() == bh::verb::trace &&
      (codings > 0 || (req.count(bh::field::content_length) > 0 && req[bh::field::content_length] != "0")))
    return RequestProblem::trace_content;
  return RequestProblem::none;
}

std::string_view to_string(RequestProblem p) {
  switch (p) {
    case RequestProblem::none: return "ok";
    case RequestProblem::host_count: return "exactly one Host header is required";
    case RequestProblem::bad_host: return "Host is not uri-host[:port]";
    case RequestProblem::transfer_coding: return "transfer coding other than chunked";
    case RequestProblem::expectation: return "expectation other than 100-continue";
    case RequestProblem::trace_content: return "a TRACE request carries no content";
  }
  return "unknown";
}

bool wants_websocket(const RequestHeader& req) {
  return boost::beast::iequals(req[bh::field::upgrade], "websocket") &&
         has_token(req[bh::field::connection], "upgrade");
}

HandshakeProblem check_websocket_handshake(const RequestHeader& req) {
  if (req.method() != bh::verb::get) return HandshakeProblem::not_get;
  if (req.version() < 11) return HandshakeProblem::not_http11;
  if (req.count(bh::field::sec_websocket_version) != 1 ||
      req[bh::field::sec_websocket_version] != "13")
    return HandshakeProblem::bad_version;
  if (req.count(bh::field::sec_websocket_key) != 1 ||
      !is_base64_of_16_bytes(req[bh::field::sec_websocket_key]))
    return HandshakeProblem::bad_key;
  if (req.count(bh::field::transfer_encoding) > 0 ||
      (req.count(bh::field::content_length) > 0 && req[bh::field::content_length] != "0"))
    return HandshakeProblem::has_body;
  return HandshakeProblem::none;
}

std::string_view to_string(HandshakeProblem p) {
  switch (p) {
    case HandshakeProblem::none: return "ok";
    case HandshakeProblem::not_get: return "websocket handshake must be GET";
    case HandshakeProblem::not_http11: return "websocket handshake needs HTTP/1.1";
    case HandshakeProblem::bad_version: return "Sec-WebSocket-Version must be 13";
    case HandshakeProblem::bad_key: return "Sec-WebSocket-Key must be 16 bytes in base64";
    case HandshakeProblem::has_body: return "websocket handshake with a body";
  }
  return "unknown";
}

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin) {
  // No Origin: not a browser (browsers send one with every WebSocket handshake and every
  // cross-origin request), so no visitor's cookie is being borrowed by another site's page.
  if (allowed.empty() || origin.empty()) return true;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return boost::beast::iequals(a, origin); });
}

std::string_view websocket_accept(std::string_view key, AcceptText& text) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  // Fetched once, with one context per thread used again: SHA1() looks the algorithm up and
  // makes a context on every call, which every upgrade paid. A failure answers "" (no key's).
  static EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!sha1 || !ctx || EVP_DigestInit_ex2(ctx.get(), sha1, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), key.data(), key.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), kGuid.data(), kGuid.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &size) != 1 || size != SHA_DIGEST_LENGTH)
    return {};
  unsigned char out[29];  // EVP_EncodeBlock ends it with a NUL
  EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  std::memcpy(text.data(), out, text.size());
  return {text.data(), text.size()};
}

}  // namespace wsgate::http
