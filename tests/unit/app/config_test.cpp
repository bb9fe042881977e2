// The settings table: TOML files (flat and tabled keys, types, ranges, unknown and twice-set
// keys, syntax errors), the command line (flags over env over file, exit codes), the
// checks between keys, and --print-config's output read back.

#include "app/config.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include <unistd.h>

#include <gtest/gtest.h>

namespace switchboard::app {
namespace {

std::optional<std::string> apply_text(Settings& s, std::string_view toml) { return apply_toml(s, toml, "test.toml"); }

// gtest cannot print std::nullopt: compare the error text, empty when there is none.
std::string error_of(const std::optional<std::string>& e) { return e.value_or(""); }

TEST(ApplyToml, FlatAndTabledKeysNameTheSameSettings) {
  Settings s;
  ASSERT_EQ(error_of(apply_text(s, "port = 8080\nws-echo = \"/echo\"\n[ws]\nmax-message = \"64K\"\nidle-timeout = 30\n"
                     "[rate-limit]\nburst = 10\nper-second = 2.5\n[jwt]\nsecret = \"k\"\nalgorithm = \"HS512\"\n")),
            "");
  EXPECT_EQ(s.port, 8080);
  EXPECT_EQ(s.ws_echo, "/echo");
  EXPECT_EQ(s.ws_max_message, 64u * 1024);
  EXPECT_EQ(s.ws_idle_timeout_s, 30u);
  EXPECT_EQ(s.rate_limit_burst, 10u);
  EXPECT_DOUBLE_EQ(s.rate_limit_per_second, 2.5);
  EXPECT_EQ(s.jwt_secret, "k");
  EXPECT_EQ(s.jwt_algorithm, "HS512");
}

TEST(ApplyToml, SizesAreIntegersOrStringsAndRatesIntegersOrFloats) {
  Settings s;
  ASSERT_EQ(error_of(apply_text(s, "ws-max-message = 1000\napi-max-body = \"2M\"\nrate-limit-per-second = 7\n")), "");
  EXPECT_EQ(s.ws_max_message, 1000u);
  EXPECT_EQ(s.api_max_body, 2u * 1024 * 1024);
  EXPECT_DOUBLE_EQ(s.rate_limit_per_second, 7);
}

// The error names the key and says what is allowed.
void expect_error(std::string_view toml, std::initializer_list<std::string_view> parts) {
  Settings s;
  auto error = apply_text(s, toml);
  ASSERT_TRUE(error) << toml;
  for (auto part : parts) EXPECT_NE(error->find(part), std::string::npos) << *error << " lacks " << part;
}

TEST(ApplyToml, BadKeysAndValuesAreNamed) {
  expect_error("prot = 1\n", {"test.toml:1", "unknown key \"prot\"", "did you mean \"port\"", "the keys are:"});
  expect_error("log_level = \"info\"\n", {"log_level", "did you mean \"log-level\""});
  expect_error("[ws]\n\nechoo = \"/x\"\n", {"test.toml:3", "ws.echoo", "ws-echo"});
  expect_error("[server]\nport = 1\n", {"server.port"});
  expect_error("port = \"80\"\n", {"port", "must be an integer"});
  expect_error("port = 65536\n", {"port", "0 to 65535"});
  expect_error("threads = -2\n", {"threads", "0 to 1024"});
  expect_error("ws-deflate = \"yes\"\n", {"ws-deflate", "true or false"});
  expect_error("ws-echo = \"echo\"\n", {"ws-echo", "starting with '/'"});
  expect_error("ws-max-message = \"12Q\"\n", {"ws-max-message", "size"});
  expect_error("ws-max-message = 0\n", {"ws-max-message", "at least 1"});
  expect_error("ws-max-message = 1.5\n", {"ws-max-message", "must be a size"});
  expect_error("rate-limit-per-second = -1.0\n", {"rate-limit-per-second", "above 0"});
  expect_error("rate-limit-per-second = inf\n", {"rate-limit-per-second"});
  expect_error("jwt-algorithm = \"none\"\n", {"jwt-algorithm", "HS256"});
  expect_error("log-level = [\"info\"]\n", {"log-level", "must be a string"});
  expect_error("ws-echo = \"/a\"\n[ws]\necho = \"/b\"\n", {"ws-echo", "set twice"});
  expect_error("port = \n", {"test.toml:1", "not valid TOML"});
  expect_error("[port]\nx = 1\n", {"port.x"});
}

TEST(CheckSettings, RulesBetweenKeys) {
  Settings s;
  EXPECT_EQ(error_of(check_settings(s)), "");
  s.ws_deflate = true;
  EXPECT_NE(check_settings(s)->find("ws-echo"), std::string::npos);
  s = Settings{};
  s.jwt_secret = "a";
  s.jwt_public_key = "/k.pem";
  EXPECT_NE(check_settings(s)->find("both"), std::string::npos);
  s = Settings{};
  s.jwt_algorithm = "HS256";
  EXPECT_NE(check_settings(s)->find("auth is off"), std::string::npos);
  // The admin UI never opens without a password by accident.
  s = Settings{};
  s.admin_ui = true;
  EXPECT_NE(check_settings(s)->find("admin-ui-auth = false"), std::string::npos);
  s.admin_ui_auth = false;
  EXPECT_EQ(error_of(check_settings(s)), "");
  s.admin_ui_auth = true;
  s.admin_ui_password_hash = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS";
  EXPECT_EQ(error_of(check_settings(s)), "");
}

TEST(ApplyToml, AdminUiKeys) {
  Settings s;
  ASSERT_EQ(error_of(apply_text(s, "admin-ui = true\nadmin-ui-username = \"ops\"\nadmin-ui-readonly = true\n"
                                   "admin-ui-mode = \"production\"\n")),
            "");
  EXPECT_TRUE(s.admin_ui);
  EXPECT_EQ(s.admin_ui_username, "ops");
  EXPECT_TRUE(s.admin_ui_readonly);
  EXPECT_EQ(s.admin_ui_mode, "production");
  EXPECT_NE(error_of(apply_text(s, "admin-ui-mode = \"debug\"\n")).find("development or production"),
            std::string::npos);
  EXPECT_NE(error_of(apply_text(s, "admin-ui-password-hash = \"changeit\"\n")).find("bcrypt"), std::string::npos);
}

TEST(FormatSettings, ReadsBackToTheSameSettingsAndHidesSecrets) {
  Settings s;
  s.port = 1234;
  s.ws_echo = "/e\"q\\";
  s.ws_max_message = 3 * 1024 * 1024;
  s.rate_limit_per_second = 0.25;
  s.jwt_secret = "top-secret";
  s.api_key = "key-123";
  s.ping_interval_ms = 1500;
  std::string text = format_settings(s);
  EXPECT_EQ(text.find("top-secret"), std::string::npos);
  EXPECT_EQ(text.find("key-123"), std::string::npos);
  EXPECT_NE(text.find("# jwt-secret is set"), std::string::npos);
  Settings back;
  ASSERT_EQ(error_of(apply_text(back, text)), "");
  back.jwt_secret = s.jwt_secret;
  back.api_key = s.api_key;
  EXPECT_EQ(format_settings(back), text);
  EXPECT_EQ(back.ws_echo, s.ws_echo);
  EXPECT_EQ(back.ws_max_message, s.ws_max_message);
  EXPECT_DOUBLE_EQ(back.rate_limit_per_second, 0.25);
  EXPECT_EQ(back.ping_interval_ms, 1500u);
}

TEST(FormatSettings, PerEventRateLimitsReadBack) {
  Settings s;
  s.rate_limit_events["send-message"] = {10, 5};
  s.rate_limit_events["we\"ird"] = {1, 0.25};
  s.log_format = "json";
  std::string text = format_settings(s);
  EXPECT_NE(text.find("rate-limit-events = { \"send-message\" = { per-second = 5.0, burst = 10 }"),
            std::string::npos)
      << text;
  Settings back;
  ASSERT_EQ(error_of(apply_text(back, text)), "");
  EXPECT_EQ(back.rate_limit_events, s.rate_limit_events);
  EXPECT_EQ(back.log_format, "json");
  EXPECT_EQ(format_settings(back), text);
  EXPECT_NE(format_settings(Settings{}).find("rate-limit-events = {}\n"), std::string::npos);
}

TEST(ApplyToml, PerEventRateLimitsAreATableOfEvents) {
  Settings s;
  ASSERT_EQ(error_of(apply_text(s, "[rate-limit]\nburst = 50\n[rate-limit.events]\n"
                                   "send-message = { per-second = 5, burst = 10 }\n"
                                   "\"my custom:event\" = { per-second = 0.5, burst = 1 }\n")),
            "");
  EXPECT_EQ(s.rate_limit_burst, 50u);
  ASSERT_EQ(s.rate_limit_events.size(), 2u);
  EXPECT_EQ(s.rate_limit_events.at("send-message"), (RateLimit{10, 5}));
  EXPECT_EQ(s.rate_limit_events.at("my custom:event"), (RateLimit{1, 0.5}));
  // The flag's name takes the flag's syntax in the file too.
  Settings flat;
  ASSERT_EQ(error_of(apply_text(flat, "rate-limit-event = \"typing=2/4\"\n")), "");
  EXPECT_EQ(flat.rate_limit_events.at("typing"), (RateLimit{4, 2}));
}

TEST(ApplyToml, BadPerEventRateLimitsAreNamed) {
  const char* bad[] = {
      "[rate-limit.events]\ntyping = { per-second = 0, burst = 4 }\n",
      "[rate-limit.events]\ntyping = { per-second = 2, burst = 0 }\n",
      "[rate-limit.events]\ntyping = { per-second = 2 }\n",
      "[rate-limit.events]\ntyping = { per-second = 2, burst = 4, extra = 1 }\n",
      "[rate-limit.events]\ntyping = { per-second = \"fast\", burst = 4 }\n",
      "[rate-limit.events]\ntyping = 5\n",
  };
  for (const char* toml : bad) {
    SCOPED_TRACE(toml);
    expect_error(toml, {"test.toml:2", "rate-limit.events.\"typing\"", "per-second = RATE, burst = BURST"});
  }
  expect_error("rate-limit-event = \"typing=2\"\n", {"rate-limit-event", "EVENT=RATE/BURST"});
  expect_error("log-format = \"xml\"\n", {"log-format", "text or json"});
}

struct Run {
  CommandLine result;
  std::string out, err;
};

Run run(std::vector<const char*> args, std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "switchboard");
  Run r;
  r.result = parse_command_line(
      static_cast<int>(args.size()), args.data(),
      [&env](const char* name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      r.out, r.err);
  return r;
}

TEST(ParseCommandLine, DefaultsRunTheChatOnPort3000) {
  auto r = run({});
  EXPECT_FALSE(r.result.exit_code);
  EXPECT_EQ(r.result.settings.port, 3000);
  EXPECT_EQ(r.result.settings.host, "0.0.0.0");
  EXPECT_FALSE(r.result.settings.auth_enabled());
  EXPECT_FALSE(r.result.settings.protocol_test_mode);
}

TEST(ParseCommandLine, FileThenEnvironmentThenFlags) {
  auto file = std::filesystem::temp_directory_path() / ("sb-config-test-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream(file) << "port = 4000\nthreads = 3\napi-key = \"file\"\n";
  }
  auto path = file.string();
  auto r = run({"--config", path.c_str(), "--threads", "2", "--ws-echo", "/x", "--ws-deflate"},
               {{"SWITCHBOARD_API_KEY", "env"}, {"JWT_SECRET", "jwt"}});
  std::filesystem::remove(file);
  ASSERT_FALSE(r.result.exit_code) << r.err;
  EXPECT_EQ(r.result.settings.port, 4000);
  EXPECT_EQ(r.result.settings.threads, 2u);
  EXPECT_EQ(r.result.settings.api_key, "env");
  EXPECT_EQ(r.result.settings.jwt_secret, "jwt");
  EXPECT_TRUE(r.result.settings.ws_deflate);
  auto flag = run({"--api-key", "flag"}, {{"SWITCHBOARD_API_KEY", "env"}});
  EXPECT_EQ(flag.result.settings.api_key, "flag");
}

TEST(ParseCommandLine, RateLimitEventIsRepeatableAndOverridesTheFile) {
  auto file = std::filesystem::temp_directory_path() / ("sb-config-events-" + std::to_string(::getpid()) + ".toml");
  {
    std::ofstream(file) << "[rate-limit.events]\ntyping = { per-second = 1, burst = 1 }\n"
                           "join-room = { per-second = 3, burst = 3 }\n";
  }
  auto path = file.string();
  auto r = run({"--config", path.c_str(), "--rate-limit-event", "send-message=5/10", "--rate-limit-event",
                "typing=2/4", "--log-format", "json"});
  std::filesystem::remove(file);
  ASSERT_FALSE(r.result.exit_code) << r.err;
  const auto& events = r.result.settings.rate_limit_events;
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.at("send-message"), (RateLimit{10, 5}));
  EXPECT_EQ(events.at("typing"), (RateLimit{4, 2}));
  EXPECT_EQ(events.at("join-room"), (RateLimit{3, 3}));
  EXPECT_EQ(r.result.settings.log_format, "json");
}

TEST(ParseCommandLine, ErrorsExit2HelpAndPrintConfigExit0) {
  for (std::vector<const char*> args : std::vector<std::vector<const char*>>{
           {"--port", "x"}, {"--bogus"}, {"--ws-deflate"}, {"--config", "/no/such/file"}, {"--log-level", "loud"}}) {
    auto r = run(args);
    ASSERT_TRUE(r.result.exit_code) << args[0];
    EXPECT_EQ(*r.result.exit_code, 2) << args[0];
    EXPECT_NE(r.err.find("error:"), std::string::npos);
  }
  auto help = run({"--help"});
  EXPECT_EQ(help.result.exit_code, 0);
  EXPECT_NE(help.out.find("--rate-limit-burst"), std::string::npos);
  EXPECT_NE(help.out.find("--rate-limit-event EVENT=RATE/BURST"), std::string::npos);
  EXPECT_NE(help.out.find("--log-format"), std::string::npos);
  auto printed = run({"--print-config", "--port", "9"});
  EXPECT_EQ(printed.result.exit_code, 0);
  EXPECT_NE(printed.out.find("port = 9\n"), std::string::npos);
  auto bad_event = run({"--rate-limit-event", "typing=fast/4"});
  EXPECT_EQ(bad_event.result.exit_code, 2);
  EXPECT_NE(bad_event.err.find("--rate-limit-event 'typing=fast/4': allowed is EVENT=RATE/BURST"), std::string::npos)
      << bad_event.err;
  EXPECT_EQ(run({"--log-format", "xml"}).result.exit_code, 2);
  auto bad_env = run({}, {{"JWT_SECRET", "x"}});
  EXPECT_FALSE(bad_env.result.exit_code);
  EXPECT_TRUE(bad_env.result.settings.auth_enabled());
}

}  // namespace
}  // namespace switchboard::app
