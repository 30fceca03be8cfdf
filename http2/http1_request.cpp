#include "http2/http1_request.hpp"

#include <boost/beast/http/field.hpp>

namespace wsgate::http2 {

namespace bh = boost::beast::http;

http::RequestHeader to_http1(const RequestHead& head, std::string_view websocket_key) {
  http::RequestHeader out;
  out.version(11);
  out.method_string(head.websocket() ? std::string_view("GET") : std::string_view(head.method));
  out.target(head.path);
  out.set(bh::field::host, authority_of(head));
  std::string cookies;
  for (const auto& [name, value] : head.fields) {
    // :authority's copy is set above; the length is the body's own (prepare_payload), whatever the
    // client claimed.
    if (name == "host" || name == "content-length" || name == "transfer-encoding") continue;
    if (name == "cookie") {
      cookies += (cookies.empty() ? "" : "; ") + value;
      continue;
    }
    out.insert(name, value);
  }
  if (!cookies.empty()) out.set(bh::field::cookie, cookies);
  if (head.websocket()) {
    out.set(bh::field::connection, "Upgrade");
    out.set(bh::field::upgrade, "websocket");
    out.set(bh::field::sec_websocket_key, websocket_key);
  } else if (!head.ends_stream) {
    out.set(bh::field::transfer_encoding, "chunked");
  } else if (head.method == "POST" || head.method == "PUT" || head.method == "PATCH") {
    out.set(bh::field::content_length, "0");
  }
  return out;
}

}  // namespace wsgate::http2

namespace wsgate::http2 {

std::string chunk(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string size;
  for (std::size_t n = data.size(); n > 0; n /= 16) size.insert(size.begin(), kHex[n % 16]);
  if (size.empty()) return "0\r\n\r\n";
  std::string out;
  out.reserve(size.size() + data.size() + 4);
  out.append(size).append("\r\n").append(data).append("\r\n");
  return out;
}

}  // namespace wsgate::http2
