// Starts the new binary of a binary upgrade: the file now at the path this process was started
// from, with this process's arguments, the handover socket as descriptor 3 and nothing else open.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsgate::gateway {

// What this process was started as, read once at startup (before a release replaces the file).
struct ProcessImage {
  std::string path;  // absolute
  std::vector<std::string> args;  // argv, argv[0] included
  static ProcessImage of_this_process(int argc, char** argv);
};

// The environment variables a new process finds its handover socket and generation in.
inline constexpr const char* kHandoverFdVariable = "WSGATE_HANDOVER_FD";
inline constexpr const char* kGenerationVariable = "WSGATE_GENERATION";

// -1 with `error` when it cannot be started; the child's own failures come later, as the
// handover socket's end.
pid_t start_successor(const ProcessImage& image, int channel_fd, std::uint64_t generation, std::string& error);

}  // namespace wsgate::gateway
