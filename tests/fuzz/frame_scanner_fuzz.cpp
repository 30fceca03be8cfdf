// libFuzzer: the frame header parser and the scanner that follows frames through a byte stream,
// fed in reads of fuzzer-chosen sizes with a gate that holds, drops and refuses.
#include "websocket/frame_codec.hpp"

#include <cstdlib>
#include <vector>

using namespace wsgate::ws;

namespace {

struct GateState {
  std::uint8_t choice = 0;
  std::uint64_t seen = 0;
};

FrameVerdict gate(void* context, const FrameHeader&, bool) {
  auto& g = *static_cast<GateState*>(context);
  ++g.seen;
  switch ((g.choice >> (g.seen % 4 * 2)) & 3) {
    case 1: return FrameVerdict::drop;
    case 2: return g.seen % 7 == 0 ? FrameVerdict::refuse : FrameVerdict::pass;
    default: return FrameVerdict::pass;
  }
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t flags = data[0], read_size = data[1];
  GateState state{data[2]};
  data += 3;
  size -= 3;

  // A parsed header writes back to the same header.
  FrameHeader h;
  if (parse_frame_header(data, size, h) == ParseStatus::complete) {
    std::uint8_t out[max_header_size];
    const auto n = write_frame_header(h, out);
    FrameHeader again;
    check(parse_frame_header(out, n, again) == ParseStatus::complete);
    check(again.payload_length == h.payload_length && again.opcode == h.opcode && again.fin == h.fin &&
          again.masked == h.masked && (!h.masked || again.mask == h.mask));
  }

  ScanRules rules{(flags & 1) != 0, (flags & 2) != 0, (flags & 4) ? 1000u : UINT64_MAX};
  FrameScanner scanner(rules);
  if (flags & 8) scanner.set_gate(&gate, &state);
  std::uint64_t observed = 0;
  scanner.set_observer([](void* c, std::uint64_t) { ++*static_cast<std::uint64_t*>(c); }, &observed);

  // The relay's loop: keep held header bytes, rescan them with what follows.
  std::vector<std::uint8_t> buffer;
  std::size_t pos = 0;
  const std::size_t step = read_size == 0 ? size : read_size;
  while (pos < size) {
    const std::size_t n = std::min(step, size - pos);
    buffer.insert(buffer.end(), data + pos, data + pos + n);
    pos += n;
    std::size_t offset = 0;
    bool stop = (flags & 16) != 0;  // once per read, as the relay does to put a frame of its own
    for (;;) {
      const auto r = scanner.scan(buffer.data() + offset, buffer.size() - offset, stop);
      stop = false;
      check(r.forward + r.held + r.discard <= buffer.size() - offset);
      check(r.held <= max_held_size);  // what the relay keeps between reads stays this small
      if (r.violation != Violation::none || r.held_back) return 0;  // the session would end or wait
      offset += r.forward + r.discard;
      if (r.held > 0) {
        check(offset + r.held == buffer.size());
        break;
      }
      if (offset >= buffer.size()) break;
      if (r.forward == 0 && r.discard == 0 && !r.stopped) break;  // only a gate's hold stops here
    }
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  check(observed == scanner.messages());
  return 0;
}
