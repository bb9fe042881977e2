#pragma once
// Percent-decoding for paths and query strings (RFC 3986 §2.1).

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace switchboard::http {

// nullopt on a malformed escape or a decoded NUL. With `plus_is_space` (query
// strings, application/x-www-form-urlencoded) '+' decodes to ' '.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

// The query of a request target, without the '?' (empty when there is none).
std::string_view query_of(std::string_view target) noexcept;

// The decoded pairs of a query string ("a=1&b=2", no '?'), in order.
std::vector<std::pair<std::string, std::string>> query_params(std::string_view query);
// The decoded value of the first `name` in a query string.
std::optional<std::string> query_param(std::string_view query, std::string_view name);

// `target` for a log line: the path as sent, and of the query only the names, each
// value replaced by "*" (a query may carry a token) but for the Engine.IO parameters
// EIO, transport and sid. "/socket.io/?EIO=4&token=eyJ..." gives
// "/socket.io/?EIO=4&token=*".
std::string redacted_target(std::string_view target);

}  // namespace switchboard::http
