// The JSON log format: one object per entry that a JSON parser reads back whatever the
// message holds (quotes, control characters, bytes that are not UTF-8: the escaping is
// core::append_json_escaped, tested in tests/unit/core), the RFC 3339 time, and the
// ids of core/log.hpp as fields; and the text format's id prefix.

#include "app/log_format.hpp"

#include <sstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

namespace switchboard::app {
namespace {

namespace json = boost::json;

spdlog::details::log_msg message_at(std::chrono::milliseconds since_epoch, spdlog::level::level_enum level,
                                    std::string_view text) {
  return spdlog::details::log_msg(spdlog::log_clock::time_point(since_epoch), spdlog::source_loc{}, "switchboard",
                                  level, spdlog::string_view_t(text.data(), text.size()));
}

TEST(FormatJsonEntry, HasTheTimeLevelLoggerMessageAndIds) {
  // 2026-11-26T13:33:21.042Z
  auto message = message_at(std::chrono::milliseconds(1'795'700'001'042), spdlog::level::warn, "it \"broke\"\n");
  log::Fields fields{.component = "http", .conn = "127.0.0.1:5123", .req = "r-1", .sid = "S", .socket = "K",
                     .nsp = "/chat"};
  std::string line = format_json_entry(message, &fields);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  json::object entry = json::parse(line).as_object();
  EXPECT_EQ(entry.at("time"), "2026-11-26T13:33:21.042Z");
  EXPECT_EQ(entry.at("level"), "warn");
  EXPECT_EQ(entry.at("logger"), "switchboard");
  EXPECT_EQ(entry.at("component"), "http");
  EXPECT_EQ(entry.at("message"), "it \"broke\"\n");
  EXPECT_EQ(entry.at("conn"), "127.0.0.1:5123");
  EXPECT_EQ(entry.at("req"), "r-1");
  EXPECT_EQ(entry.at("sid"), "S");
  EXPECT_EQ(entry.at("socket"), "K");
  EXPECT_EQ(entry.at("nsp"), "/chat");
}

TEST(FormatJsonEntry, AnAccessLineHasItsNumbersAsFields) {
  auto message = message_at(std::chrono::milliseconds(0), spdlog::level::debug, "GET /x?a=* 404 10 bytes 1.5 ms");
  log::HttpExchange exchange{.method = "GET", .target = "/x?a=*", .status = 404, .bytes = 10, .duration_ms = 1.5};
  log::Fields fields{.component = "http", .req = "r", .http = &exchange};
  json::object entry = json::parse(format_json_entry(message, &fields)).as_object();
  EXPECT_EQ(entry.at("method"), "GET");
  EXPECT_EQ(entry.at("target"), "/x?a=*");
  EXPECT_EQ(entry.at("status"), 404);
  EXPECT_EQ(entry.at("bytes"), 10);
  EXPECT_DOUBLE_EQ(entry.at("duration_ms").as_double(), 1.5);
}

TEST(FormatJsonEntry, LeavesOutIdsItDoesNotHave) {
  auto message = message_at(std::chrono::milliseconds(0), spdlog::level::err, "x");
  json::object bare = json::parse(format_json_entry(message, nullptr)).as_object();
  EXPECT_EQ(bare.at("time"), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(bare.at("level"), "error");
  EXPECT_EQ(bare.size(), 4u);  // time, level, logger, message
  log::Fields only_sid{.sid = "abc"};
  json::object some = json::parse(format_json_entry(message, &only_sid)).as_object();
  EXPECT_EQ(some.at("sid"), "abc");
  EXPECT_FALSE(some.contains("conn"));
  EXPECT_FALSE(some.contains("component"));
}

// A logger like the binary's, writing into a string, as the default logger for one test.
class DefaultLoggerInto {
 public:
  explicit DefaultLoggerInto(std::unique_ptr<spdlog::formatter> formatter) : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out_);
    sink->set_formatter(std::move(formatter));
    auto logger = std::make_shared<spdlog::logger>("switchboard", sink);
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~DefaultLoggerInto() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(JsonFormatter, LinesWrittenThroughLogCarryTheirIds) {
  DefaultLoggerInto capture(std::make_unique<JsonFormatter>());
  log::info({.component = "eio", .sid = "S1"}, "session {} of {}", 1, "\xff");
  log::debug({.sid = "hidden"}, "below the level");
  spdlog::info("no ids");
  std::istringstream lines(capture.text());
  std::string first, second, third;
  ASSERT_TRUE(std::getline(lines, first));
  ASSERT_TRUE(std::getline(lines, second));
  EXPECT_FALSE(std::getline(lines, third));
  json::object a = json::parse(first).as_object();
  EXPECT_EQ(a.at("sid"), "S1");
  EXPECT_EQ(a.at("component"), "eio");
  EXPECT_EQ(a.at("message"), "session 1 of \xef\xbf\xbd");
  json::object b = json::parse(second).as_object();
  EXPECT_FALSE(b.contains("sid"));  // the ids of one call do not stick to the next line
  EXPECT_EQ(b.at("message"), "no ids");
}

TEST(TextFormatter, ShowsTheIdsInBracketsAfterTheLevel) {
  DefaultLoggerInto capture(make_text_formatter());
  log::warn({.component = "http", .conn = "[::1]:80", .req = "r\n2"}, "slow");
  spdlog::info("plain");
  std::string text = capture.text();
  EXPECT_NE(text.find(" [http conn=[::1]:80 req=r?2] slow\n"), std::string::npos) << text;
  EXPECT_NE(text.find("info plain\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace switchboard::app
