// wsgate's command line: run the gateway, check a configuration file, print the version.
// Exit status: 0 success, 1 invalid configuration or failure to start, 2 usage.

#include "gateway/config.hpp"
#include "gateway/log.hpp"
#include "gateway/runtime.hpp"
#include "gateway/server.hpp"

#include <csignal>
#include <cstring>
#include <iostream>
#include <string_view>

namespace {

void usage(std::ostream& out) {
  out << "usage: wsgate [--config FILE]     run the gateway (default FILE: gateway.yaml)\n"
         "       wsgate --check-config FILE validate FILE, print every error as FILE:LINE:COL\n"
         "       wsgate --version\n";
}

int check_config(const std::string& path) {
  auto loaded = wsgate::config::load_config_file(path);
  auto errors = std::move(loaded.errors);
  if (errors.empty()) wsgate::gateway::Runtime::build(std::move(*loaded.config), errors);
  for (const auto& e : errors) std::cerr << e << '\n';
  if (!errors.empty()) return 1;
  std::cout << path << ": ok\n";
  return 0;
}

int run(const std::string& path) {
  auto loaded = wsgate::config::load_config_file(path);
  auto errors = std::move(loaded.errors);
  std::shared_ptr<const wsgate::gateway::Runtime> runtime;
  if (errors.empty()) {
    wsgate::log::configure(loaded.config->log.level, loaded.config->log.format);
    runtime = wsgate::gateway::Runtime::build(std::move(*loaded.config), errors);
  }
  if (!runtime) {
    for (const auto& e : errors) std::cerr << e << '\n';
    return 1;
  }
  // Writes to a peer that has gone must come back as EPIPE, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  wsgate::gateway::Server server(path, std::move(runtime));
  return server.run();
}

}  // namespace

int main(int argc, char** argv) {
  std::string config = "gateway.yaml";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--version") {
      std::cout << "wsgate " << WSGATE_VERSION << '\n';
      return 0;
    }
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    }
    if ((arg == "--config" || arg == "--check-config") && i + 1 < argc) {
      if (arg == "--check-config") return check_config(argv[i + 1]);
      config = argv[++i];
      continue;
    }
    usage(std::cerr);
    return 2;
  }
  return run(config);
}
