// http::Server end to end: a real server on 127.0.0.1 port 0 with custom routes, and
// a POSIX socket client on the test thread.

#include <switchboard/http.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/beast/http.hpp>

#include "support/http_client.hpp"

#include "net/loop.hpp"
#include "net/loop_group.hpp"

namespace switchboard::http {
namespace {

using namespace std::chrono_literals;
using namespace switchboard::http::test;


// Answers on a later loop turn: posts `fn` twice, so at least one whole turn passes.
void later(std::function<void()> fn) {
  net::Loop* loop = net::Loop::current();
  ASSERT_NE(loop, nullptr);
  loop->post([loop, fn = std::move(fn)] { loop->post(fn); });
}

// ---------------------------------------------------------------------------------
// Basics

TEST(Server, HealthCheckAnswersOk) {
  RunningServer running([](Router&) {});
  HttpClient client(running.port());
  client.send(get("/healthz"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  EXPECT_EQ(r->header("Content-Length"), "3");
  EXPECT_TRUE(r->has("Date"));
  EXPECT_TRUE(r->keep_alive);
}

TEST(Server, HealthCheckCanBeTurnedOff) {
  ServerOptions options;
  options.health_check = false;
  RunningServer running([](Router&) {}, options);
  HttpClient client(running.port());
  client.send(get("/healthz"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
}

TEST(Server, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  RunningServer running([](Router& router) {
    router.get("/thing", [](Request&, Response& res) { res.send("thing"); });
    router.del("/thing", [](Request&, Response& res) { res.send("deleted"); });
  });
  HttpClient client(running.port());
  client.send(get("/nothing"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(r->keep_alive);
  client.send("POST /thing HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->header("Allow"), "GET, HEAD, DELETE");
  client.send(get("/thing"));
  r = client.read_response();
  ASSERT_TRUE(r) << "the connection stays in step after a refused body";
  EXPECT_EQ(r->body, "thing");
}

TEST(Server, StatusHeadersAndJsonErrors) {
  RunningServer running([](Router& router) {
    router.post("/create", [](Request&, Response& res) { res.status(201).header("X-Id", "7").send("made"); });
    router.get("/error", [](Request&, Response& res) { res.send_json_error(422, "bad \"input\""); });
  });
  HttpClient client(running.port());
  client.send("POST /create HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->header("X-Id"), "7");
  EXPECT_EQ(r->body, "made");
  client.send(get("/error"));
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(r->body, R"({"error":"bad \"input\""})");
}

TEST(Server, RequestCarriesDecodedPathParamsQueryAndPeer) {
  std::promise<std::string> seen;
  RunningServer running([&](Router& router) {
    router.get("/rooms/:room/*", [&](Request& req, Response& res) {
      seen.set_value(std::string(req.path()) + "|" + std::string(req.param("room")) + "|" +
                     std::string(req.param("*")) + "|" + req.query_param("q").value_or("-") + "|" +
                     req.remote_address());
      res.send("ok");
    });
  });
  HttpClient client(running.port());
  client.send(get("/rooms/a%20b/x/y.txt?q=hello+there"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  auto f = seen.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), "/rooms/a b/x/y.txt|a b|x/y.txt|hello there|127.0.0.1");
}

TEST(Server, AbsoluteFormTargetIsRoutedByItsPath) {
  RunningServer running([](Router& router) {
    router.get("/abs", [](Request& req, Response& res) { res.send(req.path()); });
  });
  HttpClient client(running.port());
  client.send(get("http://example.com/abs?x=1"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "/abs");
}

TEST(Server, PathWithAnEncodedNulIsRefused) {
  RunningServer running([](Router& router) { router.get("/*", [](Request&, Response& res) { res.send("x"); }); });
  HttpClient client(running.port());
  client.send(get("/a%00b"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Server, HeadRequestGetsTheHeadersWithoutTheBody) {
  RunningServer running([](Router& router) {
    router.get("/page", [](Request&, Response& res) { res.send(200, "0123456789", "text/plain"); });
  });
  HttpClient client(running.port());
  client.send("HEAD /page HTTP/1.1\r\nHost: x\r\n\r\n");
  auto r = client.read_response(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("Content-Length"), "10");
  // Nothing but the head was sent: the next response parses cleanly.
  client.send(get("/page"));
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "0123456789");
}

TEST(Server, PostBodyReachesTheHandler) {
  RunningServer running([](Router& router) {
    router.post("/echo", [](Request& req, Response& res) { res.send(req.body()); });
  });
  HttpClient client(running.port());
  const std::string body(100000, 'b');
  std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + body;
  client.send(request.substr(0, 30));
  std::this_thread::sleep_for(20ms);
  client.send(request.substr(30, 5000));
  std::this_thread::sleep_for(20ms);
  client.send(request.substr(5030));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_TRUE(r->body == body);
}

TEST(Server, BodyOverTheRouteLimitIs413AsPlainTextAndCloses) {
  RunningServer running([](Router& router) {
    router.post("/small", [](Request&, Response& res) { res.send("ok"); }, RouteOptions{.max_body_size = 10});
  });
  HttpClient client(running.port());
  client.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  // The layer's errors are text unless the route has an error responder (below).
  EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r->body, "request body too large\n");
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(client.closed_by_server());
}

// A route's error responder: what a JSON API uses to answer the layer's errors in JSON.
RouteOptions json_errors(std::size_t max_body_size, std::atomic<int>* calls = nullptr) {
  RouteOptions options{.max_body_size = max_body_size};
  options.error_response = [calls](const Request& req, Response& res, int status, std::string_view message) {
    if (calls) ++*calls;
    res.header("X-Request-Id", req.request_id());
    res.send_json_error(status, std::string(req.path()) + ": " + std::string(message));
  };
  return options;
}

TEST(Server, ErrorResponderShapesThe413OfABodyOverTheLimit) {
  std::atomic<int> handled{0};
  RunningServer running([&](Router& router) {
    router.post("/api", [&](Request&, Response& res) { ++handled; res.send("ok"); }, json_errors(10));
    router.post("/plain", [](Request&, Response& res) { res.send("ok"); }, RouteOptions{.max_body_size = 10});
  });
  HttpClient client(running.port());
  client.send("POST /api HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-1\r\nContent-Length: 11\r\n\r\nhello world");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("Content-Type"), "application/json");
  EXPECT_EQ(r->header("X-Request-Id"), "abc-1");
  EXPECT_EQ(r->body, R"({"error":"/api: request body too large"})");
  EXPECT_FALSE(r->keep_alive);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(handled, 0);
  // Another route keeps the default.
  HttpClient other(running.port());
  other.send("POST /plain HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
  r = other.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "request body too large\n");
}

TEST(Server, ErrorResponderShapesErrorsFoundInTheBody) {
  std::atomic<int> calls{0};
  RunningServer running([&](Router& router) {
    router.post("/api", [](Request&, Response& res) { res.send("ok"); }, json_errors(10, &calls));
  });
  {
    // A chunked body passes the limit only once its chunks arrive.
    HttpClient client(running.port());
    client.send("POST /api HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n");
    client.send("5\r\nworld\r\n0\r\n\r\n");
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->header("Content-Type"), "application/json");
    EXPECT_EQ(r->body, R"({"error":"/api: request body too large"})");
  }
  {
    HttpClient client(running.port());
    client.send("POST /api HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n");
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->header("Content-Type"), "application/json");
    EXPECT_EQ(r->body, R"({"error":"/api: malformed request"})");
    EXPECT_TRUE(client.closed_by_server());
  }
  EXPECT_EQ(calls, 2);
  {
    // Refused before routing: no route to ask.
    HttpClient client(running.port());
    client.send("NOT HTTP AT ALL\r\n\r\n");
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_EQ(r->header("Content-Type"), "text/plain; charset=utf-8");
  }
  EXPECT_EQ(calls, 2);
}

TEST(Server, ErrorResponderShapesTheTimeoutOfABodyThatStalls) {
  ServerOptions options;
  options.request_timeout = 300ms;
  RunningServer running(
      [](Router& router) { router.post("/api", [](Request&, Response& res) { res.send("ok"); }, json_errors(100)); },
      options);
  HttpClient client(running.port());
  client.send("POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nonly part");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(r->body, R"({"error":"/api: request not received in time"})");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Server, ErrorResponderThatAnswersNothingOrThrowsGetsTheDefault) {
  RunningServer running([](Router& router) {
    RouteOptions silent{.max_body_size = 10};
    silent.error_response = [](const Request&, Response& res, int, std::string_view) { res.header("X-Lost", "1"); };
    router.post("/silent", [](Request&, Response& res) { res.send("ok"); }, silent);
    RouteOptions throws{.max_body_size = 10};
    throws.error_response = [](const Request&, Response&, int, std::string_view) -> void {
      throw std::runtime_error("responder failed");
    };
    router.post("/throws", [](Request&, Response& res) { res.send("ok"); }, throws);
  });
  for (std::string path : {"/silent", "/throws"}) {
    HttpClient client(running.port());
    client.send("POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
    auto r = client.read_response();
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 413) << path;
    EXPECT_EQ(r->body, "request body too large\n") << path;
    EXPECT_FALSE(r->has("X-Lost")) << path;
    EXPECT_TRUE(client.closed_by_server()) << path;
  }
}

TEST(Server, ExpectContinueGets100BeforeTheBodyIsSent) {
  RunningServer running([](Router& router) {
    router.post("/upload", [](Request& req, Response& res) { res.send(req.body()); });
  });
  HttpClient client(running.port());
  client.send("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  auto interim = client.read_response();
  ASSERT_TRUE(interim);
  EXPECT_EQ(interim->status, 100);
  client.send("hello");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
}

TEST(Server, MalformedRequestIs400AndCloses) {
  RunningServer running([](Router&) {});
  HttpClient client(running.port());
  client.send("NOT HTTP AT ALL\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Server, SlowRequestHeadGets408) {
  ServerOptions options;
  options.request_timeout = 300ms;
  RunningServer running([](Router&) {}, options);
  HttpClient client(running.port());
  client.send("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Server, IdleKeepAliveConnectionIsClosedAfterTheTimeout) {
  ServerOptions options;
  options.keep_alive_timeout = 300ms;
  RunningServer running([](Router&) {}, options);
  HttpClient client(running.port());
  client.send(get("/healthz"));
  ASSERT_TRUE(client.read_response());
  EXPECT_TRUE(client.closed_by_server());
}

// ---------------------------------------------------------------------------------
// Keep-alive and HTTP/1.0

TEST(Server, KeepAliveServesSeveralRequestsOnOneConnection) {
  RunningServer running([](Router& router) {
    router.get("/n/:n", [](Request& req, Response& res) { res.send(req.param("n")); });
  });
  HttpClient client(running.port());
  for (int i = 0; i < 5; ++i) {
    client.send(get("/n/" + std::to_string(i)));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(i));
    EXPECT_TRUE(r->keep_alive);
  }
}

TEST(Server, ConnectionCloseIsHonoured) {
  RunningServer running([](Router&) {});
  HttpClient client(running.port());
  client.send(get("/healthz", "Connection: close\r\n"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Server, Http10IsAnsweredIn10AndClosed) {
  RunningServer running([](Router&) {});
  HttpClient client(running.port());
  client.send("GET /healthz HTTP/1.0\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version, 10u);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Server, Http10KeepAliveStaysOpen) {
  RunningServer running([](Router&) {});
  HttpClient client(running.port());
  client.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "keep-alive");
  client.send("GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// ---------------------------------------------------------------------------------
// Deferred and streamed responses

TEST(Server, DeferredResponseIsAnsweredFromAPostedFunction) {
  RunningServer running([](Router& router) {
    router.get("/later", [](Request&, Response& res) {
      res.defer();
      EXPECT_TRUE(res.open());
      later([res]() mutable {
        EXPECT_TRUE(res.open());
        res.send(200, "answered later");
        EXPECT_FALSE(res.open()) << "finished";
      });
    });
  });
  HttpClient client(running.port());
  client.send(get("/later"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "answered later");
  EXPECT_TRUE(r->keep_alive);
  client.send(get("/later"));
  r = client.read_response();
  ASSERT_TRUE(r) << "the connection serves the next request after a deferred one";
  EXPECT_EQ(r->body, "answered later");
}

TEST(Server, StreamedResponseUsesChunkedEncoding) {
  RunningServer running([](Router& router) {
    router.get("/stream", [](Request&, Response& res) {
      res.defer();
      res.header("Content-Type", "text/event-stream");
      res.begin_stream();
      EXPECT_TRUE(res.started());
      EXPECT_TRUE(res.write("hello "));
      EXPECT_TRUE(res.write(""));  // an empty piece is not the last chunk
      later([res]() mutable {
        EXPECT_TRUE(res.write("world"));
        later([res]() mutable {
          res.end();
          EXPECT_FALSE(res.write("after end"));
        });
      });
    });
  });
  HttpClient client(running.port());
  client.send(get("/stream"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(r->chunked);
  EXPECT_EQ(r->header("Content-Type"), "text/event-stream");
  EXPECT_FALSE(r->has("Content-Length"));
  EXPECT_EQ(r->body, "hello world");
  EXPECT_NE(r->raw.find("\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n"), std::string::npos) << r->raw;
  client.send(get("/healthz"));
  EXPECT_TRUE(client.read_response()) << "keep-alive after a chunked response";
}

TEST(Server, StreamToHttp10IsCloseDelimited) {
  RunningServer running([](Router& router) {
    router.get("/stream", [](Request&, Response& res) {
      res.defer();
      res.begin_stream();
      res.write("one ");
      later([res]() mutable {
        res.write("two");
        res.end();
      });
    });
  });
  HttpClient client(running.port());
  client.send("GET /stream HTTP/1.0\r\n\r\n");
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->chunked);
  EXPECT_EQ(r->body, "one two");
  EXPECT_EQ(r->header("Connection"), "close");
}

TEST(Server, OnAbortIsCalledWhenTheClientLeavesMidStream) {
  auto aborted = std::make_shared<std::promise<void>>();
  RunningServer running([aborted](Router& router) {
    router.get("/feed", [aborted](Request&, Response& res) {
      res.defer();
      res.begin_stream();
      res.write("first");
      res.on_abort([aborted] { aborted->set_value(); });
    });
  });
  auto f = aborted->get_future();
  {
    HttpClient client(running.port());
    client.send(get("/feed"));
    std::string seen = client.read_until("first");
    ASSERT_NE(seen.find("first"), std::string::npos);
    EXPECT_NE(f.wait_for(100ms), std::future_status::ready) << "aborted while the client is still there";
  }
  EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
}

TEST(Server, OnAbortIsNotCalledForAFinishedResponse) {
  auto aborted = std::make_shared<std::atomic<int>>(0);
  RunningServer running([aborted](Router& router) {
    router.get("/done", [aborted](Request&, Response& res) {
      res.on_abort([aborted] { aborted->fetch_add(1); });
      res.send("done");
    });
  });
  {
    HttpClient client(running.port());
    client.send(get("/done"));
    ASSERT_TRUE(client.read_response());
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(aborted->load(), 0);
}

// ---------------------------------------------------------------------------------
// Handlers that fail

TEST(Server, HandlerThatThrowsGets500AndTheConnectionCloses) {
  RunningServer running([](Router& router) {
    router.get("/boom", [](Request&, Response& res) {
      res.header("X-Partial", "yes");
      throw std::runtime_error("boom");
    });
  });
  HttpClient client(running.port());
  client.send(get("/boom"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_FALSE(r->has("X-Partial")) << "headers of the failed response are dropped";
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(Server, HandlerThatThrowsAfterDeferGets500) {
  RunningServer running([](Router& router) {
    router.get("/boom", [](Request&, Response& res) {
      res.defer();
      throw std::runtime_error("boom");
    });
  });
  HttpClient client(running.port());
  client.send(get("/boom"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_TRUE(client.closed_by_server());
}

// Once the head is out a 500 cannot be sent; the only honest end is to close the
// connection, or the client waits for the rest of a body that never comes.
TEST(Server, HandlerThatThrowsAfterTheStreamStartedClosesTheConnection) {
  RunningServer running([](Router& router) {
    router.get("/boom", [](Request&, Response& res) {
      res.begin_stream();
      res.write("partial");
      throw std::runtime_error("boom mid-stream");
    });
  });
  HttpClient client(running.port());
  client.send(get("/boom"));
  client.read_until("partial");
  EXPECT_TRUE(client.closed_by_server(5s)) << "the stream is left open with nobody to finish it";
}

TEST(Server, HandlerThatReturnsWithoutRespondingGets500) {
  RunningServer running([](Router& router) {
    router.get("/forgot", [](Request&, Response&) {});
  });
  HttpClient client(running.port());
  client.send(get("/forgot"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  client.send(get("/healthz"));
  r = client.read_response();
  ASSERT_TRUE(r) << "the connection is still usable";
  EXPECT_EQ(r->status, 200);
}

// ---------------------------------------------------------------------------------
// Pipelining

TEST(Server, PipelinedRequestsAreAnsweredInOrderWhenTheFirstIsDeferred) {
  RunningServer running([](Router& router) {
    router.get("/slow", [](Request&, Response& res) {
      res.defer();
      later([res]() mutable { later([res]() mutable { res.send("slow"); }); });
    });
    router.get("/fast", [](Request&, Response& res) { res.send("fast"); });
  });
  HttpClient client(running.port());
  client.send(get("/slow") + get("/fast") + get("/slow") + get("/fast"));
  for (const char* expected : {"slow", "fast", "slow", "fast"}) {
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, expected);
  }
}

TEST(Server, ManyPipelinedRequestsInOneSegment) {
  RunningServer running([](Router& router) {
    router.get("/n/:n", [](Request& req, Response& res) { res.send(req.param("n")); });
  });
  HttpClient client(running.port());
  std::string all;
  for (int i = 0; i < 50; ++i) all += get("/n/" + std::to_string(i));
  client.send(all);
  for (int i = 0; i < 50; ++i) {
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(i));
  }
}

// ---------------------------------------------------------------------------------
// A client that half-closes after its request (shutdown(SHUT_WR)) still reads the
// answer.

TEST(Server, HalfClosedClientGetsTheWholeResponse) {
  const std::string big(8 * 1024 * 1024, 'z');
  RunningServer running([&big](Router& router) {
    router.get("/big", [&big](Request&, Response& res) { res.send(big); });
  });
  HttpClient client(running.port(), 16 * 1024);
  client.send(get("/big", "Connection: close\r\n"));
  client.shutdown_write();
  auto r = client.read_response(false, 20s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), big.size());
}

// ---------------------------------------------------------------------------------
// Shutdown

TEST(Server, ShutdownClosesAnIdleKeepAliveConnectionAndRunReturns) {
  auto running = std::make_unique<RunningServer>([](Router&) {});
  HttpClient client(running->port());
  client.send(get("/healthz"));
  auto r = client.read_response();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->keep_alive);
  running->server().shutdown(5000ms);
  EXPECT_TRUE(client.closed_by_server()) << "the idle connection is closed at once";
  client.close();
  EXPECT_TRUE(running->wait_stopped(10s)) << "run() returns once the connections are gone";
  running.reset();
}

TEST(Server, ShutdownLetsTheRequestInFlightFinish) {
  auto pending = std::make_shared<std::optional<Response>>();
  auto running = std::make_unique<RunningServer>([pending](Router& router) {
    router.get("/wait", [pending](Request&, Response& res) {
      res.defer();
      *pending = res;
    });
  });
  HttpClient client(running->port());
  client.send(get("/wait"));
  std::this_thread::sleep_for(200ms);  // let the handler run
  running->server().shutdown(5000ms);
  EXPECT_FALSE(running->wait_stopped(200ms)) << "stopped with a response in flight";
  running->server().loops().loop(0).post([pending] {
    ASSERT_TRUE(pending->has_value());
    (*pending)->send("finished");
    pending->reset();
  });
  auto r = client.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(client.closed_by_server());
  client.close();
  EXPECT_TRUE(running->wait_stopped(10s));
  running.reset();
}

TEST(Server, ShutdownEndsAnEndlessStream) {
  auto running = std::make_unique<RunningServer>([](Router& router) {
    router.get("/sse", [](Request&, Response& res) {
      res.defer();
      res.begin_stream();
      res.write("data: 1\n\n");
    });
  });
  HttpClient client(running->port());
  client.send(get("/sse"));
  client.read_until("data: 1");
  running->server().shutdown(5000ms);
  auto r = client.read_response();
  ASSERT_TRUE(r) << "the stream is ended with its last chunk";
  EXPECT_EQ(r->body, "data: 1\n\n");
  EXPECT_TRUE(client.closed_by_server());
  client.close();
  EXPECT_TRUE(running->wait_stopped(10s));
  running.reset();
}

TEST(Server, TwoThreadsServeEveryConnectionAndShutDown) {
  ServerOptions options;
  options.threads = 2;
  auto running = std::make_unique<RunningServer>(
      [](Router& router) {
        router.get("/loop", [](Request&, Response& res) { res.send(std::to_string(net::Loop::current()->index())); });
      },
      options);
  std::set<std::string> loops;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 40; ++i) {
    clients.push_back(std::make_unique<HttpClient>(running->port()));
    clients.back()->send(get("/loop"));
    auto r = clients.back()->read_response();
    ASSERT_TRUE(r);
    loops.insert(r->body);
  }
  EXPECT_EQ(loops, (std::set<std::string>{"0", "1"}));
  running->server().shutdown(5000ms);
  for (auto& client : clients) EXPECT_TRUE(client->closed_by_server());
  clients.clear();
  EXPECT_TRUE(running->wait_stopped(10s));
  running.reset();
}

TEST(Server, ListenOnAnAddressThatIsNotLocalThrows) {
  ServerOptions options;
  options.host = "192.0.2.1";
  options.port = 0;
  options.threads = 1;
  Server server(options);
  EXPECT_THROW(server.listen(), std::runtime_error);
}

TEST(Server, ThreadsResolvesZeroToOnePerCore) {
  ServerOptions options;
  options.threads = 0;
  Server server(options);
  EXPECT_EQ(server.threads(), std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(server.port(), 0) << "no port before listen()";
}

}  // namespace
}  // namespace switchboard::http
