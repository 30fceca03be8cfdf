#include "auth/token_minter.hpp"

#include "auth/base64url.hpp"

#include <boost/json/serialize.hpp>

#include <openssl/evp.h>

namespace wsgate::auth {

std::string mint_hs256(const boost::json::object& claims, std::string_view secret,
                       std::string_view kid) {
  boost::json::object header{{"alg", "HS256"}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  const std::string input = base64url_encode(boost::json::serialize(header)) + "." +
                            base64url_encode(boost::json::serialize(claims));
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &len);
  return input + "." + base64url_encode({reinterpret_cast<const char*>(mac), len});
}

}  // namespace wsgate::auth
