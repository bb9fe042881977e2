// PrometheusWriter: HELP/TYPE lines, counters named *_total, label and HELP escaping,
// number formatting; and the event-name slots that bound the metrics' label set.

#include "app/prometheus.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

#include "app/metrics.hpp"
#include "app/room_feed.hpp"

namespace switchboard::app {
namespace {

TEST(PrometheusWriter, WritesHelpTypeAndSamples) {
  PrometheusWriter out;
  out.family("sb_requests_total", "Requests served.", MetricType::counter);
  out.sample("sb_requests_total", {{"code", "200"}}, std::uint64_t{7});
  out.sample("sb_requests_total", {{"code", "404"}, {"method", "GET"}}, std::uint64_t{0});
  out.family("sb_open", "Open now.", MetricType::gauge);
  out.sample("sb_open", {}, std::int64_t{-2});
  EXPECT_EQ(out.text(),
            "# HELP sb_requests_total Requests served.\n"
            "# TYPE sb_requests_total counter\n"
            "sb_requests_total{code=\"200\"} 7\n"
            "sb_requests_total{code=\"404\",method=\"GET\"} 0\n"
            "# HELP sb_open Open now.\n"
            "# TYPE sb_open gauge\n"
            "sb_open -2\n");
}

TEST(PrometheusWriter, ACounterMustEndInTotal) {
  PrometheusWriter out;
  EXPECT_THROW(out.family("sb_requests", "x", MetricType::counter), std::invalid_argument);
  EXPECT_NO_THROW(out.family("sb_requests", "x", MetricType::gauge));
}

TEST(PrometheusWriter, EscapesLabelValues) {
  PrometheusWriter out;
  out.sample("m", {{"path", "a\\b\"c\"\nd"}}, std::uint64_t{1});
  EXPECT_EQ(out.text(), "m{path=\"a\\\\b\\\"c\\\"\\nd\"} 1\n");
}

TEST(PrometheusWriter, EscapesHelpButNotQuotes) {
  PrometheusWriter out;
  out.family("g", "say \"hi\"\\n\nnext", MetricType::gauge);
  EXPECT_EQ(out.text(), "# HELP g say \"hi\"\\\\n\\nnext\n# TYPE g gauge\n");
}

TEST(PrometheusWriter, FormatsDoubles) {
  PrometheusWriter out;
  out.sample("a", {}, 0.25);
  out.sample("b", {}, 0.0);
  out.sample("c", {}, std::numeric_limits<double>::infinity());
  out.sample("d", {}, -std::numeric_limits<double>::infinity());
  out.sample("e", {}, std::numeric_limits<double>::quiet_NaN());
  out.sample("f", {}, 1e-7);
  EXPECT_EQ(out.text(), "a 0.25\nb 0\nc +Inf\nd -Inf\ne NaN\nf 1e-07\n");
}

TEST(PrometheusWriter, FormatsTheWholeUint64Range) {
  PrometheusWriter out;
  out.sample("big", {}, std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(out.text(), "big 18446744073709551615\n");
}

TEST(EventSlots, ContractNamesHaveTheirOwnSlotAndTheRestShareOther) {
  EXPECT_EQ(event_label(event_slot("send-message")), "send-message");
  EXPECT_EQ(event_label(event_slot("new-message")), "new-message");
  EXPECT_EQ(event_label(event_slot("rate-limited")), "rate-limited");
  EXPECT_EQ(event_slot("anything-else"), tracked_events.size());
  EXPECT_EQ(event_slot(""), tracked_events.size());
  EXPECT_EQ(event_slot("send-message "), tracked_events.size());
  EXPECT_EQ(event_label(event_slot("x\ny")), "other");
  for (std::size_t i = 0; i < tracked_events.size(); ++i) EXPECT_EQ(event_slot(tracked_events[i]), i);
}

TEST(RoomFeedSseData, OneArgumentIsItselfSeveralAreAnArrayNoneIsNull) {
  EXPECT_EQ(RoomFeed::sse_data(boost::json::array{"ev"}), "null");
  EXPECT_EQ(RoomFeed::sse_data(boost::json::array{"ev", boost::json::object{{"a", 1}}}), "{\"a\":1}");
  EXPECT_EQ(RoomFeed::sse_data(boost::json::array{"ev", 1, "two"}), "[1,\"two\"]");
  // A newline inside a string stays escaped: the data field stays on one line.
  EXPECT_EQ(RoomFeed::sse_data(boost::json::array{"ev", "a\nb"}), "\"a\\nb\"");
}

}  // namespace
}  // namespace switchboard::app
