#include "handover/channel_message.hpp"

#include <algorithm>

namespace wsgate::handover {
namespace {

constexpr std::size_t kHead = 9;  // kind and id

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<std::uint8_t>(in[i])} << (8 * i);
  return v;
}

bool known(char k) {
  return std::string_view("HLASCKRD").find(k) != std::string_view::npos;
}

}  // namespace

std::string encode(const Message& m) {
  std::string out;
  out.reserve(kHead + m.body.size());
  out.push_back(static_cast<char>(m.kind));
  put_u64(out, m.id);
  out.append(m.body);
  return out;
}

std::optional<Message> decode_message(std::string_view bytes, std::string& error) {
  if (bytes.size() < kHead) {
    error = "message shorter than its head";
    return std::nullopt;
  }
  if (!known(bytes[0])) {
    error = "unknown message kind";
    return std::nullopt;
  }
  Message m;
  m.kind = static_cast<Kind>(bytes[0]);
  m.id = get_u64(bytes.substr(1));
  m.body.assign(bytes.substr(kHead));
  return m;
}

std::vector<Message> split_record(std::uint64_t id, std::string_view record, std::size_t max_message) {
  std::vector<Message> out;
  const std::size_t first_room = max_message - kHead - 8;
  Message first{Kind::session, id, {}};
  put_u64(first.body, record.size());
  const std::size_t n = std::min(first_room, record.size());
  first.body.append(record.substr(0, n));
  out.push_back(std::move(first));
  for (std::size_t at = n; at < record.size();) {
    const std::size_t take = std::min(max_message - kHead, record.size() - at);
    out.push_back({Kind::more, id, std::string(record.substr(at, take))});
    at += take;
  }
  return out;
}

RecordAssembler::Step RecordAssembler::add(const Message& m, std::string& error) {
  if (m.kind == Kind::session) {
    if (m.body.size() < 8) {
      error = "session message without its size";
      return Step::broken;
    }
    const std::uint64_t size = get_u64(m.body);
    if (size > max_record_) {
      error = "session record of " + std::to_string(size) + " bytes, more than " + std::to_string(max_record_);
      return Step::broken;
    }
    id_ = m.id;
    expected_ = static_cast<std::size_t>(size);
    record_.assign(m.body, 8);
    open_ = true;
  } else if (m.kind == Kind::more) {
    if (!open_ || m.id != id_) {
      error = "a piece of a record that was not started";
      return Step::broken;
    }
    record_.append(m.body);
  } else {
    error = "not a piece of a record";
    return Step::broken;
  }
  if (record_.size() > expected_) {
    error = "record longer than announced";
    open_ = false;
    return Step::broken;
  }
  if (record_.size() < expected_) return Step::incomplete;
  open_ = false;
  return Step::complete;
}

}  // namespace wsgate::handover
