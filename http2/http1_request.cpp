#include "http2/http1_request.hpp"

#include <boost/beast/http/field.hpp>

namespace wsgate::http2 {

namespace bh = boost::beast::http;

bh::request<bh::string_body> to_http1(const RequestHead& head, std::string_view websocket_key, std::string body) {
  bh::request<bh::string_body> out;
  out.version(11);
  out.method_string(head.websocket() ? std::string_view("GET") : std::string_view(head.method));
  out.target(head.path);
  out.set(bh::field::host, authority_of(head));
  std::string cookies;
  for (const auto& [name, value] : head.fields) {
    // :authority's copy is set above; the length is the body's own (prepare_payload), whatever the
    // client claimed.
    if (name == "host" || name == "content-length") continue;
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
  } else {
    out.body() = std::move(body);
    out.prepare_payload();
  }
  return out;
}

}  // namespace wsgate::http2
