// libFuzzer: gateway.yaml through the loader: YAML parsing, ${VAR} expansion, every typed field,
// the collected file:line:column errors. Nothing outside the input is read: no environment, and
// key files resolve against a folder that does not exist.
#include "config/config.hpp"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const wsgate::config::EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "PORT") return "8080";
    return std::nullopt;
  };
  auto result = wsgate::config::load_config_text(text, "fuzz.yaml", "/nonexistent-wsgate-fuzz", env);
  if (!result.config && result.errors.empty()) __builtin_trap();  // refused without saying why
  return 0;
}
