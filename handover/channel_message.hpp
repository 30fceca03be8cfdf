// The messages the old and the new process exchange over the handover socket during a binary
// upgrade, one datagram each, and how a session record longer than one datagram travels in pieces.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wsgate::handover {

enum class Kind : char {
  hello = 'H',      // new to old: the configuration is loaded and valid, send the listeners
  listeners = 'L',  // old to new: the listening sockets (attached), one "kind name address" line each
  accepting = 'A',  // new to old: accepting on all of them; stop accepting and send the sessions
  session = 'S',    // old to new: a session's two sockets (attached), its record's size and first piece
  more = 'C',       // old to new: the next piece of the same record
  adopted = 'K',    // new to old: the session is taken (nothing read yet): close your copies
  refused = 'R',    // new to old: the session cannot be taken: it stays with the old process
  done = 'D',       // old to new: no more sessions come
};

struct Message {
  Kind kind = Kind::hello;
  std::uint64_t id = 0;  // the session it is about (session, more, adopted, refused)
  std::string body;
};

// Kind, id (8 bytes) and body.
std::string encode(const Message& m);
std::optional<Message> decode_message(std::string_view bytes, std::string& error);

// One record as a `session` message (its total size first) and `more` messages, none of them
// larger than `max_message` bytes encoded.
std::vector<Message> split_record(std::uint64_t id, std::string_view record, std::size_t max_message);

// Puts one record together again from its pieces, in order; one record at a time, as they are sent.
class RecordAssembler {
 public:
  explicit RecordAssembler(std::size_t max_record) : max_record_(max_record) {}
  enum class Step { incomplete, complete, broken };
  // After `complete`, record() holds the whole record until the next session message.
  Step add(const Message& m, std::string& error);
  std::uint64_t id() const { return id_; }
  std::string& record() { return record_; }

 private:
  std::size_t max_record_;
  std::uint64_t id_ = 0;
  std::size_t expected_ = 0;
  bool open_ = false;
  std::string record_;
};

}  // namespace wsgate::handover
