#include "app/config.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include "app/bcrypt.hpp"
#include "app/jwt_verifier.hpp"
#include "app/size_option.hpp"

namespace switchboard::app {

namespace {

using Kind = SettingKey::Kind;
using Error = std::optional<std::string>;

// TOML basic string (TOML 1.0 §String): quotes, backslashes and control characters escaped.
std::string toml_quote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + '"';
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

template <typename T>
Error set_integer(T& target, std::string_view text, std::uint64_t min, std::uint64_t max, std::string_view what) {
  auto value = parse_unsigned(text);
  if (!value || *value < min || *value > max) {
    return std::string(what) + ", an integer from " + std::to_string(min) + " to " + std::to_string(max);
  }
  target = static_cast<T>(*value);
  return std::nullopt;
}

Error set_bool(bool& target, std::string_view text) {
  if (text == "true") target = true;
  else if (text == "false") target = false;
  else return "true or false";
  return std::nullopt;
}

Error set_size(std::size_t& target, std::string_view text, std::size_t min) {
  auto value = parse_size(text);
  if (!value || *value < min) {
    return "a size in bytes of at least " + std::to_string(min) +
           ", or a number with K, M or G (1024-based), e.g. \"16M\"";
  }
  target = *value;
  return std::nullopt;
}

std::string format_size(std::size_t bytes) {
  constexpr std::pair<std::size_t, char> units[] = {{std::size_t{1} << 30, 'G'}, {1 << 20, 'M'}, {1 << 10, 'K'}};
  for (auto [unit, suffix] : units) {
    if (bytes != 0 && bytes % unit == 0) return toml_quote(std::to_string(bytes / unit) + suffix);
  }
  return std::to_string(bytes);
}

std::string format_number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  std::string text = buf;
  // A TOML float needs a '.' or an exponent; an integral rate reads better as "100.0".
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

// Per-event rate limits (rate-limit-event): the same checks for a flag's "5/10" and a
// file's { per-second = 5, burst = 10 }.
constexpr std::size_t max_event_name = 256;
constexpr std::string_view event_limit_syntax =
    "EVENT=RATE/BURST, e.g. send-message=5/10: EVENT a name of at most 256 bytes, RATE events per second "
    "above 0 and at most 1000000, BURST an integer from 1 to 1000000";
constexpr std::string_view event_limit_table_syntax =
    "{ per-second = RATE, burst = BURST }, e.g. { per-second = 5, burst = 10 }: RATE events per second above 0 "
    "and at most 1000000, BURST an integer from 1 to 1000000";

Error parse_event_rate(std::string_view text, double& rate) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v <= 0 ||
      v > 1e6) {
    return "a rate above 0 and at most 1000000";
  }
  rate = v;
  return std::nullopt;
}

Error parse_event_burst(std::string_view text, std::uint32_t& burst) {
  return set_integer(burst, text, 1, 1'000'000, "a burst");
}

std::string format_event_limits(const std::map<std::string, RateLimit, std::less<>>& limits) {
  std::string out = "{";
  for (const auto& [event, limit] : limits) {
    if (out.size() > 1) out += ",";
    out += " " + toml_quote(event) + " = { per-second = " + format_number(limit.per_second) +
           ", burst = " + std::to_string(limit.burst) + " }";
  }
  return out + (limits.empty() ? "}" : " }");
}

std::vector<SettingKey> make_keys() {
  std::vector<SettingKey> keys;
  auto add = [&keys](SettingKey key) { keys.push_back(key); };

  add({"host", Kind::text, "ADDRESS", "Address to listen on (0.0.0.0: every IPv4 interface; :: for IPv6 too)", {},
       false,
       [](Settings& s, std::string_view t) -> Error {
         if (t.empty()) return "an address such as 0.0.0.0, 127.0.0.1 or ::";
         s.host = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.host); }});
  add({"port", Kind::integer, "PORT", "TCP port to listen on (0 picks a free one and logs it)", {}, false,
       [](Settings& s, std::string_view t) { return set_integer(s.port, t, 0, 65535, "a port"); },
       [](const Settings& s) { return std::to_string(s.port); }});
  add({"threads", Kind::integer, "N", "Worker threads, each with its own event loop and connections (0: one per core)",
       {}, false, [](Settings& s, std::string_view t) { return set_integer(s.threads, t, 0, 1024, "a thread count"); },
       [](const Settings& s) { return std::to_string(s.threads); }});
  add({"max-connections", Kind::integer, "N",
       "Refuse connections past this many at once (0: no limit; the OS file limit applies)", {}, false,
       [](Settings& s, std::string_view t) {
         return set_integer(s.max_connections, t, 0, 100'000'000, "a connection count");
       },
       [](const Settings& s) { return std::to_string(s.max_connections); }});
  add({"log-level", Kind::text, "LEVEL", "trace, debug, info, warn, error or off", {}, false,
       [](Settings& s, std::string_view t) -> Error {
         static const std::set<std::string_view> levels = {"trace", "debug", "info", "warn", "error", "off"};
         if (!levels.contains(t)) return "one of trace, debug, info, warn, error, off";
         s.log_level = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.log_level); }});
  add({"log-format", Kind::text, "FORMAT",
       "text (for people; local time) or json (one object per line: time in UTC, level, logger,\n"
       "component, message, and the ids conn, req, sid, socket, nsp when the line has them)",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         if (t != "text" && t != "json") return "text or json";
         s.log_format = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.log_format); }});
  add({"static", Kind::text, "DIR",
       "Serve the files under DIR at / (GET and HEAD; ETag/304; no path outside DIR). Default: the\n"
       "demo chat, the repository's web/ folder, looked for above the executable and in the source\n"
       "tree it was built from (not found: nothing is served at /, and the log says where it\n"
       "looked). \"\" serves no files.",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         std::error_code ec;
         if (!t.empty() && !std::filesystem::is_directory(std::string(t), ec)) return "an existing directory";
         s.static_dir = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.static_dir); }});
  add({"client-dist", Kind::text, "DIR",
       "The official browser client to serve at /socket.io/socket.io.js (.min.js, .js.map, ... as\n"
       "Node's socket.io does): the socket.io-client npm package's dist/ folder. Default: the\n"
       "repository's node_modules/socket.io-client/dist, which `npm ci` at the repository root\n"
       "installs (not found: those paths answer 404). \"\" serves no client.",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         std::error_code ec;
         if (!t.empty() && !std::filesystem::is_regular_file(std::filesystem::path(t) / "socket.io.js", ec)) {
           return "a directory holding socket.io.js (e.g. node_modules/socket.io-client/dist)";
         }
         s.client_dist = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.client_dist); }});
  add({"protocol-test-mode", Kind::boolean, "",
       "Serve the reference servers of the official protocol test suites instead of the chat: Engine.IO at\n"
       "/engine.io/ echoing every message, and Socket.IO at /socket.io/ (namespaces / and /custom, events\n"
       "\"message\" and \"message-with-ack\" echoed) — pingInterval 300 ms, pingTimeout 200 ms,\n"
       "maxPayload 1000000, connectTimeout 1000 ms",
       {}, false, [](Settings& s, std::string_view t) { return set_bool(s.protocol_test_mode, t); },
       [](const Settings& s) -> std::string { return s.protocol_test_mode ? "true" : "false"; }});
  add({"ping-interval", Kind::integer, "MS",
       "Engine.IO heartbeat: milliseconds between the server's pings (default 25000; 300 in test mode)", {}, false,
       [](Settings& s, std::string_view t) -> Error {
         unsigned v = 0;
         if (auto e = set_integer(v, t, 1, 3'600'000, "milliseconds")) return e;
         s.ping_interval_ms = v;
         return std::nullopt;
       },
       [](const Settings& s) {
         return std::to_string(s.ping_interval_ms.value_or(s.protocol_test_mode ? 300 : 25'000));
       }});
  add({"ping-timeout", Kind::integer, "MS",
       "Engine.IO heartbeat: milliseconds a client has to answer a ping (default 20000; 200 in test mode)", {}, false,
       [](Settings& s, std::string_view t) -> Error {
         unsigned v = 0;
         if (auto e = set_integer(v, t, 1, 3'600'000, "milliseconds")) return e;
         s.ping_timeout_ms = v;
         return std::nullopt;
       },
       [](const Settings& s) {
         return std::to_string(s.ping_timeout_ms.value_or(s.protocol_test_mode ? 200 : 20'000));
       }});

  add({"ws-echo", Kind::text, "PATH",
       "Mount a native WebSocket echo endpoint at exactly PATH (e.g. /echo): text comes back as\n"
       "text, binary as binary. For conformance checks and benchmarks.",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         if (!t.empty() && t.front() != '/') return "a path starting with '/', e.g. /echo";
         s.ws_echo = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.ws_echo); }});
  add({"ws-deflate", Kind::boolean, "", "Offer permessage-deflate (RFC 7692) on the ws-echo endpoint", {}, false,
       [](Settings& s, std::string_view t) { return set_bool(s.ws_deflate, t); },
       [](const Settings& s) -> std::string { return s.ws_deflate ? "true" : "false"; }});
  add({"ws-max-message", Kind::size, "SIZE",
       "Largest message the ws-echo endpoint accepts, in bytes (suffixes K, M, G: 1024-based);\n"
       "larger ones close the connection with 1009",
       {}, false, [](Settings& s, std::string_view t) { return set_size(s.ws_max_message, t, 1); },
       [](const Settings& s) { return format_size(s.ws_max_message); }});
  add({"ws-idle-timeout", Kind::integer, "SECONDS",
       "Seconds of silence before a WebSocket peer is dropped; it is pinged at half of it", {}, false,
       [](Settings& s, std::string_view t) { return set_integer(s.ws_idle_timeout_s, t, 1, 86400, "seconds"); },
       [](const Settings& s) { return std::to_string(s.ws_idle_timeout_s); }});

  add({"jwt-secret", Kind::text, "SECRET",
       "Turns auth on: every Socket.IO connection must carry auth: {token}, a JWT signed with this\n"
       "HMAC secret (HS256 unless jwt-algorithm says otherwise). Prefer the environment variable.",
       "JWT_SECRET", true,
       [](Settings& s, std::string_view t) -> Error {
         s.jwt_secret = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.jwt_secret); }});
  add({"jwt-public-key", Kind::text, "FILE",
       "Turns auth on with RS256/ES256 tokens: the PEM public key (\"BEGIN PUBLIC KEY\") that verifies them", {},
       false,
       [](Settings& s, std::string_view t) -> Error {
         s.jwt_public_key = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.jwt_public_key); }});
  add({"jwt-algorithm", Kind::text, "ALG",
       "The one algorithm tokens may use (HS256 HS384 HS512 RS256 RS384 RS512 ES256 ES384 ES512);\n"
       "default: HS256 with a secret, the key's own with a public key. Tokens naming another are refused.",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         if (!t.empty() && !jwt_algorithm_from_name(t)) {
           return "one of HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512";
         }
         s.jwt_algorithm = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.jwt_algorithm); }});
  add({"jwt-leeway", Kind::integer, "SECONDS",
       "Clock difference tolerated when checking a token's exp and nbf", {}, false,
       [](Settings& s, std::string_view t) { return set_integer(s.jwt_leeway_s, t, 0, 3600, "seconds"); },
       [](const Settings& s) { return std::to_string(s.jwt_leeway_s); }});

  add({"rate-limit-burst", Kind::integer, "N",
       "Per-socket token bucket: events a socket may send at once (0: no limit). Past it the\n"
       "events are dropped and the socket gets \"rate-limited\"",
       {}, false,
       [](Settings& s, std::string_view t) {
         return set_integer(s.rate_limit_burst, t, 0, 1'000'000, "an event count");
       },
       [](const Settings& s) { return std::to_string(s.rate_limit_burst); }});
  add({"rate-limit-per-second", Kind::number, "RATE", "Per-socket token bucket: events refilled per second", {},
       false,
       [](Settings& s, std::string_view t) -> Error {
         double v = 0;
         auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
         if (t.empty() || ec != std::errc() || end != t.data() + t.size() || !std::isfinite(v) || v <= 0 ||
             v > 1e6) {
           return "a number of events per second above 0 and at most 1000000";
         }
         s.rate_limit_per_second = v;
         return std::nullopt;
       },
       [](const Settings& s) { return format_number(s.rate_limit_per_second); }});
  add({"rate-limit-event", Kind::event_limits, "EVENT=RATE/BURST",
       "An event with a token bucket of its own, besides the socket-wide one: it passes only\n"
       "when both have a token. Repeatable; e.g. send-message=5/10 (5 per second, bursts of 10).\n"
       "In the file: [rate-limit.events] send-message = { per-second = 5, burst = 10 }",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         auto equals = t.rfind('=');
         if (equals == std::string_view::npos || equals == 0) return std::string(event_limit_syntax);
         std::string_view event = t.substr(0, equals), value = t.substr(equals + 1);
         if (event.size() > max_event_name) return std::string(event_limit_syntax);
         auto slash = value.find('/');
         if (slash == std::string_view::npos) return std::string(event_limit_syntax);
         RateLimit limit;
         if (parse_event_rate(value.substr(0, slash), limit.per_second) ||
             parse_event_burst(value.substr(slash + 1), limit.burst)) {
           return std::string(event_limit_syntax);
         }
         s.rate_limit_events[std::string(event)] = limit;
         return std::nullopt;
       },
       [](const Settings& s) { return format_event_limits(s.rate_limit_events); }});

  add({"api-key", Kind::text, "KEY",
       "Requests to /api/ must carry \"Authorization: Bearer KEY\" (unset: the API is open).\n"
       "Prefer the environment variable.",
       "SWITCHBOARD_API_KEY", true,
       [](Settings& s, std::string_view t) -> Error {
         s.api_key = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.api_key); }});
  add({"api-max-body", Kind::size, "SIZE", "Largest request body the HTTP API accepts (413 past it)", {}, false,
       [](Settings& s, std::string_view t) { return set_size(s.api_max_body, t, 64); },
       [](const Settings& s) { return format_size(s.api_max_body); }});

  add({"metrics", Kind::text, "MODE",
       "GET /metrics, Prometheus text: open, api-key (needs \"Authorization: Bearer KEY\"\n"
       "with the api-key; open when no key is set) or off",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         if (t != "open" && t != "api-key" && t != "off") return "open, api-key or off";
         s.metrics = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.metrics); }});
  add({"dashboard", Kind::boolean, "",
       "Serve the live dashboard's feed: namespace /dashboard emits `stats` every second\n"
       "(auth.apiKey must carry the api-key when one is set)",
       {}, false, [](Settings& s, std::string_view t) { return set_bool(s.dashboard, t); },
       [](const Settings& s) -> std::string { return s.dashboard ? "true" : "false"; }});
  add({"sse-heartbeat", Kind::integer, "SECONDS",
       "Seconds between the heartbeat comments on /sse streams (keeps proxies from closing them)", {}, false,
       [](Settings& s, std::string_view t) { return set_integer(s.sse_heartbeat_s, t, 1, 3600, "seconds"); },
       [](const Settings& s) { return std::to_string(s.sse_heartbeat_s); }});
  add({"ws-publish", Kind::boolean, "",
       "Let clients of the native WebSocket feed at /ws publish into rooms ({\"publish\": R, ...})", {}, false,
       [](Settings& s, std::string_view t) { return set_bool(s.ws_publish, t); },
       [](const Settings& s) -> std::string { return s.ws_publish ? "true" : "false"; }});

  add({"admin-ui", Kind::boolean, "",
       "Serve @socket.io/admin-ui: namespace /admin for the UI (https://admin.socket.io, or its files at\n"
       "/admin/, see admin-ui-dist), showing every socket, room and event. Needs admin-ui-password-hash\n"
       "unless admin-ui-auth is false",
       {}, false, [](Settings& s, std::string_view t) { return set_bool(s.admin_ui, t); },
       [](const Settings& s) -> std::string { return s.admin_ui ? "true" : "false"; }});
  add({"admin-ui-auth", Kind::boolean, "",
       "The admin UI asks for a user name and password; false lets anyone who reaches the server in\n"
       "(say it only on a trusted network)",
       {}, false, [](Settings& s, std::string_view t) { return set_bool(s.admin_ui_auth, t); },
       [](const Settings& s) -> std::string { return s.admin_ui_auth ? "true" : "false"; }});
  add({"admin-ui-username", Kind::text, "NAME", "The admin UI's user name", {}, false,
       [](Settings& s, std::string_view t) -> Error {
         if (t.empty()) return "a non-empty user name";
         s.admin_ui_username = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.admin_ui_username); }});
  add({"admin-ui-password-hash", Kind::text, "BCRYPT",
       "The admin UI's password as a bcrypt hash ($2b$10$... or $2y$10$..., e.g. the output of\n"
       "`htpasswd -nbBC 10 \"\" PASSWORD | tr -d ':\\n'`); prefer the environment variable",
       "SWITCHBOARD_ADMIN_UI_PASSWORD_HASH", true,
       [](Settings& s, std::string_view t) -> Error {
         if (!t.empty() && !bcrypt_hash_valid(t)) {
           return "a bcrypt hash: $2a$, $2b$ or $2y$, a cost of 04 to 31, then 53 characters (60 in all)";
         }
         s.admin_ui_password_hash = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.admin_ui_password_hash); }});
  add({"admin-ui-readonly", Kind::boolean, "",
       "The admin UI may only look: no emit, join, leave or disconnect", {}, false,
       [](Settings& s, std::string_view t) { return set_bool(s.admin_ui_readonly, t); },
       [](const Settings& s) -> std::string { return s.admin_ui_readonly ? "true" : "false"; }});
  add({"admin-ui-mode", Kind::text, "MODE",
       "development (every socket, room and event, live) or production (server stats only, nothing\n"
       "per socket or per event)",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         if (t != "development" && t != "production") return "development or production";
         s.admin_ui_mode = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.admin_ui_mode); }});
  add({"admin-ui-server-id", Kind::text, "ID",
       "This server's name in the admin UI's server list (default: the host name); give each node its own",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         s.admin_ui_server_id = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.admin_ui_server_id); }});
  add({"admin-ui-origin", Kind::text, "ORIGIN",
       "An origin that serves the admin UI elsewhere, e.g. https://admin.socket.io: /socket.io/ answers it\n"
       "with CORS headers (credentials allowed) so that its HTTP long-polling works, as Node's `cors`\n"
       "option does. Unset: no CORS headers (the UI from another origin then needs \"WebSocket only\")",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         bool scheme = t.starts_with("http://") || t.starts_with("https://");
         if (!t.empty() && (!scheme || t.back() == '/' || t.find('/', t.find("//") + 2) != std::string_view::npos)) {
           return "an origin: scheme and host (and port), no path, e.g. https://admin.socket.io";
         }
         s.admin_ui_origin = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.admin_ui_origin); }});
  add({"admin-ui-dist", Kind::text, "DIR",
       "The admin UI's files to serve at /admin/ when admin-ui is on: the @socket.io/admin-ui npm\n"
       "package's ui/dist folder. Default: the repository's node_modules/@socket.io/admin-ui/ui/dist\n"
       "(`npm ci` installs it; not found: not served). \"\" serves none (use https://admin.socket.io)",
       {}, false,
       [](Settings& s, std::string_view t) -> Error {
         std::error_code ec;
         if (!t.empty() && !std::filesystem::is_regular_file(std::filesystem::path(t) / "index.html", ec)) {
           return "a directory holding index.html (e.g. node_modules/@socket.io/admin-ui/ui/dist)";
         }
         s.admin_ui_dist = t;
         return std::nullopt;
       },
       [](const Settings& s) { return toml_quote(s.admin_ui_dist); }});
  return keys;
}

std::string kind_name(Kind kind) {
  switch (kind) {
    case Kind::text: return "a string";
    case Kind::boolean: return "true or false";
    case Kind::integer: return "an integer";
    case Kind::size: return "a size (an integer of bytes, or a string such as \"16M\")";
    case Kind::number: return "a number";
    case Kind::event_limits: return "a string EVENT=RATE/BURST";
  }
  return "a value";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string unknown_key_message(std::string_view name) {
  std::string message = "unknown key \"" + std::string(name) + "\"";
  const SettingKey* nearest = nullptr;
  std::size_t best = 4;  // suggest only near misses
  std::string dashed(name);
  std::replace(dashed.begin(), dashed.end(), '_', '-');
  for (const auto& key : setting_keys()) {
    std::size_t d = edit_distance(dashed, key.name);
    if (d < best) {
      best = d;
      nearest = &key;
    }
  }
  if (nearest) message += " (did you mean \"" + std::string(nearest->name) + "\"?)";
  message += "; the keys are:";
  for (const auto& key : setting_keys()) message += " " + std::string(key.name);
  return message;
}

// A TOML value as the text a flag would carry, if its type suits the key.
std::optional<std::string> text_of(const toml::node& node, Kind kind) {
  switch (kind) {
    case Kind::text:
      if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
      return std::nullopt;
    case Kind::boolean:
      if (node.is_boolean()) return *node.value<bool>() ? "true" : "false";
      return std::nullopt;
    case Kind::integer:
      if (node.is_integer()) {
        auto v = *node.value<std::int64_t>();
        // Negative numbers are no key's value; "-1" fails the key's own check.
        return v < 0 ? std::string("-1") : std::to_string(v);
      }
      return std::nullopt;
    case Kind::size:
      if (node.is_integer()) {
        auto v = *node.value<std::int64_t>();
        return v < 0 ? std::string("-1") : std::to_string(v);
      }
      if (node.is_string()) return *node.value<std::string>();
      return std::nullopt;
    case Kind::number:
      if (node.is_integer()) return std::to_string(*node.value<std::int64_t>());
      if (node.is_floating_point()) return format_number(*node.value<double>());
      return std::nullopt;
    case Kind::event_limits:
      if (node.is_string()) return *node.value<std::string>();
      return std::nullopt;
  }
  return std::nullopt;
}

// The table rate-limit-events ([rate-limit.events]): EVENT = { per-second, burst } each.
Error apply_event_limits(Settings& settings, const toml::table& table, const std::string& written,
                         std::string_view source) {
  for (const auto& [event, node] : table) {
    std::string where = std::string(source) + ":" + std::to_string(node.source().begin.line) + ": ";
    std::string key = written + "." + toml_quote(event.str());
    const toml::table* entry = node.as_table();
    if (!entry || event.str().empty() || event.str().size() > max_event_name) {
      return where + "key " + key + ": allowed is " + std::string(event_limit_table_syntax);
    }
    RateLimit limit;
    const toml::node* rate = entry->get("per-second");
    const toml::node* burst = entry->get("burst");
    auto rate_text = rate ? text_of(*rate, Kind::number) : std::nullopt;
    auto burst_text = burst ? text_of(*burst, Kind::integer) : std::nullopt;
    if (entry->size() != 2 || !rate_text || !burst_text || parse_event_rate(*rate_text, limit.per_second) ||
        parse_event_burst(*burst_text, limit.burst)) {
      return where + "key " + key + ": allowed is " + std::string(event_limit_table_syntax);
    }
    settings.rate_limit_events[std::string(event.str())] = limit;
  }
  return std::nullopt;
}

Error apply_table(Settings& settings, const toml::table& table, const std::string& prefix, std::string_view source,
                  std::set<std::string>& seen) {
  for (const auto& [k, node] : table) {
    std::string written = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    std::string name = prefix.empty() ? std::string(k.str()) : prefix + "-" + std::string(k.str());
    std::string where = std::string(source) + ":" + std::to_string(node.source().begin.line) + ": ";
    if (const auto* sub = node.as_table()) {
      if (name == "rate-limit-events") {
        if (!seen.insert(name).second) return where + "key \"" + name + "\" is set twice";
        if (auto e = apply_event_limits(settings, *sub, written, source)) return e;
        continue;
      }
      if (auto e = apply_table(settings, *sub, name, source, seen)) return e;
      continue;
    }
    const SettingKey* key = find_setting_key(name);
    if (!key) return where + unknown_key_message(written);
    if (!seen.insert(name).second) return where + "key \"" + name + "\" is set twice";
    auto text = text_of(node, key->kind);
    if (!text) return where + "key \"" + written + "\" must be " + kind_name(key->kind);
    if (auto e = key->set(settings, *text)) return where + "key \"" + written + "\": allowed is " + *e;
  }
  return std::nullopt;
}

std::string help_footer() {
  return "\nConfiguration file (--config FILE, TOML): the keys are the flags above without their\n"
         "leading dashes, written flat or in a table named by their first part; flags override the\n"
         "file, and a bad key or value stops the start (exit status 2). For example:\n\n"
         "  port = 3000\n"
         "  log-level = \"info\"\n"
         "  [jwt]\n"
         "  public-key = \"/etc/switchboard/jwt.pem\"    # the key jwt-public-key\n"
         "  [rate-limit]\n"
         "  burst = 100\n"
         "  per-second = 100.0\n"
         "  [rate-limit.events]                          # also a bucket of their own\n"
         "  send-message = { per-second = 5, burst = 10 }\n\n"
         "Environment (for secrets; flags override it): JWT_SECRET, SWITCHBOARD_API_KEY,\n"
         "SWITCHBOARD_ADMIN_UI_PASSWORD_HASH.\n\n"
         "What it serves (one port): the demo chat page at / (web/; open the URL it logs at start);\n"
         "Socket.IO at /socket.io/ with the chat on namespaces /, /chat and /notifications, and the\n"
         "browser client at /socket.io/socket.io.js; POST /api/publish {room, event, data, nsp?,\n"
         "volatile?} and POST /api/broadcast {event, data, nsp?, volatile?}; GET /healthz.\n\n"
         "Examples:\n"
         "  switchboard                                  the chat server on 0.0.0.0:3000\n"
         "  switchboard --static ./my-site               your pages at / instead of the demo\n"
         "  JWT_SECRET=... switchboard                   clients must send auth: {token: <HS256 JWT>}\n"
         "  switchboard --config switchboard.toml --print-config   show what would run\n"
         "  switchboard --port 8080 --ws-echo /echo      a WebSocket echo at ws://HOST:8080/echo\n";
}

}  // namespace

const std::vector<SettingKey>& setting_keys() {
  static const std::vector<SettingKey> keys = make_keys();
  return keys;
}

const SettingKey* find_setting_key(std::string_view name) {
  for (const auto& key : setting_keys()) {
    if (key.name == name) return &key;
  }
  return nullptr;
}

std::optional<std::string> apply_toml(Settings& settings, std::string_view document, std::string_view source_name) {
  toml::table table;
  try {
    table = toml::parse(document, source_name);
  } catch (const toml::parse_error& e) {
    return std::string(source_name) + ":" + std::to_string(e.source().begin.line) + ": not valid TOML: " +
           std::string(e.description());
  }
  std::set<std::string> seen;
  return apply_table(settings, table, "", source_name, seen);
}

std::optional<std::string> check_settings(const Settings& s) {
  if (s.ws_deflate && s.ws_echo.empty()) return "ws-deflate applies to the ws-echo endpoint; set ws-echo too";
  if (!s.jwt_secret.empty() && !s.jwt_public_key.empty()) {
    return "jwt-secret and jwt-public-key are both set: choose HMAC (a secret) or a public key, not both";
  }
  if (!s.jwt_algorithm.empty() && !s.auth_enabled()) {
    return "jwt-algorithm is set but auth is off: set jwt-secret (or JWT_SECRET) or jwt-public-key";
  }
  if (!s.admin_ui_origin.empty() && !s.admin_ui) return "admin-ui-origin is set but admin-ui is off";
  if (s.admin_ui && s.admin_ui_auth && s.admin_ui_password_hash.empty()) {
    return "admin-ui is on but no password is set: set admin-ui-password-hash (a bcrypt hash; or the "
           "environment variable SWITCHBOARD_ADMIN_UI_PASSWORD_HASH), or open it to anyone with "
           "admin-ui-auth = false";
  }
  return std::nullopt;
}

std::string format_settings(const Settings& settings) {
  std::string out = "# switchboard: the effective settings (defaults < config file < environment < flags)\n";
  for (const auto& key : setting_keys()) {
    std::string value = key.get(settings);
    if (key.secret) {
      bool set = value != "\"\"";
      out += "# " + std::string(key.name) + (set ? " is set" : " is not set") + " (secret, not printed";
      if (!key.env.empty()) out += "; env " + std::string(key.env);
      out += ")\n";
      continue;
    }
    // The per-event limits print as the table the file takes (an inline one, so that
    // the keys after it stay at the top level).
    std::string name = key.kind == Kind::event_limits ? "rate-limit-events" : std::string(key.name);
    out += name + " = " + value + "\n";
  }
  return out;
}

CommandLine parse_command_line(int argc, const char* const* argv, const Environment& env, std::string& out,
                               std::string& err) {
  CommandLine result;
  CLI::App app{
      "switchboard — a real-time messaging server: Socket.IO v5 (the official socket.io-client\n"
      "connects unchanged), native WebSocket and an HTTP publish API, on one port.\n\n"
      "Run with no options it is the chat server of DESIGN.md on port 3000: clients join rooms,\n"
      "send messages, see who types and who is online, and send direct messages.",
      "switchboard"};
  app.get_formatter()->column_width(36);
  app.footer(help_footer());

  std::string config_path;
  bool print_config = false;
  app.add_option("--config", config_path, "Read settings from this TOML file first (flags override it)")
      ->type_name("FILE");
  app.add_flag("--print-config", print_config, "Print the effective settings as TOML and exit");

  Settings defaults;
  std::map<std::string, std::string, std::less<>> given;
  std::map<std::string, bool, std::less<>> flags;
  std::map<std::string, std::vector<std::string>, std::less<>> repeated;
  std::vector<std::pair<const SettingKey*, CLI::Option*>> options;
  for (const auto& key : setting_keys()) {
    std::string flag = "--" + std::string(key.name);
    std::string help(key.help);
    if (!key.env.empty()) help += " [env " + std::string(key.env) + "]";
    CLI::Option* option;
    if (key.kind == Kind::boolean) {
      option = app.add_flag(flag, flags[std::string(key.name)], help);
    } else if (key.kind == Kind::event_limits) {
      option = app.add_option(flag, repeated[std::string(key.name)], help)
                   ->type_name(std::string(key.value_name))
                   ->expected(1)
                   ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    } else {
      option = app.add_option(flag, given[std::string(key.name)], help)->type_name(std::string(key.value_name));
      if (!key.secret) option->default_str(key.get(defaults));
    }
    options.emplace_back(&key, option);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    out = app.help();
    result.exit_code = 0;
    return result;
  } catch (const CLI::ParseError& e) {
    err = "error: " + std::string(e.what()) + "\nRun with --help for every option.\n";
    result.exit_code = 2;
    return result;
  }

  Settings& s = result.settings;
  auto fail = [&](std::string message) {
    err = "error: " + message + "\n";
    result.exit_code = 2;
    return result;
  };
  if (!config_path.empty()) {
    std::ifstream file(config_path, std::ios::binary);
    if (!file) return fail("--config " + config_path + ": cannot read the file");
    std::stringstream text;
    text << file.rdbuf();
    if (auto e = apply_toml(s, text.str(), config_path)) return fail(*e);
  }
  for (const auto& key : setting_keys()) {
    if (key.env.empty()) continue;
    if (auto value = env(std::string(key.env).c_str())) {
      if (auto e = key.set(s, *value)) return fail("environment " + std::string(key.env) + ": allowed is " + *e);
    }
  }
  for (auto [key, option] : options) {
    if (option->count() == 0) continue;
    if (key->kind == Kind::event_limits) {
      for (const auto& text : repeated[std::string(key->name)]) {
        if (auto e = key->set(s, text)) return fail("--" + std::string(key->name) + " '" + text + "': allowed is " + *e);
      }
      continue;
    }
    std::string text = key->kind == Kind::boolean ? (flags[std::string(key->name)] ? "true" : "false")
                                                  : given[std::string(key->name)];
    if (auto e = key->set(s, text)) return fail("--" + std::string(key->name) + " '" + text + "': allowed is " + *e);
  }
  if (auto e = check_settings(s)) return fail(*e);
  if (print_config) {
    out = format_settings(s);
    result.exit_code = 0;
  }
  return result;
}

}  // namespace switchboard::app
