#include "tests/support/jwt_factory.hpp"

#include "auth/base64url.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>

namespace wsgate::auth::testing {
namespace {

std::string raw_from_der(const std::string& der, std::size_t half);
std::string sign_input(Algorithm alg, std::string_view input, EVP_PKEY* pkey, const std::string& secret);
std::string bn_param_b64(EVP_PKEY* pkey, const char* name);

}  // namespace

PkeyPtr generate(KeyType type) {
  EVP_PKEY* k = nullptr;
  switch (type) {
    case KeyType::rsa: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048)); break;
    case KeyType::ec_p256: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"); break;
    case KeyType::ec_p384: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"); break;
    case KeyType::ed25519: k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"); break;
    case KeyType::hmac: break;
  }
  return PkeyPtr(k, EVP_PKEY_free);
}

// One key pair per type for the whole test program: RSA generation is slow.
const PkeyPtr& key_for(KeyType type) {
  static std::map<KeyType, PkeyPtr> keys;
  auto& k = keys[type];
  if (!k) k = generate(type);
  return k;
}

const std::string kSecret = "a development secret of more than thirty-two bytes";

namespace {
std::string raw_from_der(const std::string& der, std::size_t half) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), ECDSA_SIG_free);
  std::string out(2 * half, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(half));
  BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), reinterpret_cast<unsigned char*>(out.data() + half), static_cast<int>(half));
  return out;
}
}  // namespace

namespace {
std::string sign_input(Algorithm alg, std::string_view input, EVP_PKEY* pkey, const std::string& secret) {
  const char* md = nullptr;
  switch (alg) {
    case Algorithm::HS256: case Algorithm::RS256: case Algorithm::PS256: case Algorithm::ES256: md = "SHA256"; break;
    case Algorithm::HS384: case Algorithm::RS384: case Algorithm::PS384: case Algorithm::ES384: md = "SHA384"; break;
    case Algorithm::HS512: case Algorithm::RS512: case Algorithm::PS512: md = "SHA512"; break;
    case Algorithm::EdDSA: break;
  }
  if (key_type_for(alg) == KeyType::hmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, md, nullptr, secret.data(), secret.size(),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit_ex(ctx.get(), &pctx, md, nullptr, nullptr, pkey, nullptr);
  if (alg == Algorithm::PS256 || alg == Algorithm::PS384 || alg == Algorithm::PS512) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  EVP_DigestSign(ctx.get(), nullptr, &len, in, input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size());
  sig.resize(len);
  if (alg == Algorithm::ES256) return raw_from_der(sig, 32);
  if (alg == Algorithm::ES384) return raw_from_der(sig, 48);
  return sig;
}
}  // namespace

std::string mint(Algorithm alg, const std::string& header_json, const std::string& payload_json,
                 const std::string& secret) {
  const std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  EVP_PKEY* pkey = key_type_for(alg) == KeyType::hmac ? nullptr : key_for(key_type_for(alg)).get();
  return input + "." + base64url_encode(sign_input(alg, input, pkey, secret));
}

std::string header_for(Algorithm alg, std::string_view kid) {
  std::string h = "{\"alg\":\"" + std::string(to_string(alg)) + "\"";
  if (!kid.empty()) h += ",\"kid\":\"" + std::string(kid) + "\"";
  return h + "}";
}

std::string pem_of(EVP_PKEY* pkey) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PUBKEY(bio.get(), pkey);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

namespace {
std::string bn_param_b64(EVP_PKEY* pkey, const char* name) {
  BIGNUM* bn = nullptr;
  EVP_PKEY_get_bn_param(pkey, name, &bn);
  std::string bytes(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
  BN_free(bn);
  return base64url_encode(bytes);
}
}  // namespace

// The public key as a JWK, the way an identity provider publishes it.
std::string jwk_of(KeyType type, std::string_view kid) {
  EVP_PKEY* pkey = key_for(type).get();
  std::string j = "{\"kid\":\"" + std::string(kid) + "\",\"use\":\"sig\",";
  if (type == KeyType::rsa) {
    j += "\"kty\":\"RSA\",\"n\":\"" + bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_N) + "\",\"e\":\"" +
         bn_param_b64(pkey, OSSL_PKEY_PARAM_RSA_E) + "\"}";
  } else if (type == KeyType::ed25519) {
    unsigned char x[32];
    std::size_t len = sizeof x;
    EVP_PKEY_get_raw_public_key(pkey, x, &len);
    j += "\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" + base64url_encode({reinterpret_cast<char*>(x), len}) + "\"}";
  } else {
    unsigned char point[133];
    std::size_t len = 0;
    EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len);
    const std::size_t half = (len - 1) / 2;  // 0x04 || x || y
    j += std::string("\"kty\":\"EC\",\"crv\":\"") + (type == KeyType::ec_p256 ? "P-256" : "P-384") +
         "\",\"x\":\"" + base64url_encode({reinterpret_cast<char*>(point + 1), half}) + "\",\"y\":\"" +
         base64url_encode({reinterpret_cast<char*>(point + 1 + half), half}) + "\"}";
  }
  return j;
}


}  // namespace wsgate::auth::testing
