// One line per event, text or JSON, on stderr. Callers pass named fields; no field ever carries a
// token or secret, and values from clients are escaped so they cannot forge lines.
#pragma once

#include <concepts>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace wsgate::log {

enum class Level { debug, info, warn, error };

// A named value; one made from an integer is a number in JSON lines (unquoted), the rest strings.
struct Field {
  Field(std::string_view k, std::string v) : key(k), value(std::move(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral Int>
    requires(!std::same_as<Int, bool>)
  Field(std::string_view k, Int n) : key(k), value(std::to_string(n)), number(true) {}

  std::string_view key;
  std::string value;
  bool number = false;
};

void configure(std::string_view level, std::string_view format);
bool enabled(Level level);
void write(Level level, std::string_view event, std::initializer_list<Field> fields = {});
// One line as write() would print it (timestamp, level, event, fields; text or JSON), for sinks
// of their own such as the access log.
std::string format_line(Level level, std::string_view event, std::span<const Field> fields);
inline std::string format_line(Level level, std::string_view event, std::initializer_list<Field> fields) {
  return format_line(level, event, std::span<const Field>(fields.begin(), fields.size()));
}

inline void info(std::string_view event, std::initializer_list<Field> f = {}) { write(Level::info, event, f); }
inline void warn(std::string_view event, std::initializer_list<Field> f = {}) { write(Level::warn, event, f); }
inline void error(std::string_view event, std::initializer_list<Field> f = {}) { write(Level::error, event, f); }
inline void debug(std::string_view event, std::initializer_list<Field> f = {}) {
  if (enabled(Level::debug)) write(Level::debug, event, f);
}

}  // namespace wsgate::log
