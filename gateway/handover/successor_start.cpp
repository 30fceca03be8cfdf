#include "gateway/handover/successor_start.hpp"

#include <spawn.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>

extern char** environ;

namespace wsgate::gateway {

ProcessImage ProcessImage::of_this_process(int argc, char** argv) {
  ProcessImage image;
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) image.path.assign(buf, static_cast<std::size_t>(n));
  for (int i = 0; i < argc; ++i) image.args.emplace_back(argv[i]);
  return image;
}

pid_t start_successor(const ProcessImage& image, int channel_fd, std::uint64_t generation, std::string& error) {
  if (image.path.empty()) {
    error = "the path of this binary is unknown";
    return -1;
  }
  std::vector<std::string> env;
  const std::string fd_prefix = std::string(kHandoverFdVariable) + "=";
  const std::string generation_prefix = std::string(kGenerationVariable) + "=";
  for (char** e = environ; e && *e; ++e) {
    const std::string_view v(*e);
    if (v.starts_with(fd_prefix) || v.starts_with(generation_prefix)) continue;
    env.emplace_back(v);
  }
  env.push_back(fd_prefix + "3");
  env.push_back(generation_prefix + std::to_string(generation));
  std::vector<char*> envp, argv;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = image.args;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  // Only stdin, stdout, stderr and the handover socket: a client socket inherited by the new
  // process would stay open there after this one closes it, and its client would never see the end.
  posix_spawn_file_actions_adddup2(&actions, channel_fd, 3);
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  // The io threads' signal mask is not the new process's business.
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, image.path.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    error = image.path + ": " + std::strerror(rc);
    return -1;
  }
  return pid;
}

}  // namespace wsgate::gateway
