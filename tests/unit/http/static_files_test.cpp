// serve_static through a real http::Server on port 0 and a POSIX socket client.

#include <switchboard/http.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/beast/http.hpp>

#include "support/http_client.hpp"

namespace switchboard::http {
namespace {

using namespace std::chrono_literals;
using namespace switchboard::http::test;
namespace fs = std::filesystem;


void write_file(const fs::path& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

// A temporary tree:
//   <base>/secret.txt                 outside the root
//   <base>/root/index.html, app.js, style.css, data.json, logo.svg, pic.png, blob.bin,
//              PAGE.HTML, noext, sub/index.html, empty/, link-out -> ../secret.txt,
//              link-in -> app.js, dir-out -> <base>/outside/
class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sb-static-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    base = pattern;
    root = base / "root";
    fs::create_directories(root / "sub");
    fs::create_directories(root / "empty");
    fs::create_directories(base / "outside");
    write_file(base / "secret.txt", "top secret");
    write_file(base / "outside" / "index.html", "outside index");
    write_file(root / "index.html", "<h1>home</h1>");
    write_file(root / "app.js", "console.log(1)");
    write_file(root / "style.css", "body{}");
    write_file(root / "data.json", "{\"a\":1}");
    write_file(root / "logo.svg", "<svg/>");
    write_file(root / "pic.png", std::string("\x89PNG\r\n\x1a\n\0\0", 10));
    write_file(root / "blob.bin", std::string("a\0b\0c", 5));
    write_file(root / "PAGE.HTML", "upper");
    write_file(root / "noext", "plain");
    write_file(root / "sub" / "index.html", "sub index");
    write_file(root / "sub" / "page.txt", "sub page");
    fs::create_symlink("../secret.txt", root / "link-out");
    fs::create_symlink("app.js", root / "link-in");
    fs::create_directory_symlink(base / "outside", root / "dir-out");
    running = std::make_unique<RunningServer>(
        [this](Router& router) { router.get("/*", serve_static(root.string())); });
  }
  void TearDown() override {
    running.reset();
    std::error_code ec;
    fs::remove_all(base, ec);
  }

  std::optional<HttpClient::Response> fetch(std::string_view target, std::string_view headers = {}) {
    HttpClient client(running->port());
    client.send(get(target, headers));
    return client.read_response();
  }
  int status_of(std::string_view target) {
    auto r = fetch(target);
    return r ? r->status : -1;
  }

  fs::path base;
  fs::path root;
  std::unique_ptr<RunningServer> running;
};

TEST_F(StaticFilesTest, ServesFilesWithTheirContentTypes) {
  const std::pair<const char*, const char*> cases[] = {
      {"/index.html", "text/html; charset=utf-8"},
      {"/app.js", "text/javascript; charset=utf-8"},
      {"/style.css", "text/css; charset=utf-8"},
      {"/data.json", "application/json"},
      {"/logo.svg", "image/svg+xml"},
      {"/pic.png", "image/png"},
      {"/blob.bin", "application/octet-stream"},
      {"/noext", "application/octet-stream"},
      {"/PAGE.HTML", "text/html; charset=utf-8"},
  };
  for (auto [target, type] : cases) {
    auto r = fetch(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 200) << target;
    EXPECT_EQ(r->header("Content-Type"), type) << target;
  }
}

TEST_F(StaticFilesTest, BodyIsTheFileByteForByte) {
  auto r = fetch("/blob.bin");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, std::string("a\0b\0c", 5));
  r = fetch("/pic.png");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, std::string("\x89PNG\r\n\x1a\n\0\0", 10));
}

TEST_F(StaticFilesTest, RootAndDirectoriesServeTheirIndex) {
  auto r = fetch("/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "<h1>home</h1>");
  EXPECT_EQ(r->header("Content-Type"), "text/html; charset=utf-8");
  r = fetch("/sub/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "sub index");
  r = fetch("/sub");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "sub index");
}

TEST_F(StaticFilesTest, DirectoryWithoutIndexIs404) { EXPECT_EQ(status_of("/empty/"), 404); }

TEST_F(StaticFilesTest, MissingFileIs404) {
  EXPECT_EQ(status_of("/nope.html"), 404);
  EXPECT_EQ(status_of("/sub/nope"), 404);
  EXPECT_EQ(status_of("/index.html/x"), 404) << "a file used as a directory";
}

TEST_F(StaticFilesTest, DotSegmentsAreHarmless) {
  auto r = fetch("/./sub/./page.txt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "sub page");
  r = fetch("//sub//page.txt");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(StaticFilesTest, DotDotSegmentsAre404) {
  EXPECT_EQ(status_of("/../secret.txt"), 404);
  EXPECT_EQ(status_of("/sub/../../secret.txt"), 404);
  EXPECT_EQ(status_of("/sub/../index.html"), 404) << "'..' never reaches the file system, even inside";
  EXPECT_EQ(status_of("/.."), 404);
}

TEST_F(StaticFilesTest, EncodedTraversalIs404) {
  for (const char* target : {"/%2e%2e/secret.txt", "/%2E%2E/secret.txt", "/%2e%2e%2fsecret.txt",
                             "/sub%2f..%2f..%2fsecret.txt", "/.%2e/secret.txt", "/..%2Fsecret.txt",
                             "/%2e%2e%5csecret.txt"}) {
    auto r = fetch(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 404) << target;
    EXPECT_EQ(r->body.find("top secret"), std::string::npos) << target;
  }
}

TEST_F(StaticFilesTest, SymlinkLeadingOutsideIs404) {
  EXPECT_EQ(status_of("/link-out"), 404);
  EXPECT_EQ(status_of("/dir-out/"), 404);
  EXPECT_EQ(status_of("/dir-out/index.html"), 404);
}

TEST_F(StaticFilesTest, SymlinkStayingInsideIsServed) {
  auto r = fetch("/link-in");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "console.log(1)");
}

TEST_F(StaticFilesTest, ETagAndIfNoneMatch) {
  auto first = fetch("/app.js");
  ASSERT_TRUE(first);
  const std::string etag = first->header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_TRUE(etag.starts_with("W/\"")) << etag;
  EXPECT_EQ(first->header("Cache-Control"), "no-cache");

  HttpClient client(running->port());
  client.send(get("/app.js", "If-None-Match: " + etag + "\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 304);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(r->header("ETag"), etag);
  // A 304 carries no body: the next response on the connection parses cleanly.
  client.send(get("/style.css"));
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "body{}");
}

TEST_F(StaticFilesTest, IfNoneMatchUsesWeakComparisonListsAndStar) {
  auto first = fetch("/app.js");
  ASSERT_TRUE(first);
  const std::string etag = first->header("ETag");  // W/"..."
  const std::string strong = etag.substr(2);
  EXPECT_EQ(fetch("/app.js", "If-None-Match: " + strong + "\r\n")->status, 304) << "weak comparison";
  EXPECT_EQ(fetch("/app.js", "If-None-Match: \"other\", " + etag + "\r\n")->status, 304) << "a list";
  EXPECT_EQ(fetch("/app.js", "If-None-Match: \"a\",\"b\"," + strong + " \r\n")->status, 304) << "no spaces";
  EXPECT_EQ(fetch("/app.js", "If-None-Match: *\r\n")->status, 304);
  EXPECT_EQ(fetch("/app.js", "If-None-Match: \"other\"\r\n")->status, 200);
  EXPECT_EQ(fetch("/app.js", "If-None-Match: W/\"other\", \"else\"\r\n")->status, 200);
}

TEST_F(StaticFilesTest, ETagChangesWhenTheFileChanges) {
  auto first = fetch("/data.json");
  ASSERT_TRUE(first);
  write_file(root / "data.json", "{\"a\":12345}");
  auto second = fetch("/data.json");
  ASSERT_TRUE(second);
  EXPECT_NE(first->header("ETag"), second->header("ETag"));
  EXPECT_EQ(second->body, "{\"a\":12345}");
  EXPECT_EQ(fetch("/data.json", "If-None-Match: " + first->header("ETag") + "\r\n")->status, 200);
}

TEST_F(StaticFilesTest, HeadGetsTheLengthWithoutTheBody) {
  HttpClient client(running->port());
  client.send("HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = client.read_response(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length"), "14");
  EXPECT_EQ(r->header("Content-Type"), "text/javascript; charset=utf-8");
  client.send(get("/noext"));
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "plain");
}

TEST_F(StaticFilesTest, OtherMethodsAre405) {
  HttpClient client(running->port());
  client.send("POST /app.js HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("Allow"), "GET, HEAD");
}

TEST(StaticFilesRoot, MissingRootThrowsAtConstruction) {
  EXPECT_THROW(serve_static("/nonexistent/sb-static-root"), std::runtime_error);
  try {
    serve_static("/nonexistent/sb-static-root");
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/sb-static-root"), std::string::npos) << e.what();
  }
}

TEST(StaticFilesRoot, RootThatIsAFileThrows) {
  char pattern[] = "/tmp/sb-static-file-XXXXXX";
  int fd = ::mkstemp(pattern);
  ASSERT_GE(fd, 0);
  ::close(fd);
  EXPECT_THROW(serve_static(pattern), std::runtime_error);
  ::unlink(pattern);
}

}  // namespace
}  // namespace switchboard::http
