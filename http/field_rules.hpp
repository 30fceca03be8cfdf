// The grammar rules a field crosses the gateway by: what may stand in a value the gateway writes
// (RFC 9110 5.5), what a Host may be (RFC 9112 3.2), and which names a backend reads as the same.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace wsgate::http {

// Beast keeps a field's name and value lengths in 16 bits and throws on a longer one, which would
// end the process. Every field it parses lies whole in the buffer it parses from, a chunked body's
// trailer fields too (its header_limit does not bound them): a buffer never holding more than
// this can never meet such a field.
inline constexpr std::size_t kMaxParseBuffer = 65535;

// RFC 9110 5.5: field-vchar (VCHAR, obs-text), SP and HTAB inside; no CR, LF, NUL or other
// control character anywhere, no whitespace at either end (a recipient would trim it).
bool is_field_value(std::string_view value);

// RFC 9112 3.2 / RFC 3986 3.2.2: uri-host [":" port], where uri-host is an IP-literal in brackets,
// or a reg-name of unreserved, sub-delims and %-escapes. An empty Host is valid (a target without
// authority); "x/../y", "a@x" and "x:y:z" are not.
bool is_host(std::string_view host);

// RFC 9110 5.6.2 token (1*tchar): what a field name or a cookie name (RFC 6265 4.1.1) may be.
bool is_token(std::string_view text);

// A field name as a backend that folds case and reads '_' as '-' (CGI and WSGI servers) sees it:
// "X_User_Id" and "x-user-id" are the same field to them, so they must be to the gateway.
std::string folded_name(std::string_view name);
// The same comparison without making the folded copies (the forwarded request makes dozens).
bool same_folded_name(std::string_view a, std::string_view b);
// Whether `name` folds to something that starts with `folded_prefix` (given already folded).
bool folded_starts_with(std::string_view name, std::string_view folded_prefix);

}  // namespace wsgate::http
