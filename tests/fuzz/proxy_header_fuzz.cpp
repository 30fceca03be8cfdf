// libFuzzer: the PROXY protocol header parser on any bytes, and on every prefix of them: a prefix
// of a header it accepts is never refused, the length never passes the input, and what it keeps of
// the TLVs lies within the header.
#include "proxy_protocol/header_parser.hpp"

#include <cstdlib>

using namespace wsgate::proxy_protocol;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Parsed whole = parse(data, size);
  if (whole.status == Status::done) {
    check(whole.length > 0 && whole.length <= size);
    check(whole.length <= (whole.header.version == 1 ? kMaxV1 : kMaxV2));
    check(whole.header.tlvs.size() <= whole.length);
    for (std::size_t n = 0; n < whole.length; ++n) check(parse(data, n).status == Status::need_more);
    const Parsed again = parse(data, whole.length);
    check(again.status == Status::done && again.length == whole.length);
    for (const char c : whole.header.authority) check(c > 0x20 && c < 0x7f);
  } else if (whole.status == Status::need_more) {
    check(size < kMaxV2);
  }
  return 0;
}
