#include <switchboard/http.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace switchboard::http {
namespace {

using Params = std::vector<std::pair<std::string, std::string>>;

Handler noop() {
  return [](Request&, Response&) {};
}

// Routes are told apart by a tag kept in their options (max_body_size): the index in
// registration order.
class RouterTest : public ::testing::Test {
 protected:
  Router router;
  Params params;
  Router::Match last;
  std::size_t added = 0;

  void add(std::string method, std::string pattern) {
    router.route(std::move(method), std::move(pattern), noop(), RouteOptions{.max_body_size = added++});
  }
  // The index of the matched route, or -1.
  int match(std::string_view method, std::string_view path) {
    params.clear();
    last = router.match(method, path, params);
    return last.route ? static_cast<int>(last.route->options.max_body_size) : -1;
  }
  std::string param(std::string_view name) const {
    for (auto& [n, v] : params) {
      if (n == name) return v;
    }
    return "<none>";
  }
};

TEST_F(RouterTest, LiteralPath) {
  add("GET", "/healthz");
  add("GET", "/api/publish");
  EXPECT_EQ(match("GET", "/healthz"), 0);
  EXPECT_EQ(match("GET", "/api/publish"), 1);
  EXPECT_EQ(match("GET", "/api"), -1);
  EXPECT_EQ(match("GET", "/api/publish/more"), -1);
  EXPECT_EQ(match("GET", "/HEALTHZ"), -1) << "paths are case-sensitive";
  EXPECT_FALSE(last.path_matched);
}

TEST_F(RouterTest, RootPath) {
  add("GET", "/");
  EXPECT_EQ(match("GET", "/"), 0);
  EXPECT_EQ(match("GET", "/x"), -1);
}

TEST_F(RouterTest, NamedParameters) {
  add("GET", "/rooms/:room/messages/:id");
  EXPECT_EQ(match("GET", "/rooms/lobby/messages/42"), 0);
  EXPECT_EQ(param("room"), "lobby");
  EXPECT_EQ(param("id"), "42");
  EXPECT_EQ(params.size(), 2u);
  EXPECT_EQ(match("GET", "/rooms/lobby/messages"), -1);
  EXPECT_EQ(match("GET", "/rooms/lobby/other/42"), -1);
  EXPECT_TRUE(params.empty()) << "a failed match leaves no parameters behind";
}

TEST_F(RouterTest, ParameterDoesNotMatchAnEmptySegment) {
  add("GET", "/users/:id");
  EXPECT_EQ(match("GET", "/users/"), -1) << "matched with id '" << param("id") << "'";
}

TEST_F(RouterTest, RestTakesTheRemainderWithoutItsLeadingSlash) {
  add("GET", "/static/*");
  EXPECT_EQ(match("GET", "/static/css/site.css"), 0);
  EXPECT_EQ(param("*"), "css/site.css");
  EXPECT_EQ(match("GET", "/static/"), 0);
  EXPECT_EQ(param("*"), "");
  EXPECT_EQ(match("GET", "/static"), 0);
  EXPECT_EQ(param("*"), "");
  EXPECT_EQ(match("GET", "/staticfile"), -1);
}

TEST_F(RouterTest, RestAtTheRootTakesThePathWithoutItsSlash) {
  add("GET", "/*");
  EXPECT_EQ(match("GET", "/index.html"), 0);
  EXPECT_EQ(param("*"), "index.html");
  EXPECT_EQ(match("GET", "/a/b/c"), 0);
  EXPECT_EQ(param("*"), "a/b/c");
  EXPECT_EQ(match("GET", "/"), 0);
  EXPECT_EQ(param("*"), "");
}

TEST_F(RouterTest, RestAfterParameters) {
  add("GET", "/u/:id/files/*");
  EXPECT_EQ(match("GET", "/u/42/files/docs/a.txt"), 0);
  EXPECT_EQ(param("id"), "42");
  EXPECT_EQ(param("*"), "docs/a.txt");
}

TEST_F(RouterTest, FirstRegisteredMatchWins) {
  add("GET", "/items/new");
  add("GET", "/items/:id");
  add("GET", "/*");
  EXPECT_EQ(match("GET", "/items/new"), 0);
  EXPECT_EQ(params.size(), 0u);
  EXPECT_EQ(match("GET", "/items/9"), 1);
  EXPECT_EQ(param("id"), "9");
  EXPECT_EQ(match("GET", "/other"), 2);
}

TEST_F(RouterTest, LaterRouteWithTheRightMethodWinsOverAnEarlierPathMatch) {
  add("POST", "/things");
  add("GET", "/things");
  EXPECT_EQ(match("GET", "/things"), 1);
  EXPECT_EQ(match("POST", "/things"), 0);
}

TEST_F(RouterTest, HeadIsAnsweredByGetRoutes) {
  add("GET", "/page");
  EXPECT_EQ(match("HEAD", "/page"), 0);
  EXPECT_EQ(match("POST", "/page"), -1);
}

TEST_F(RouterTest, ExplicitHeadRouteIsUsedForHead) {
  add("HEAD", "/probe");
  EXPECT_EQ(match("HEAD", "/probe"), 0);
  EXPECT_EQ(match("GET", "/probe"), -1);
}

TEST_F(RouterTest, AnyMatchesEveryMethod) {
  router.any("/anything", noop());
  Params p;
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}) {
    EXPECT_NE(router.match(method, "/anything", p).route, nullptr) << method;
  }
}

TEST_F(RouterTest, MethodHelpersRegisterTheirMethod) {
  router.get("/x", noop());
  router.post("/x", noop());
  router.put("/x", noop());
  router.del("/x", noop());
  router.options("/x", noop());
  Params p;
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "OPTIONS"}) {
    auto m = router.match(method, "/x", p);
    ASSERT_NE(m.route, nullptr) << method;
    EXPECT_EQ(m.route->method, method);
  }
  EXPECT_EQ(router.match("PATCH", "/x", p).route, nullptr);
}

TEST_F(RouterTest, WrongMethodReportsThePathAndEveryAllowedMethod) {
  router.get("/res", noop());
  router.post("/res", noop());
  router.del("/res", noop());
  router.get("/other", noop());
  EXPECT_EQ(match("PUT", "/res"), -1);
  EXPECT_TRUE(last.path_matched);
  EXPECT_EQ(last.allow, "GET, HEAD, POST, DELETE");
  EXPECT_EQ(match("PUT", "/missing"), -1);
  EXPECT_FALSE(last.path_matched);
  EXPECT_EQ(last.allow, "");
}

TEST_F(RouterTest, AllowListsEachMethodOnce) {
  router.get("/a/:x", noop());
  router.get("/a/b", noop());
  router.post("/a/*", noop());
  EXPECT_EQ(match("DELETE", "/a/b"), -1);
  EXPECT_TRUE(last.path_matched);
  EXPECT_EQ(last.allow, "GET, HEAD, POST");
}

TEST_F(RouterTest, AllowNamesMethodsThatAreSubstringsOfOthers) {
  // WebDAV (RFC 4918): LOCK is a substring of UNLOCK.
  router.route("UNLOCK", "/r", noop());
  router.route("LOCK", "/r", noop());
  EXPECT_EQ(match("GET", "/r"), -1);
  EXPECT_EQ(last.allow, "UNLOCK, LOCK");
}

TEST_F(RouterTest, TrailingSlashIsADifferentPath) {
  add("GET", "/docs");
  add("GET", "/guide/");
  EXPECT_EQ(match("GET", "/docs/"), -1);
  EXPECT_EQ(match("GET", "/guide"), -1);
  EXPECT_EQ(match("GET", "/guide/"), 1);
}

TEST_F(RouterTest, PatternMustStartWithSlash) {
  EXPECT_THROW(router.get("", noop()), std::invalid_argument);
  EXPECT_THROW(router.get("healthz", noop()), std::invalid_argument);
  EXPECT_THROW(router.get("*", noop()), std::invalid_argument);
}

TEST_F(RouterTest, RestMustBeTheLastSegment) {
  EXPECT_THROW(router.get("/a/*/b", noop()), std::invalid_argument);
  EXPECT_THROW(router.get("/*/x", noop()), std::invalid_argument);
  EXPECT_NO_THROW(router.get("/a/*", noop()));
  try {
    router.get("/files/*/raw", noop());
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("/files/*/raw"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace switchboard::http
