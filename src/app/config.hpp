#pragma once
// The `switchboard` binary's settings: one table of keys, each settable from a TOML file
// (--config), the command line (--KEY) and, for secrets, the environment.
//
// A key's flag is its name: `port` is --port, `ws-max-message` is --ws-max-message. In the
// file a key is written either flat (ws-max-message = "16M") or inside a table whose
// name is its first part ([ws] max-message = "16M"): the table path joined with '-'
// names the key. Later sources win: defaults < file < environment < flags.
//
// Every value goes through the same check wherever it comes from, and a bad key or value
// is reported with the key's name and what it accepts.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/rate_limiter.hpp"
#include "app/web_assets.hpp"

namespace switchboard::app {

struct Settings {
  // Listening and threads.
  std::string host = "0.0.0.0";
  std::uint16_t port = 3000;
  unsigned threads = 0;              // 0: one per core
  std::uint64_t max_connections = 0;  // 0: no limit
  std::string log_level = "info";
  std::string log_format = "text";  // "text" or "json" (app/log_format.hpp)
  // Files served at / (the demo); default: the repository's web/ when found (see
  // app/web_assets.hpp), empty: none.
  std::string static_dir = default_web_root();
  // The socket.io-client package's dist/, served at /socket.io/socket.io.js; default: the
  // repository's node_modules/socket.io-client/dist when found, empty: not served (404).
  std::string client_dist = default_client_dist();
  bool protocol_test_mode = false;
  // Engine.IO heartbeat, in ms; unset: 25000/20000 (300/200 in protocol test mode).
  std::optional<unsigned> ping_interval_ms;
  std::optional<unsigned> ping_timeout_ms;

  // The native WebSocket echo endpoint (conformance checks and benchmarks).
  std::string ws_echo;
  bool ws_deflate = false;
  std::size_t ws_max_message = 16 * 1024 * 1024;
  unsigned ws_idle_timeout_s = 120;

  // JWT auth of Socket.IO connections: on when a secret or a public key is set.
  std::string jwt_secret;
  std::string jwt_public_key;  // a PEM file
  std::string jwt_algorithm;   // empty: HS256 for a secret, from the key for a public key
  unsigned jwt_leeway_s = 0;

  // Per-socket token bucket over every event; burst 0 turns it off.
  unsigned rate_limit_burst = 100;
  double rate_limit_per_second = 100;
  // Events with a bucket of their own as well ([rate-limit.events], --rate-limit-event).
  std::map<std::string, RateLimit, std::less<>> rate_limit_events;

  // The HTTP publish API.
  std::string api_key;  // empty: no key needed
  std::size_t api_max_body = 1024 * 1024;

  // GET /metrics (Prometheus text): "open", "api-key" (the API key as for /api/), "off".
  std::string metrics = "open";
  // The /dashboard namespace's `stats` feed (with the API key in auth.apiKey when one is
  // configured).
  bool dashboard = true;
  // Seconds between SSE heartbeat comments.
  unsigned sse_heartbeat_s = 15;
  // The native WebSocket feed at /ws may publish into rooms ({"publish": R, ...}).
  bool ws_publish = false;

  // @socket.io/admin-ui on namespace /admin (see app/admin_ui.hpp); off unless asked.
  bool admin_ui = false;
  bool admin_ui_auth = true;  // false must be said explicitly: no password needed
  std::string admin_ui_username = "admin";
  std::string admin_ui_password_hash;  // bcrypt
  bool admin_ui_readonly = false;
  std::string admin_ui_mode = "development";  // or "production": server_stats only
  std::string admin_ui_server_id;             // empty: the host name
  // An origin serving the UI elsewhere (https://admin.socket.io) that may use HTTP
  // long-polling here: CORS with credentials for it on /socket.io/. Empty: none.
  std::string admin_ui_origin;
  // The UI's files (the package's ui/dist), served at /admin/ when admin-ui is on;
  // default: the repository's node_modules/@socket.io/admin-ui/ui/dist when found.
  std::string admin_ui_dist = default_admin_ui_dist();

  bool auth_enabled() const noexcept { return !jwt_secret.empty() || !jwt_public_key.empty(); }
};

// One key of the table.
struct SettingKey {
  // event_limits: the one repeatable key, NAME=RATE/BURST per flag, a table of
  // NAME = { per-second, burst } in the file.
  enum class Kind { text, boolean, integer, size, number, event_limits };
  std::string_view name;
  Kind kind;
  std::string_view value_name;  // shown in --help, e.g. PATH
  std::string_view help;
  std::string_view env;  // an environment variable that sets it, or empty
  bool secret = false;   // never printed
  // Stores `text` (a flag's value or a file value written as text); on failure returns
  // what the key accepts ("a port, 0 to 65535").
  std::optional<std::string> (*set)(Settings&, std::string_view text);
  // The value as a TOML literal, for --print-config and --help.
  std::string (*get)(const Settings&);
};

const std::vector<SettingKey>& setting_keys();
const SettingKey* find_setting_key(std::string_view name);

// Applies a TOML document. Returns an error naming the key (or the syntax error's line)
// and what is allowed; a key written twice (flat and in a table) is an error too.
std::optional<std::string> apply_toml(Settings& settings, std::string_view document, std::string_view source_name);

// Checks that hold between keys (e.g. --ws-deflate needs --ws-echo).
std::optional<std::string> check_settings(const Settings& settings);

// The effective settings as a TOML document that --config accepts (secrets left out).
std::string format_settings(const Settings& settings);

// What main() does after reading the command line.
struct CommandLine {
  Settings settings;
  std::optional<int> exit_code;  // set: exit with it (help printed, an error, --print-config)
};
using Environment = std::function<std::optional<std::string>(const char* name)>;
// Reads argv, the --config file and the environment; prints help, --print-config and
// errors to `out` / `err`. Errors exit 2.
CommandLine parse_command_line(int argc, const char* const* argv, const Environment& env, std::string& out,
                               std::string& err);

}  // namespace switchboard::app
