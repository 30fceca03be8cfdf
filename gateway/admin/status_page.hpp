// The admin listener's status page: one self-contained HTML file (gateway/status_page.html, no
// CDN, no build step), compiled into the binary and served at / by AdminApi.
#pragma once

#include <string_view>

namespace wsgate::gateway {

std::string_view status_page_html();

}  // namespace wsgate::gateway
