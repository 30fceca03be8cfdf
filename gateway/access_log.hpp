// The access log: one line per plain request and per upgrade, to stderr or a file that SIGUSR1
// reopens (logrotate). Written from every io thread; one lock per line.
#pragma once

#include "gateway/log.hpp"

#include <cstdint>
#include <initializer_list>
#include <string>

namespace wsgate::gateway::access_log {

// Off, to stderr (path ""), or appended to `path`. Returns an error text when the file cannot be
// opened (the previous sink is kept). Control thread (start, reload).
std::string configure(bool enabled, const std::string& path);
// Opens the file again under the same name: after logrotate moved it. Control thread.
std::string reopen();
bool enabled();
void write(std::span<const log::Field> fields);
inline void write(std::initializer_list<log::Field> fields) {
  write(std::span<const log::Field>(fields.begin(), fields.size()));
}
// Lines lost because a write failed (a full disk), since the start.
std::uint64_t dropped_lines();

}  // namespace wsgate::gateway::access_log
