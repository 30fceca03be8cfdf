// A verified client certificate as the gateway passes it on: the identity Envoy's
// X-Forwarded-Client-Cert carries (Hash, Subject, URI, DNS), read from the certificate, and that
// header's value made of it. The gateway writes the header alone: a client's copies never pass.
#pragma once

#include <openssl/types.h>

#include <string>
#include <vector>

namespace wsgate::http {

struct ClientIdentity {
  std::string hash;     // SHA-256 of the certificate's DER, lower-case hex
  std::string subject;  // RFC 2253, non-printable and non-ASCII bytes escaped by OpenSSL
  std::string uri;      // the first URI subjectAltName (SPIFFE ID), "" when none
  std::vector<std::string> dns;  // DNS subjectAltNames, at most 16
  bool empty() const { return hash.empty(); }
};

// Names that are not printable ASCII, or longer than 255 bytes, are left out: a header never
// carries them.
ClientIdentity identity_of(X509* cert);

// Hash=...;Subject="...";URI=...;DNS=...;DNS=... (Envoy's format); a value holding , ; = " or a
// space is quoted, with " and \ escaped inside.
std::string xfcc_value(const ClientIdentity& id);

}  // namespace wsgate::http
