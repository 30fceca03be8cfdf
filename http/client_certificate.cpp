#include "http/client_certificate.hpp"

#include <openssl/bio.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <string_view>

namespace wsgate::http {

namespace {

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxDns = 16;

bool printable(std::string_view s) {
  return !s.empty() && s.size() <= kMaxName &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string text_of(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(ASN1_STRING_length(s)));
}

void append_value(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out += ';';
  out.append(key).append("=");
  if (value.find_first_of(",;=\" \\") == std::string_view::npos) {
    out.append(value);
    return;
  }
  out += '"';
  for (const char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

ClientIdentity identity_of(X509* cert) {
  ClientIdentity id;
  if (!cert) return id;
  unsigned char* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) return id;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<std::size_t>(len), digest);
  OPENSSL_free(der);
  char hex[3];
  for (unsigned char b : digest) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    id.hash += hex;
  }
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    // RFC 2253 escapes control characters and bytes over 0x7f as \XX: the text is printable ASCII.
    if (X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(bio, &data);
      std::string subject(data, static_cast<std::size_t>(std::max(n, 0L)));
      if (subject.size() <= 1024 && std::all_of(subject.begin(), subject.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
        id.subject = std::move(subject);
    }
    BIO_free(bio);
  }
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == GEN_URI && id.uri.empty()) {
      auto uri = text_of(name->d.uniformResourceIdentifier);
      if (printable(uri)) id.uri = std::move(uri);
    } else if (name->type == GEN_DNS && id.dns.size() < kMaxDns) {
      auto dns = text_of(name->d.dNSName);
      if (printable(dns)) id.dns.push_back(std::move(dns));
    }
  }
  if (names) GENERAL_NAMES_free(names);
  return id;
}

std::string xfcc_value(const ClientIdentity& id) {
  std::string out;
  if (id.empty()) return out;
  append_value(out, "Hash", id.hash);
  if (!id.subject.empty()) append_value(out, "Subject", id.subject);
  if (!id.uri.empty()) append_value(out, "URI", id.uri);
  for (const auto& d : id.dns) append_value(out, "DNS", d);
  return out;
}

}  // namespace wsgate::http
