// The JWKS sources of every configuration still in use, by URL: a reload that keeps a URL keeps its
// source, so the keys already fetched stay in use and the provider is not asked again.
#pragma once

#include "gateway/control/jwks_source.hpp"

#include <map>
#include <memory>
#include <string>

namespace wsgate::gateway {

class JwksRegistry {
 public:
  // The source for `settings`, shared when one with the same URL and settings exists; nullptr with
  // `error` set when a new one cannot be made.
  std::shared_ptr<JwksSource> get(const config::JwksUrl& settings, std::string& error);

  // Starts every source not yet started and drops those only the registry still holds. Control
  // thread only, so a source is always destroyed there.
  void start_all(boost::asio::io_context& control);
  // Every started source fetches now (a reload). Control thread only.
  void refresh_all();

 private:
  std::map<std::string, std::shared_ptr<JwksSource>> sources_;
};

}  // namespace wsgate::gateway
