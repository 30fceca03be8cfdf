// One line per event, text or JSON, on stderr. Callers pass named fields; no field ever carries a
// token or secret, and values from clients are escaped so they cannot forge lines.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace wsgate::log {

enum class Level { debug, info, warn, error };

struct Field {
  std::string_view key;
  std::string value;
};

void configure(std::string_view level, std::string_view format);
bool enabled(Level level);
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

inline void info(std::string_view event, std::initializer_list<Field> f = {}) { write(Level::info, event, f); }
inline void warn(std::string_view event, std::initializer_list<Field> f = {}) { write(Level::warn, event, f); }
inline void error(std::string_view event, std::initializer_list<Field> f = {}) { write(Level::error, event, f); }
inline void debug(std::string_view event, std::initializer_list<Field> f = {}) {
  if (enabled(Level::debug)) write(Level::debug, event, f);
}

}  // namespace wsgate::log
