// An operator's header rules for one route: what the request builder sets and removes towards the
// backend, and what is set on the backend's responses. Plain data, checked when the configuration loads.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace wsgate::http {

struct HeaderRules {
  std::vector<std::pair<std::string, std::string>> set;  // a client's (or backend's) copies replaced
  std::vector<std::string> remove;
};

}  // namespace wsgate::http
