#include "auth/signature.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <memory>

namespace wsgate::auth {
namespace {

const char* digest_name(Algorithm alg) {
  switch (alg) {
    case Algorithm::HS256: case Algorithm::RS256: case Algorithm::PS256: case Algorithm::ES256: return "SHA256";
    case Algorithm::HS384: case Algorithm::RS384: case Algorithm::PS384: case Algorithm::ES384: return "SHA384";
    case Algorithm::HS512: case Algorithm::RS512: case Algorithm::PS512: return "SHA512";
    case Algorithm::EdDSA: return nullptr;  // Ed25519 hashes internally
  }
  return nullptr;
}

bool verify_hmac(Algorithm alg, const std::string& secret, std::string_view input,
                 std::string_view signature) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t mac_len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, digest_name(alg), nullptr, secret.data(), secret.size(),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac,
                 &mac_len))
    return false;
  return mac_len == signature.size() && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
}

// JWS carries ECDSA signatures as r || s of fixed size (RFC 7518 3.4); OpenSSL wants DER.
std::string ecdsa_raw_to_der(std::string_view raw) {
  const int half = static_cast<int>(raw.size() / 2);
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(p, half, nullptr);
  BIGNUM* s = BN_bin2bn(p + half, half, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return {};
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

bool verify_signature(Algorithm alg, const VerificationKey& key, std::string_view input,
                      std::string_view signature) {
  if (key.type() != key_type_for(alg)) return false;
  if (key.type() == KeyType::hmac) return verify_hmac(alg, key.secret(), input, signature);

  std::string der;
  if (alg == Algorithm::ES256 || alg == Algorithm::ES384) {
    if (signature.size() != (alg == Algorithm::ES256 ? 64u : 96u)) return false;
    der = ecdsa_raw_to_der(signature);
    if (der.empty()) return false;
    signature = der;
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit_ex(ctx.get(), &pctx, digest_name(alg), nullptr, nullptr,
                                           key.pkey(), nullptr) == 1;
  if (ok && (alg == Algorithm::PS256 || alg == Algorithm::PS384 || alg == Algorithm::PS512)) {
    // RFC 7518 3.5: PSS with MGF1 on the same hash and a salt as long as the hash.
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                              signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                              input.size()) == 1;
  ERR_clear_error();  // a failed check leaves errors on this thread's queue
  return ok;
}

}  // namespace wsgate::auth
