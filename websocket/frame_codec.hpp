// RFC 6455 frame headers: parse, write, and a scanner that follows frame boundaries through a byte
// stream so the relay can count, cap and validate messages while payload bytes pass through untouched.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgate::ws {

namespace opcode {
inline constexpr std::uint8_t continuation = 0x0;
inline constexpr std::uint8_t text = 0x1;
inline constexpr std::uint8_t binary = 0x2;
inline constexpr std::uint8_t close = 0x8;
inline constexpr std::uint8_t ping = 0x9;
inline constexpr std::uint8_t pong = 0xA;
}  // namespace opcode

namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t service_restart = 1012;
inline constexpr std::uint16_t try_again_later = 1013;
inline constexpr std::uint16_t bad_gateway = 1014;
}  // namespace close_code

inline constexpr std::size_t max_header_size = 14;  // 2 + 8 (64-bit length) + 4 (mask key)
// A close frame is checked whole, so the scanner may hold one this long (RFC 6455 5.5: 125 bytes).
inline constexpr std::size_t max_held_size = max_header_size + 125;

struct FrameHeader {
  bool fin = true;
  bool rsv1 = false, rsv2 = false, rsv3 = false;
  std::uint8_t opcode = opcode::text;
  bool masked = false;
  std::array<std::uint8_t, 4> mask{};
  std::uint64_t payload_length = 0;
  std::uint8_t header_length = 0;  // set by parse_frame_header: bytes the header took

  bool is_control() const { return (opcode & 0x8) != 0; }
};

enum class ParseStatus {
  complete,
  need_more,
  length_overflow,  // RFC 6455 5.2: the most significant bit of a 64-bit length must be 0
};

ParseStatus parse_frame_header(const std::uint8_t* data, std::size_t size, FrameHeader& out);

// Writes the smallest encoding of `h` (header_length is ignored); returns bytes written (2..14).
std::size_t write_frame_header(const FrameHeader& h, std::uint8_t* out);

// A whole control frame. With a mask key (gateway to backend) the payload is masked, as RFC 6455
// 5.3 requires of every frame a client sends.
std::string encode_control_frame(std::uint8_t op, std::string_view payload,
                                 std::optional<std::array<std::uint8_t, 4>> mask = std::nullopt);
// Close payload: 2-byte code then the reason, cut to fit the 125-byte control frame limit.
std::string encode_close_frame(std::uint16_t code, std::string_view reason,
                               std::optional<std::array<std::uint8_t, 4>> mask = std::nullopt);

// Well-formed UTF-8 (Unicode table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF).
bool is_utf8(const std::uint8_t* data, std::size_t size);

// RFC 6455 7.4 and the IANA registry: codes an endpoint may put in a close frame. 1005, 1006 and
// 1015 only ever report what happened locally, and 1004 and 1016-2999 are reserved.
bool close_code_may_be_sent(std::uint16_t code);

enum class Violation : std::uint8_t {
  none,
  unmasked_client_frame,    // RFC 6455 5.1: a client must mask every frame
  masked_server_frame,      // RFC 6455 5.1: a server must not mask
  reserved_bits,            // RSV1-3 without an extension that defines them
  reserved_opcode,          // 0x3-0x7, 0xB-0xF
  control_too_long,         // RFC 6455 5.5: control payload <= 125 bytes
  control_fragmented,       // RFC 6455 5.5: control frames must not be fragmented
  unexpected_continuation,  // continuation frame with no message started
  expected_continuation,    // new data frame while a fragmented message is open
  length_overflow,          // 64-bit length with the top bit set
  bad_close_code,           // RFC 6455 7.4: a 1-byte close payload, or a code no endpoint may send
  bad_close_reason,         // RFC 6455 5.5.1: the close reason is not UTF-8
  message_too_big,          // over the route's max_message
  rate_limited,             // the frame gate refused the frame: the session ends
};

std::uint16_t close_code_for(Violation v);
std::string_view to_string(Violation v);

struct ScanRules {
  bool from_client = true;             // frames must be masked (client) or unmasked (server)
  bool deflate = false;                // permessage-deflate negotiated: RSV1 allowed on data starts
  std::uint64_t max_message = UINT64_MAX;  // wire bytes of one message, fragments summed
};

// What the owner of a scanner decides for each data frame before it counts (rate limits).
enum class FrameVerdict : std::uint8_t {
  pass,
  hold,    // not now: the scan stops before this frame; the caller keeps the rest and rescans later
  drop,    // discard the whole frame, header and payload, and go on
  refuse,  // Violation::rate_limited
};
using FrameGate = FrameVerdict (*)(void* context, const FrameHeader& h, bool starts_message);
// Told of every data message whose last frame header was passed: its payload size, fragments summed.
using MessageObserver = void (*)(void* context, std::uint64_t payload_size);

struct ScanResult {
  std::size_t forward = 0;  // bytes from the start of the input that may be sent on now
  std::size_t held = 0;     // an incomplete frame header, or a close frame not yet whole, at the
                            // end (at most max_held_size): keep and rescan with more bytes
  Violation violation = Violation::none;  // set: the frame starting at `forward` broke a rule
  bool stopped = false;     // stop_at_boundary reached a frame boundary at `forward`
  bool held_back = false;   // the gate held the frame at `forward`: keep everything from there
  std::size_t discard = 0;  // bytes after `forward` to throw away (a dropped frame); scan the rest next
};

// What a scanner knows at a frame boundary, beyond its rules: enough for another scanner to go on
// with the same stream (a session handed to a new process between frames).
struct ScannerState {
  std::uint64_t message_bytes = 0;
  bool in_message = false;
  std::uint64_t messages = 0;
  std::uint64_t data_frames = 0;
  std::uint64_t dropped = 0;
  std::uint64_t pongs = 0;
};

// Follows frame boundaries across reads. It looks at no payload but close frames', so masked
// payloads are forwarded as they are and compression passes through; a close frame is checked
// (code and UTF-8 reason) before any of it goes on, because once sent it cannot be taken back.
// The close frame is the stream's last: everything behind it is `discard`, never judged.
class FrameScanner {
 public:
  explicit FrameScanner(ScanRules rules) : rules_(rules) {}
  void set_gate(FrameGate gate, void* context) {
    gate_ = gate;
    gate_context_ = context;
  }
  void set_observer(MessageObserver observer, void* context) {
    observer_ = observer;
    observer_context_ = context;
  }

  // stop_at_boundary: return at the first frame boundary (possibly at 0), so that the caller can
  // put a frame of its own between two frames, never inside one.
  ScanResult scan(const std::uint8_t* data, std::size_t size, bool stop_at_boundary = false);

  bool at_boundary() const { return remaining_ == 0 && discard_remaining_ == 0; }
  bool in_message() const { return in_message_; }
  std::uint64_t messages() const { return messages_; }
  std::uint64_t data_frames() const { return data_frames_; }
  std::uint64_t dropped() const { return dropped_; }  // frames the gate dropped
  std::uint64_t pongs() const { return pongs_; }
  bool close_seen() const { return close_seen_; }
  // The code of the first close frame: 1005 when it carries none, 0 before one is seen.
  std::uint16_t close_code() const { return close_code_; }
  // Bytes that came after the close frame: discarded unjudged (RFC 6455 1.4, 7.1.1), whatever they
  // are and however the reads split them.
  std::uint64_t discarded_after_close() const { return after_close_; }

  // Only at a boundary, before any close frame: in the middle of a frame the state would need the
  // frame's remaining length too, and a closed stream is not handed anywhere.
  ScannerState state() const;
  void restore(const ScannerState& s);

 private:
  Violation check(const FrameHeader& h) const;
  Violation check_close(const FrameHeader& h, const std::uint8_t* payload);

  ScanRules rules_;
  FrameGate gate_ = nullptr;
  void* gate_context_ = nullptr;
  MessageObserver observer_ = nullptr;
  void* observer_context_ = nullptr;
  std::uint64_t remaining_ = 0;      // payload bytes of the current frame not yet passed
  std::uint64_t discard_remaining_ = 0;  // bytes of a dropped frame still to come
  std::uint64_t message_bytes_ = 0;  // payload so far of the open data message
  bool in_message_ = false;          // a data message has started and its FIN frame not yet seen
  bool close_seen_ = false;
  std::uint16_t close_code_ = 0;
  std::uint64_t after_close_ = 0;
  std::uint64_t messages_ = 0;
  std::uint64_t data_frames_ = 0;
  std::uint64_t dropped_ = 0;
  std::uint64_t pongs_ = 0;
};

}  // namespace wsgate::ws
