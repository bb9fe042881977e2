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

namespace switchboard::http {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------
// A blocking HTTP/1.1 client over a POSIX socket; responses are parsed by Beast's
// response parser (a parser we did not write), raw bytes kept for framing checks.

// The start of a long response, for failure messages.
std::string excerpt(std::string_view raw) {
  return raw.size() <= 300 ? std::string(raw) : std::string(raw.substr(0, 300)) + "...";
}

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port, int rcvbuf = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (rcvbuf) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~HttpClient() { close(); }
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  void send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ADD_FAILURE() << "send failed: " << std::strerror(errno);
        return;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  struct Response {
    int status = 0;
    unsigned version = 0;
    std::map<std::string, std::string, std::less<>> headers;  // lower-case names
    std::string body;
    std::string raw;  // the bytes this response was parsed from
    bool keep_alive = false;
    bool chunked = false;
    std::string header(std::string_view name) const {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto it = headers.find(lower);
      return it == headers.end() ? std::string() : it->second;
    }
    bool has(std::string_view name) const {
      std::string lower(name);
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return headers.count(lower) != 0;
    }
  };

  // The next response; nullopt (with a test failure) on a timeout, EOF or bad framing.
  std::optional<Response> read_response(bool head_request = false, std::chrono::milliseconds timeout = 10s) {
    namespace bhttp = boost::beast::http;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(boost::none);
    parser.eager(true);
    if (head_request) parser.skip(true);
    Response r;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!parser.is_done()) {
      if (!buffer_.empty()) {
        boost::beast::error_code ec;
        std::size_t n = parser.put(boost::asio::buffer(buffer_.data(), buffer_.size()), ec);
        r.raw.append(buffer_, 0, n);
        buffer_.erase(0, n);
        if (ec && ec != bhttp::error::need_more) {
          ADD_FAILURE() << "bad response: " << ec.message() << "\n" << excerpt(r.raw);
          return std::nullopt;
        }
        if (!ec && parser.is_done()) break;
        if (!ec && n > 0) continue;
      }
      int got = fill(deadline);
      if (got == 0) {
        boost::beast::error_code ec;
        parser.put_eof(ec);  // a close-delimited body ends here
        if (ec || !parser.is_done()) {
          ADD_FAILURE() << "connection closed before the response ended after " << r.raw.size() << " bytes\n"
                        << excerpt(r.raw);
          return std::nullopt;
        }
      } else if (got < 0) {
        ADD_FAILURE() << (got == -2 ? "timed out" : "read error") << " waiting for a response\n" << excerpt(r.raw);
        return std::nullopt;
      }
    }
    auto& message = parser.get();
    r.status = message.result_int();
    r.version = message.version();
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers.emplace(name, std::string(field.value()));
    }
    r.body = message.body();
    r.keep_alive = message.keep_alive();
    r.chunked = parser.chunked();
    return r;
  }

  // Raw bytes until `needle` has arrived (or the timeout); returns everything read.
  std::string read_until(std::string_view needle, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buffer_.find(needle) == std::string::npos) {
      if (fill(deadline) <= 0) break;
    }
    return buffer_;
  }

  // True when the server closes the connection (EOF or reset) and sends nothing more
  // than what has already been read.
  bool closed_by_server(std::chrono::milliseconds timeout = 10s) {
    const std::size_t before = buffer_.size();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      int got = fill(deadline);
      if (got == 0 || got == -1) return buffer_.size() == before;
      if (got == -2) return false;
    }
  }

 private:
  // Reads once: bytes read, 0 on EOF, -1 on an error, -2 on the deadline.
  int fill(std::chrono::steady_clock::time_point deadline) {
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return -2;
      pollfd p{fd_, POLLIN, 0};
      int ready = ::poll(&p, 1, static_cast<int>(left.count()));
      if (ready <= 0) continue;
      char chunk[65536];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return -1;
      buffer_.append(chunk, static_cast<std::size_t>(n));
      return static_cast<int>(n);
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

// An http::Server on 127.0.0.1, port 0, running on a test thread until destroyed.
class RunningServer {
 public:
  RunningServer(const std::function<void(Router&)>& setup, ServerOptions options = {}) : server_(adjust(options)) {
    setup(server_.router());
    server_.listen();
    thread_ = std::thread([this] {
      server_.run();
      returned_.set_value();
    });
  }
  ~RunningServer() {
    server_.shutdown(2000ms);
    if (!wait_stopped(15s)) {
      ADD_FAILURE() << "Server::run() did not return after shutdown()";
      std::fprintf(stderr, "aborting: the server does not stop\n");
      std::abort();
    }
    thread_.join();
  }
  std::uint16_t port() const { return server_.port(); }
  Server& server() { return server_; }
  bool wait_stopped(std::chrono::milliseconds timeout) {
    return stopped_.wait_for(timeout) == std::future_status::ready;
  }

 private:
  static ServerOptions adjust(ServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    if (options.threads == 0) options.threads = 1;
    return options;
  }
  Server server_;
  std::promise<void> returned_;
  std::future<void> stopped_ = returned_.get_future();
  std::thread thread_;
};

std::string get(std::string_view target, std::string_view extra_headers = {}) {
  std::string request = "GET ";
  request += target;
  request += " HTTP/1.1\r\nHost: localhost\r\n";
  request += extra_headers;
  request += "\r\n";
  return request;
}

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
