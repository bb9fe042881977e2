// core/log.hpp: the conn field's spelling of a peer, and the fields a call makes current
// only for its own line (restored after it, nested calls included).

#include "core/log.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>

namespace switchboard::log {
namespace {

TEST(PeerName, AddressAndPortWithBracketsForIpv6) {
  EXPECT_EQ(peer_name("127.0.0.1", 5123), "127.0.0.1:5123");
  EXPECT_EQ(peer_name("::1", 80), "[::1]:80");
  EXPECT_EQ(peer_name("", 0), ":0");
}

// Records the sid current while each line is written.
class SidRecorder final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  std::vector<std::string> sids;

 protected:
  void sink_it_(const spdlog::details::log_msg&) override {
    const Fields* fields = current_fields();
    sids.emplace_back(fields ? std::string(fields->sid) : "(none)");
  }
  void flush_() override {}
};

TEST(Write, TheFieldsAreCurrentOnlyDuringTheirLine) {
  auto previous = spdlog::default_logger();
  auto sink = std::make_shared<SidRecorder>();
  auto logger = std::make_shared<spdlog::logger>("test", sink);
  logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
  EXPECT_EQ(current_fields(), nullptr);
  info({.sid = "one"}, "a");
  spdlog::info("b");
  debug({.sid = "below the level"}, "c");
  EXPECT_FALSE(enabled(spdlog::level::debug));
  EXPECT_TRUE(enabled(spdlog::level::warn));
  {
    Fields outer{.sid = "outer"};
    detail::FieldsScope scope(outer);
    warn({.sid = "inner"}, "d");
    EXPECT_EQ(current_fields(), &outer);
  }
  EXPECT_EQ(current_fields(), nullptr);
  spdlog::set_default_logger(previous);
  EXPECT_EQ(sink->sids, (std::vector<std::string>{"one", "(none)", "inner"}));
}

}  // namespace
}  // namespace switchboard::log
