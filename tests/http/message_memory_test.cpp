#include "http/message_memory.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <tuple>

namespace {
namespace bh = boost::beast::http;
using wsgate::http::RequestArena;

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
  const auto handed = RequestArena::blocks_handed_out();
  { RequestArena arena; }
  EXPECT_EQ(RequestArena::blocks_handed_out(), handed);
}

TEST(RequestArena, AParsedHeadLivesInOneBlockThatGoesBackToThePoolAndIsTakenAgain) {
  { RequestArena warm; parse_into(warm, kUpgrade); }  // the pool has a block
  const auto pooled = RequestArena::pooled_blocks();
  ASSERT_GE(pooled, 1u);
  const auto handed = RequestArena::blocks_handed_out();
  {
    RequestArena arena;
    EXPECT_EQ(parse_into(arena, kUpgrade), 6u);
    // One block, and it is a pooled one: the head fits and the chunk size meets the block size.
    EXPECT_EQ(RequestArena::blocks_handed_out(), handed + 1);
    EXPECT_EQ(RequestArena::pooled_blocks(), pooled - 1);
  }
  EXPECT_EQ(RequestArena::pooled_blocks(), pooled);
}

TEST(RequestArena, ResetGivesTheBlockBackAndTheArenaIsUsableAgain) {
  RequestArena arena;
  parse_into(arena, kUpgrade);
  const auto pooled = RequestArena::pooled_blocks();
  arena.reset();
  EXPECT_EQ(RequestArena::pooled_blocks(), pooled + 1);
  parse_into(arena, kUpgrade);
  EXPECT_EQ(RequestArena::pooled_blocks(), pooled);
}

TEST(RequestArena, AHeadLargerThanABlockGrowsOnTheHeapAndTheBlockStillComesBack) {
  std::string big = "GET / HTTP/1.1\r\nHost: example.com\r\n";
  for (int i = 0; i < 40; ++i) big += "X-Filler-" + std::to_string(i) + ": " + std::string(500, 'a') + "\r\n";
  big += "\r\n";
  { RequestArena warm; parse_into(warm, kUpgrade); }
  const auto pooled = RequestArena::pooled_blocks();
  {
    RequestArena arena;
    EXPECT_EQ(parse_into(arena, big, "/"), 41u);
  }
  EXPECT_EQ(RequestArena::pooled_blocks(), pooled);
}

TEST(RequestArena, FieldsWithoutAnArenaUseTheHeap) {
  wsgate::http::RequestHeader req;
  req.set(bh::field::host, "example.com");
  EXPECT_EQ(req.get_allocator().resource(), std::pmr::get_default_resource());
  EXPECT_EQ(req[bh::field::host], "example.com");
}

}  // namespace
