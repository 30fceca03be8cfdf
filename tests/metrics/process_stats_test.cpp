#include "metrics/process_stats.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <cmath>

namespace wsgate::metrics {
namespace {

TEST(ProcessStats, OpenDescriptorsFollowTheProcess) {
  const auto before = read_process_stats();
  ASSERT_TRUE(before);
  const int fds[3] = {open("/dev/null", O_RDONLY), open("/dev/null", O_RDONLY), open("/dev/null", O_RDONLY)};
  const auto during = read_process_stats();
  for (int fd : fds) close(fd);
  ASSERT_TRUE(during);
  EXPECT_EQ(during->open_fds, before->open_fds + 3);
  EXPECT_EQ(read_process_stats()->open_fds, before->open_fds);
  EXPECT_GE(before->max_fds, before->open_fds);
}

TEST(ProcessStats, CpuTimeGrowsWithWorkAndMemoryWithTouchedPages) {
  const auto before = read_process_stats();
  ASSERT_TRUE(before);
  // 300 ms of CPU by the kernel's other clock (bounded in wall time on a busy machine): /proc's
  // figure, in 10 ms ticks, must have moved by most of it.
  const auto cpu_now = [] {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
  };
  const double start = cpu_now();
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  volatile std::uint64_t x = 0;
  while (cpu_now() - start < 0.3 && std::chrono::steady_clock::now() < give_up) x = x + 1;
  ASSERT_GE(cpu_now() - start, 0.3) << "the machine gave this test no CPU for 20 s";
  constexpr std::size_t kTouched = 64u << 20;
  auto* block = new char[kTouched];
  for (std::size_t i = 0; i < kTouched; i += 4096) block[i] = 1;
  const auto after = read_process_stats();
  delete[] block;
  ASSERT_TRUE(after);
  EXPECT_GE(after->cpu_seconds - before->cpu_seconds, 0.2);
  EXPECT_GE(after->resident_bytes, before->resident_bytes + kTouched / 2);
  EXPECT_GE(after->virtual_bytes, after->resident_bytes);
}

TEST(ProcessStats, StartTimeIsThisProcessesStart) {
  const auto s = read_process_stats();
  ASSERT_TRUE(s);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_LE(s->start_time_unix, now + 1);
  EXPECT_GE(s->start_time_unix, now - 600) << "a unit test binary started within ten minutes";
}

}  // namespace
}  // namespace wsgate::metrics
