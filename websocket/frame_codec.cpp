#include "websocket/frame_codec.hpp"

#include <algorithm>

namespace wsgate::ws {

ParseStatus parse_frame_header(const std::uint8_t* data, std::size_t size, FrameHeader& out) {
  if (size < 2) return ParseStatus::need_more;
  const std::uint8_t b0 = data[0], b1 = data[1];
  out.fin = (b0 & 0x80) != 0;
  out.rsv1 = (b0 & 0x40) != 0;
  out.rsv2 = (b0 & 0x20) != 0;
  out.rsv3 = (b0 & 0x10) != 0;
  out.opcode = b0 & 0x0F;
  out.masked = (b1 & 0x80) != 0;
  std::uint64_t len = b1 & 0x7F;
  std::size_t pos = 2;
  if (len == 126) {
    if (size < pos + 2) return ParseStatus::need_more;
    len = (std::uint64_t{data[2]} << 8) | data[3];
    pos += 2;
  } else if (len == 127) {
    if (size < pos + 8) return ParseStatus::need_more;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | data[pos + static_cast<std::size_t>(i)];
    pos += 8;
    if (len >> 63) return ParseStatus::length_overflow;
  }
  if (out.masked) {
    if (size < pos + 4) return ParseStatus::need_more;
    std::copy_n(data + pos, 4, out.mask.begin());
    pos += 4;
  }
  out.payload_length = len;
  out.header_length = static_cast<std::uint8_t>(pos);
  return ParseStatus::complete;
}

std::size_t write_frame_header(const FrameHeader& h, std::uint8_t* out) {
  out[0] = static_cast<std::uint8_t>((h.fin ? 0x80 : 0) | (h.rsv1 ? 0x40 : 0) |
                                     (h.rsv2 ? 0x20 : 0) | (h.rsv3 ? 0x10 : 0) |
                                     (h.opcode & 0x0F));
  const std::uint8_t mask_bit = h.masked ? 0x80 : 0;
  std::size_t pos = 2;
  if (h.payload_length < 126) {
    out[1] = static_cast<std::uint8_t>(mask_bit | h.payload_length);
  } else if (h.payload_length <= 0xFFFF) {
    out[1] = mask_bit | 126;
    out[2] = static_cast<std::uint8_t>(h.payload_length >> 8);
    out[3] = static_cast<std::uint8_t>(h.payload_length);
    pos = 4;
  } else {
    out[1] = mask_bit | 127;
    for (int i = 0; i < 8; ++i)
      out[2 + i] = static_cast<std::uint8_t>(h.payload_length >> (56 - 8 * i));
    pos = 10;
  }
  if (h.masked) {
    std::copy(h.mask.begin(), h.mask.end(), out + pos);
    pos += 4;
  }
  return pos;
}

std::string encode_control_frame(std::uint8_t op, std::string_view payload,
                                 std::optional<std::array<std::uint8_t, 4>> mask) {
  payload = payload.substr(0, 125);
  FrameHeader h;
  h.opcode = op;
  h.payload_length = payload.size();
  h.masked = mask.has_value();
  if (mask) h.mask = *mask;
  std::uint8_t header[max_header_size];
  std::string out(reinterpret_cast<const char*>(header), write_frame_header(h, header));
  std::size_t start = out.size();
  out += payload;
  if (mask) {
    for (std::size_t i = 0; i < payload.size(); ++i)
      out[start + i] = static_cast<char>(out[start + i] ^ static_cast<char>((*mask)[i % 4]));
  }
  return out;
}

std::string encode_close_frame(std::uint16_t code, std::string_view reason,
                               std::optional<std::array<std::uint8_t, 4>> mask) {
  std::string payload;
  payload += static_cast<char>(code >> 8);
  payload += static_cast<char>(code & 0xFF);
  payload += reason.substr(0, 123);
  return encode_control_frame(opcode::close, payload, mask);
}

bool is_utf8(const std::uint8_t* data, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    const std::uint8_t c = data[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The second byte's range is what rules out overlongs (E0, F0), surrogates (ED) and > U+10FFFF (F4).
    std::size_t length = 0;
    std::uint8_t low = 0x80, high = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return false;
    }
    if (size - i < length || data[i + 1] < low || data[i + 1] > high) return false;
    for (std::size_t k = 2; k < length; ++k)
      if ((data[i + k] & 0xC0) != 0x80) return false;
    i += length;
  }
  return true;
}

bool close_code_may_be_sent(std::uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
         (code >= 3000 && code <= 4999);
}

std::uint16_t close_code_for(Violation v) {
  switch (v) {
    case Violation::message_too_big: return close_code::message_too_big;
    case Violation::bad_close_reason: return close_code::invalid_payload;
    case Violation::rate_limited: return close_code::policy_violation;
    default: return close_code::protocol_error;
  }
}

std::string_view to_string(Violation v) {
  switch (v) {
    case Violation::none: return "none";
    case Violation::unmasked_client_frame: return "unmasked client frame";
    case Violation::masked_server_frame: return "masked server frame";
    case Violation::reserved_bits: return "reserved bits set";
    case Violation::reserved_opcode: return "reserved opcode";
    case Violation::control_too_long: return "control frame too long";
    case Violation::control_fragmented: return "fragmented control frame";
    case Violation::unexpected_continuation: return "continuation without a message";
    case Violation::expected_continuation: return "new message inside a fragmented one";
    case Violation::length_overflow: return "frame length overflow";
    case Violation::bad_close_code: return "close code not allowed";
    case Violation::bad_close_reason: return "close reason not UTF-8";
    case Violation::message_too_big: return "message too big";
    case Violation::rate_limited: return "rate limit exceeded";
  }
  return "unknown";
}

Violation FrameScanner::check(const FrameHeader& h) const {
  if (h.rsv2 || h.rsv3) return Violation::reserved_bits;
  const std::uint8_t op = h.opcode;
  const bool known = op <= opcode::binary || (op >= opcode::close && op <= opcode::pong);
  if (!known) return Violation::reserved_opcode;
  if (rules_.from_client && !h.masked) return Violation::unmasked_client_frame;
  if (!rules_.from_client && h.masked) return Violation::masked_server_frame;
  if (h.is_control()) {
    if (h.rsv1) return Violation::reserved_bits;
    if (!h.fin) return Violation::control_fragmented;
    if (h.payload_length > 125) return Violation::control_too_long;
    return Violation::none;
  }
  if (op == opcode::continuation) {
    if (!in_message_) return Violation::unexpected_continuation;
    // RFC 7692 6: RSV1 marks a compressed message on its first frame only.
    if (h.rsv1) return Violation::reserved_bits;
    if (h.payload_length > rules_.max_message - message_bytes_) return Violation::message_too_big;
    return Violation::none;
  }
  if (in_message_) return Violation::expected_continuation;
  if (h.rsv1 && !rules_.deflate) return Violation::reserved_bits;
  if (h.payload_length > rules_.max_message) return Violation::message_too_big;
  return Violation::none;
}

// The whole close payload is here: its code must be one an endpoint may send, its reason UTF-8.
Violation FrameScanner::check_close(const FrameHeader& h, const std::uint8_t* payload) {
  const auto size = static_cast<std::size_t>(h.payload_length);  // <= 125, checked before
  std::array<std::uint8_t, 125> plain;
  for (std::size_t i = 0; i < size; ++i) plain[i] = payload[i] ^ (h.masked ? h.mask[i % 4] : 0);
  std::uint16_t code = 1005;
  if (size == 1) return Violation::bad_close_code;
  if (size >= 2) {
    code = static_cast<std::uint16_t>(plain[0] << 8 | plain[1]);
    if (!close_code_may_be_sent(code)) return Violation::bad_close_code;
    if (!is_utf8(plain.data() + 2, size - 2)) return Violation::bad_close_reason;
  }
  if (!close_seen_) {
    close_seen_ = true;
    close_code_ = code;
  }
  return Violation::none;
}

ScanResult FrameScanner::scan(const std::uint8_t* data, std::size_t size, bool stop_at_boundary) {
  if (close_seen_) {
    // RFC 6455 1.4, 7.1.1: after the close frame the sender sends nothing, and what comes anyway is
    // discarded; judging it would make the answer depend on how the bytes were segmented.
    after_close_ += size;
    return {0, 0, Violation::none, false, false, size};
  }
  if (discard_remaining_ > 0) {
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(discard_remaining_, size));
    discard_remaining_ -= take;
    return {0, 0, Violation::none, false, false, take};
  }
  std::size_t pos = 0;
  while (pos < size || (stop_at_boundary && remaining_ == 0)) {
    if (remaining_ > 0) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size - pos));
      remaining_ -= take;
      pos += take;
      continue;
    }
    if (stop_at_boundary) return {pos, 0, Violation::none, true};
    FrameHeader h;
    switch (parse_frame_header(data + pos, size - pos, h)) {
      case ParseStatus::need_more: return {pos, size - pos, Violation::none, false};
      case ParseStatus::length_overflow: return {pos, 0, Violation::length_overflow, false};
      case ParseStatus::complete: break;
    }
    if (auto v = check(h); v != Violation::none) return {pos, 0, v, false};
    if (h.opcode == opcode::close) {
      if (size - pos < h.header_length + h.payload_length) return {pos, size - pos, Violation::none, false};
      if (auto v = check_close(h, data + pos + h.header_length); v != Violation::none)
        return {pos, 0, v, false};
      pos += static_cast<std::size_t>(h.header_length + h.payload_length);
      after_close_ += size - pos;
      return {pos, 0, Violation::none, false, false, size - pos};
    }
    if (gate_ && !h.is_control()) {
      switch (gate_(gate_context_, h, h.opcode != opcode::continuation)) {
        case FrameVerdict::pass: break;
        case FrameVerdict::hold: return {pos, 0, Violation::none, false, true};
        case FrameVerdict::refuse: return {pos, 0, Violation::rate_limited, false};
        case FrameVerdict::drop: {
          const std::uint64_t frame = h.header_length + h.payload_length;
          const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(frame, size - pos));
          discard_remaining_ = frame - take;
          ++dropped_;
          return {pos, 0, Violation::none, false, false, take};
        }
      }
    }
    if (!h.is_control()) {
      message_bytes_ = (h.opcode == opcode::continuation ? message_bytes_ : 0) + h.payload_length;
      in_message_ = !h.fin;
      ++data_frames_;
      if (h.fin) {
        ++messages_;
        if (observer_) observer_(observer_context_, message_bytes_);
      }
    } else if (h.opcode == opcode::pong) {
      ++pongs_;
    }
    pos += h.header_length;
    remaining_ = h.payload_length;
  }
  return {pos, 0, Violation::none, false};
}

ScannerState FrameScanner::state() const {
  return {message_bytes_, in_message_, messages_, data_frames_, dropped_, pongs_};
}

void FrameScanner::restore(const ScannerState& s) {
  message_bytes_ = s.message_bytes;
  in_message_ = s.in_message;
  messages_ = s.messages;
  data_frames_ = s.data_frames;
  dropped_ = s.dropped;
  pongs_ = s.pongs;
}

}  // namespace wsgate::ws
