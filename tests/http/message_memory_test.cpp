#include "http/message_memory.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <tuple>

namespace {
namespace bh = boost::beast::http;
using wsgate::http::RequestArena;

// Counts what an arena takes from upstream and gives back, by size.
class CountingResource : public std::pmr::memory_resource {
 public:
  std::map<std::size_t, int> taken, given;
  int outstanding() const {
    int n = 0;
    for (const auto& [size, count] : taken) n += count;
    for (const auto& [size, count] : given) n -= count;
    return n;
  }

 private:
  void* do_allocate(std::size_t bytes, std::size_t align) override {
    ++taken[bytes];
    return std::pmr::new_delete_resource()->allocate(bytes, align);
  }
  void do_deallocate(void* p, std::size_t bytes, std::size_t align) override {
    ++given[bytes];
    std::pmr::new_delete_resource()->deallocate(p, bytes, align);
  }
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }
};

constexpr std::string_view kUpgrade =
    "GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    "Authorization: Bearer abc.def.ghi\r\n\r\n";

std::size_t parse_into(RequestArena& arena, std::string_view text, std::string_view target = "/chat?x=1") {
  bh::request_parser<bh::empty_body, wsgate::http::Allocator> parser(std::piecewise_construct, std::make_tuple(),
                                                                     std::make_tuple(arena.allocator()));
  parser.header_limit(64 * 1024);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(text.data(), text.size()), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_done());
  EXPECT_EQ(parser.get()[bh::field::host], "example.com");
  EXPECT_EQ(parser.get().target(), target);
  EXPECT_EQ(parser.get().get_allocator().resource(), arena.allocator().resource());
  return static_cast<std::size_t>(std::distance(parser.get().begin(), parser.get().end()));
}

TEST(RequestArena, AnArenaThatAllocatesNothingTakesNoBlock) {
  CountingResource upstream;
  { RequestArena arena(&upstream); }
  EXPECT_TRUE(upstream.taken.empty());
}

TEST(RequestArena, AParsedHeadLivesInOneBlockOfExactlyTheBlockSize) {
  CountingResource upstream;
  {
    RequestArena arena(&upstream);
    EXPECT_EQ(parse_into(arena, kUpgrade), 6u);
    // One block, of the block size: the pool that gives it keeps blocks by exact size.
    EXPECT_EQ(upstream.taken, (std::map<std::size_t, int>{{RequestArena::kBlockBytes, 1}}));
  }
  EXPECT_EQ(upstream.outstanding(), 0);
}

TEST(RequestArena, ResetGivesTheBlockBackAndTheArenaIsUsableAgain) {
  CountingResource upstream;
  RequestArena arena(&upstream);
  parse_into(arena, kUpgrade);
  arena.reset();
  EXPECT_EQ(upstream.outstanding(), 0);
  parse_into(arena, kUpgrade);
  EXPECT_EQ(upstream.outstanding(), 1);
}

TEST(RequestArena, AHeadLargerThanABlockTakesMoreAndGivesEveryBlockBack) {
  std::string big = "GET / HTTP/1.1\r\nHost: example.com\r\n";
  for (int i = 0; i < 40; ++i) big += "X-Filler-" + std::to_string(i) + ": " + std::string(500, 'a') + "\r\n";
  big += "\r\n";
  CountingResource upstream;
  {
    RequestArena arena(&upstream);
    EXPECT_EQ(parse_into(arena, big, "/"), 41u);
    EXPECT_GT(upstream.outstanding(), 1);
  }
  EXPECT_EQ(upstream.outstanding(), 0);
}

TEST(RequestArena, FieldsWithoutAnArenaUseTheHeap) {
  wsgate::http::RequestHeader req;
  req.set(bh::field::host, "example.com");
  EXPECT_EQ(req.get_allocator().resource(), std::pmr::get_default_resource());
  EXPECT_EQ(req[bh::field::host], "example.com");
}

}  // namespace
