#include "auth/verification_key.hpp"

#include "auth/base64url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

namespace wsgate::auth {
namespace {

std::string openssl_error(std::string_view what) {
  const auto e = ERR_get_error();
  ERR_clear_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  return std::string(what) + ": " + buf;
}

struct BnFree { void operator()(BIGNUM* b) const { BN_free(b); } };
struct BldFree { void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); } };
struct ParamFree { void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); } };
struct CtxFree { void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); } };

// Builds a public key from OSSL parameters filled in by `fill`.
template <class Fill>
EVP_PKEY* pkey_from_params(const char* type, Fill fill, std::string& error) {
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !fill(bld.get())) {
    error = openssl_error("building key parameters");
    return nullptr;
  }
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    error = openssl_error("loading key");
    return nullptr;
  }
  return pkey;
}

std::optional<std::string> member(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

std::optional<std::string> b64_member(const boost::json::object& o, std::string_view name) {
  auto text = member(o, name);
  if (!text) return std::nullopt;
  return base64url_decode(*text);
}

std::optional<VerificationKey> key_from_jwk(const boost::json::object& jwk, std::string& error) {
  const auto kty = member(jwk, "kty");
  const std::string kid = member(jwk, "kid").value_or("");
  if (!kty) {
    error = "key without kty";
    return std::nullopt;
  }
  if (*kty == "oct") {
    auto k = b64_member(jwk, "k");
    if (!k || k->empty()) {
      error = "oct key without k";
      return std::nullopt;
    }
    return VerificationKey::from_secret(std::move(*k), kid);
  }
  EVP_PKEY* pkey = nullptr;
  if (*kty == "RSA") {
    auto n = b64_member(jwk, "n");
    auto e = b64_member(jwk, "e");
    if (!n || !e) {
      error = "RSA key without n and e";
      return std::nullopt;
    }
    std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), static_cast<int>(n->size()), nullptr));
    std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), static_cast<int>(e->size()), nullptr));
    pkey = pkey_from_params("RSA", [&](OSSL_PARAM_BLD* b) {
      return bn_n && bn_e && OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) == 1 &&
             OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, bn_e.get()) == 1;
    }, error);
  } else if (*kty == "EC") {
    const auto crv = member(jwk, "crv").value_or("");
    const std::size_t size = crv == "P-256" ? 32 : crv == "P-384" ? 48 : 0;
    auto x = b64_member(jwk, "x");
    auto y = b64_member(jwk, "y");
    if (size == 0 || !x || !y || x->size() != size || y->size() != size) {
      error = "EC key needs crv P-256 or P-384 and x, y of its size";
      return std::nullopt;
    }
    const std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
    pkey = pkey_from_params("EC", [&](OSSL_PARAM_BLD* b) {
      return OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, crv.c_str(), 0) == 1 &&
             OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1;
    }, error);
  } else if (*kty == "OKP") {
    auto x = b64_member(jwk, "x");
    if (member(jwk, "crv").value_or("") != "Ed25519" || !x || x->size() != 32) {
      error = "OKP key must be Ed25519 with a 32-byte x";
      return std::nullopt;
    }
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (!pkey) error = openssl_error("loading Ed25519 key");
  } else {
    error = "unsupported kty " + *kty;
    return std::nullopt;
  }
  if (!pkey) return std::nullopt;
  return key_from_pkey(pkey, kid, error);
}

}  // namespace

VerificationKey VerificationKey::from_secret(std::string bytes, std::string kid) {
  VerificationKey k;
  k.type_ = KeyType::hmac;
  k.secret_ = std::move(bytes);
  k.kid_ = std::move(kid);
  return k;
}

std::optional<VerificationKey> key_from_pkey(EVP_PKEY* pkey, std::string kid, std::string& error) {
  std::shared_ptr<EVP_PKEY> owned(pkey, EVP_PKEY_free);
  VerificationKey k;
  k.kid_ = std::move(kid);
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey) < 2048) {
        error = "RSA key shorter than 2048 bits";
        return std::nullopt;
      }
      k.type_ = KeyType::rsa;
      break;
    case EVP_PKEY_ED25519:
      k.type_ = KeyType::ed25519;
      break;
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
      const std::string_view g(group, len);
      if (g == "prime256v1" || g == "P-256") {
        k.type_ = KeyType::ec_p256;
      } else if (g == "secp384r1" || g == "P-384") {
        k.type_ = KeyType::ec_p384;
      } else {
        error = "EC curve " + std::string(g) + " is not P-256 or P-384";
        return std::nullopt;
      }
      break;
    }
    default:
      error = "key type not usable for JWT signatures";
      return std::nullopt;
  }
  k.pkey_ = std::move(owned);
  return k;
}

std::optional<VerificationKey> VerificationKey::from_pem(std::string_view pem, std::string kid,
                                                         std::string& error) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!pkey) {
    error = openssl_error("reading PEM public key");
    return std::nullopt;
  }
  return key_from_pkey(pkey, std::move(kid), error);
}

std::vector<VerificationKey> parse_jwks(std::string_view json, std::vector<std::string>& errors) {
  std::vector<VerificationKey> keys;
  boost::system::error_code ec;
  const auto doc = boost::json::parse(json, ec);
  const auto* list = !ec && doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
  if (!list || !list->is_array()) {
    errors.push_back("JWKS must be an object with a \"keys\" array");
    return keys;
  }
  std::size_t i = 0;
  for (const auto& item : list->get_array()) {
    const std::string where = "keys[" + std::to_string(i++) + "]";
    if (!item.is_object()) {
      errors.push_back(where + ": not an object");
      continue;
    }
    const auto& jwk = item.get_object();
    if (member(jwk, "use").value_or("sig") != "sig") continue;  // encryption keys are not ours
    std::string error;
    auto k = key_from_jwk(jwk, error);
    if (k && jwk.contains("alg")) {
      const auto alg = member(jwk, "alg");
      const auto parsed = alg ? parse_algorithm(*alg) : std::nullopt;
      if (!parsed) {
        error = "alg must name a JWS signature algorithm wsgate verifies";
        k.reset();
      } else if (key_type_for(*parsed) != k->type()) {
        error = "alg " + *alg + " does not fit a " + std::string(to_string(k->type())) + " key";
        k.reset();
      } else {
        k->restrict_to(*parsed);
      }
    }
    if (k) keys.push_back(std::move(*k));
    else errors.push_back(where + ": " + error);
  }
  return keys;
}

}  // namespace wsgate::auth
