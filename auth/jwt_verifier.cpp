#include "auth/jwt_verifier.hpp"

#include "auth/base64url.hpp"
#include "auth/signature.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <atomic>
#include <optional>

namespace wsgate::auth {
namespace json = boost::json;

std::string_view to_string(error e) {
  switch (e) {
    case error::none: return "ok";
    case error::missing_token: return "missing token";
    case error::malformed: return "malformed token";
    case error::algorithm_not_allowed: return "algorithm not allowed";
    case error::unknown_key: return "unknown key";
    case error::key_type_mismatch: return "key does not fit the algorithm";
    case error::bad_signature: return "bad signature";
    case error::expired: return "token expired";
    case error::not_yet_valid: return "token not yet valid";
    case error::no_expiry: return "token has no exp";
    case error::wrong_issuer: return "wrong issuer";
    case error::wrong_audience: return "wrong audience";
    case error::claim_missing: return "required claim missing";
    case error::claim_mismatch: return "required claim mismatch";
  }
  return "unknown";
}

bool is_forbidden(error e) { return e == error::claim_missing || e == error::claim_mismatch; }

namespace {

std::optional<json::object> decode_object(std::string_view segment, json::storage_ptr storage = {}) {
  auto bytes = base64url_decode(segment);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  auto value = json::parse(*bytes, ec, std::move(storage), opts);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

// A NumericDate (RFC 7519 2): a JSON number; anything else is malformed.
enum class Numeric { absent, bad, ok };
Numeric numeric_date(const json::object& claims, std::string_view name, std::int64_t& out) {
  const auto* v = claims.if_contains(name);
  if (!v) return Numeric::absent;
  if (v->is_int64()) out = v->get_int64();
  else if (v->is_uint64() && v->get_uint64() <= INT64_MAX) out = static_cast<std::int64_t>(v->get_uint64());
  else if (v->is_double() && v->get_double() > -9e18 && v->get_double() < 9e18)
    out = static_cast<std::int64_t>(v->get_double());
  else return Numeric::bad;
  return Numeric::ok;
}

bool contains_word(std::string_view words, std::string_view word) {
  while (!words.empty()) {
    const auto space = words.find(' ');
    if (words.substr(0, space) == word) return true;
    if (space == std::string_view::npos) break;
    words.remove_prefix(space + 1);
  }
  return false;
}

std::string scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  return json::serialize(v);
}

}  // namespace

JwtVerifier::JwtVerifier(VerifierConfig config, std::vector<VerificationKey> keys,
                         std::vector<std::shared_ptr<const KeySet>> remote)
    : config_(std::move(config)), keys_(std::move(keys)), remote_(std::move(remote)) {
  static std::atomic<std::uint64_t> next_id{1};
  id_ = next_id.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t JwtVerifier::key_generation() const {
  // Generations only grow, so their sum changes whenever any one does.
  std::uint64_t sum = 0;
  for (const auto& set : remote_) sum += set->generation();
  return sum;
}

Verified JwtVerifier::verify(std::string_view token, std::int64_t now) const {
  Verified out;
  if (token.size() > config_.max_token_bytes) return out;
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return out;
  // The header dies with this call: its nodes go on the stack, not the heap.
  unsigned char header_space[2048];
  json::monotonic_resource header_resource(header_space, sizeof header_space);
  auto header = decode_object(token.substr(0, dot1), &header_resource);
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!header || !signature) return out;

  const auto* alg_value = header->if_contains("alg");
  const auto alg = alg_value && alg_value->is_string() ? parse_algorithm(alg_value->get_string())
                                                       : std::nullopt;
  if (!alg || std::find(config_.algorithms.begin(), config_.algorithms.end(), *alg) ==
                  config_.algorithms.end()) {
    out.result = error::algorithm_not_allowed;
    return out;
  }
  out.algorithm = *alg;
  // RFC 7515 4.1.11: extensions we do not understand must be refused.
  if (header->contains("crit")) return out;
  const auto* kid_value = header->if_contains("kid");
  if (kid_value && !kid_value->is_string()) return out;
  const std::string_view kid = kid_value ? std::string_view(kid_value->get_string()) : "";

  const KeyType wanted = key_type_for(*alg);
  const std::string_view signing_input = token.substr(0, dot2);
  bool any_key = false, verified = false, mismatch = false;
  auto try_keys = [&](const std::vector<VerificationKey>& keys) {
    for (const auto& key : keys) {
      if (!kid.empty() && key.kid() != kid) continue;
      if (key.type() != wanted || (key.algorithm() && *key.algorithm() != *alg)) {
        mismatch = mismatch || !kid.empty();
        continue;
      }
      any_key = true;
      if (verify_signature(*alg, key, signing_input, *signature)) return true;
    }
    return false;
  };
  verified = try_keys(keys_);
  for (std::size_t i = 0; !verified && i < remote_.size(); ++i) {
    const auto snapshot = remote_[i]->snapshot();  // held while its keys are in use
    verified = try_keys(snapshot->keys);
  }
  if (mismatch && !verified) {
    out.result = error::key_type_mismatch;
    return out;
  }
  if (!any_key) {
    out.result = error::unknown_key;
    return out;
  }
  if (!verified) {
    out.result = error::bad_signature;
    return out;
  }
  // The payload is read only once the signature holds.
  auto claims = decode_object(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return out;
  out.result = check_claims(*claims, now);
  if (out.result == error::none) out.claims = std::move(*claims);
  return out;
}

error JwtVerifier::check_claims(const json::object& claims, std::int64_t now) const {
  const std::int64_t leeway = config_.leeway_seconds;
  std::int64_t t = 0;
  switch (numeric_date(claims, "exp", t)) {
    case Numeric::bad: return error::malformed;
    case Numeric::absent:
      if (config_.require_exp) return error::no_expiry;
      break;
    case Numeric::ok:
      if (now >= t + leeway) return error::expired;  // RFC 7519 4.1.4: on or after exp
      break;
  }
  switch (numeric_date(claims, "nbf", t)) {
    case Numeric::bad: return error::malformed;
    case Numeric::ok:
      if (now + leeway < t) return error::not_yet_valid;
      break;
    case Numeric::absent: break;
  }
  switch (numeric_date(claims, "iat", t)) {
    case Numeric::bad: return error::malformed;
    case Numeric::ok:
      if (now + leeway < t) return error::not_yet_valid;  // issued in the future
      break;
    case Numeric::absent: break;
  }
  if (!config_.issuer.empty()) {
    const auto* iss = claims.if_contains("iss");
    if (!iss || !iss->is_string() || iss->get_string() != config_.issuer) return error::wrong_issuer;
  }
  if (!config_.audiences.empty()) {
    const auto* aud = claims.if_contains("aud");
    auto allowed = [&](const json::value& v) {
      return v.is_string() && std::find(config_.audiences.begin(), config_.audiences.end(),
                                        std::string_view(v.get_string())) != config_.audiences.end();
    };
    bool ok = false;
    if (aud && aud->is_array()) ok = std::any_of(aud->get_array().begin(), aud->get_array().end(), allowed);
    else if (aud) ok = allowed(*aud);
    if (!ok) return error::wrong_audience;
  }
  for (const auto& rule : config_.required_claims) {
    const auto* v = claims.if_contains(rule.claim);
    if (!v) return error::claim_missing;
    bool ok = false;
    if (rule.kind == ClaimRule::Kind::equals) {
      ok = scalar_text(*v) == rule.value;
    } else if (v->is_array()) {
      ok = std::any_of(v->get_array().begin(), v->get_array().end(),
                       [&](const json::value& item) { return scalar_text(item) == rule.value; });
    } else if (v->is_string()) {
      ok = contains_word(v->get_string(), rule.value);
    }
    if (!ok) return error::claim_mismatch;
  }
  return error::none;
}

}  // namespace wsgate::auth
