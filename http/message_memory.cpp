#include "http/message_memory.hpp"

namespace wsgate::http {
namespace {

// libstdc++'s monotonic_buffer_resource keeps its chunk's bookkeeping inside the chunk and rounds
// the chunk up to a power of two: asking for a little less than a block gets exactly a block
// (tested).
constexpr std::size_t kFirstChunk = RequestArena::kBlockBytes - 64;

}  // namespace

RequestArena::RequestArena(std::pmr::memory_resource* upstream) : memory_(kFirstChunk, upstream) {}

}  // namespace wsgate::http
