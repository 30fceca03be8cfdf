// Micro-benchmarks of the relay's per-message work: following frame boundaries through a buffer.
// The payload is never touched, so the cost per message must not grow with its size.
#include "websocket/frame_codec.hpp"

#include <benchmark/benchmark.h>

#include <vector>

namespace {

using wsgate::ws::FrameHeader;
using wsgate::ws::FrameScanner;

// A buffer of `count` masked client frames of `size` payload bytes each.
std::vector<std::uint8_t> frames(std::size_t count, std::size_t size) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < count; ++i) {
    FrameHeader h;
    h.opcode = wsgate::ws::opcode::binary;
    h.masked = true;
    h.mask = {1, 2, 3, 4};
    h.payload_length = size;
    std::uint8_t header[wsgate::ws::max_header_size];
    const auto n = wsgate::ws::write_frame_header(h, header);
    out.insert(out.end(), header, header + n);
    out.insert(out.end(), size, 'x');
  }
  return out;
}

void BM_ScanFrames(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  const std::size_t count = std::max<std::size_t>(1, 65536 / (size + 14));
  const auto buffer = frames(count, size);
  FrameScanner scanner({true, false, UINT64_MAX});
  for (auto _ : state) {
    auto r = scanner.scan(buffer.data(), buffer.size());
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buffer.size()));
}
BENCHMARK(BM_ScanFrames)->Arg(64)->Arg(1024)->Arg(16384)->Arg(1 << 20);

void BM_ParseHeader(benchmark::State& state) {
  const auto buffer = frames(1, 70000);  // 64-bit length + mask: the longest header
  FrameHeader h;
  for (auto _ : state) {
    auto s = wsgate::ws::parse_frame_header(buffer.data(), buffer.size(), h);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(h);
  }
}
BENCHMARK(BM_ParseHeader);

}  // namespace

BENCHMARK_MAIN();
