#include "app/http_api.hpp"

#include <array>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <openssl/crypto.h>

#include "app/chat_events.hpp"
#include "core/log.hpp"

namespace switchboard::app {

namespace {

namespace json = boost::json;

// Names the Socket.IO client keeps for itself: emitting one would confuse every client
// (the Node server refuses them too).
constexpr std::array<std::string_view, 6> reserved_events = {"connect",       "connect_error", "disconnect",
                                                             "disconnecting", "newListener",   "removeListener"};

void send_error(http::Response& res, int status, std::string_view message, std::string_view field = {}) {
  json::object body{{"error", message}};
  if (!field.empty()) body["field"] = field;
  res.send(status, json::serialize(body), "application/json");
}

// The request's JSON object, or nullopt after answering 400.
std::optional<json::object> read_body(const http::Request& req, http::Response& res) {
  boost::system::error_code ec;
  json::value body = json::parse(req.body(), ec);
  if (ec) {
    send_error(res, 400, "the body is not JSON: " + ec.message());
    return std::nullopt;
  }
  if (!body.is_object()) {
    send_error(res, 400, "the body must be a JSON object");
    return std::nullopt;
  }
  return std::move(body.as_object());
}

// A required non-empty string field, or nullopt after answering 400.
std::optional<std::string> required_string(const json::object& body, std::string_view field, http::Response& res) {
  const json::value* v = body.if_contains(field);
  if (!v) {
    send_error(res, 400, std::string(field) + " is required", field);
    return std::nullopt;
  }
  if (!v->is_string() || v->as_string().empty()) {
    send_error(res, 400, std::string(field) + " must be a non-empty string", field);
    return std::nullopt;
  }
  if (chat::utf16_length(v->as_string()) > chat::max_id_length) {
    send_error(res, 400, std::string(field) + " is longer than " + std::to_string(chat::max_id_length) + " characters",
               field);
    return std::nullopt;
  }
  return std::string(v->as_string());
}

// The fields both endpoints share: the namespace, the event and its data.
struct Emission {
  sio::Namespace* nsp = nullptr;
  std::string event;
  sio::Args args;
  // Socket.IO's volatile emit: a connection that cannot take it now (its queue above
  // the high-water mark, or a polling client between requests) does not get it — for
  // tickers and live values, where the next update replaces a lost one.
  bool volatile_ = false;

  // The namespace's broadcast operator for these options, narrowed by `to`.
  sio::BroadcastOperator target(std::optional<std::string> room) const {
    sio::BroadcastOperator op = room ? nsp->to(std::move(*room)) : nsp->all();
    return volatile_ ? op.volatile_() : op;
  }
};

std::optional<Emission> read_emission(const json::object& body, const NamespaceTable& namespaces,
                                      http::Response& res) {
  Emission out;
  auto event = required_string(body, "event", res);
  if (!event) return std::nullopt;
  for (auto reserved : reserved_events) {
    if (*event == reserved) {
      send_error(res, 400, "event \"" + *event + "\" is reserved by Socket.IO", "event");
      return std::nullopt;
    }
  }
  out.event = std::move(*event);
  std::string nsp = "/";
  if (const json::value* given = body.if_contains("nsp")) {
    if (!given->is_string()) {
      send_error(res, 400, "nsp must be a string such as \"/chat\"", "nsp");
      return std::nullopt;
    }
    nsp = given->as_string();
  }
  auto it = namespaces.find(nsp);
  if (it == namespaces.end()) {
    std::string known;
    for (const auto& [name, _] : namespaces) known += (known.empty() ? "" : ", ") + name;
    send_error(res, 404, "nsp: no namespace \"" + nsp + "\" (there are: " + known + ")", "nsp");
    return std::nullopt;
  }
  out.nsp = it->second;
  if (const json::value* given = body.if_contains("volatile")) {
    if (!given->is_bool()) {
      send_error(res, 400, "volatile must be true or false", "volatile");
      return std::nullopt;
    }
    out.volatile_ = given->as_bool();
  }
  // No data: the event goes out with no argument.
  if (const json::value* data = body.if_contains("data")) out.args.add(*data);
  return out;
}

}  // namespace

bool api_key_matches(std::string_view given, const std::string& key) {
  // Constant time, so the key cannot be guessed byte by byte from response times.
  return given.size() == key.size() && CRYPTO_memcmp(given.data(), key.data(), key.size()) == 0;
}

bool authorized(const http::Request& req, const std::string& key) {
  if (key.empty()) return true;
  constexpr std::string_view scheme = "Bearer ";
  std::string_view header = req.header("Authorization");
  if (!header.starts_with(scheme)) return false;
  return api_key_matches(header.substr(scheme.size()), key);
}

namespace {

// The request's JSON body once its API key passed; else the 401 or 400 was sent.
std::optional<json::object> authorized_body(http::Request& req, http::Response& res, const std::string& key) {
  if (!authorized(req, key)) {
    res.header("WWW-Authenticate", "Bearer");
    send_error(res, 401, "a valid API key is required: Authorization: Bearer <key>");
    return std::nullopt;
  }
  return read_body(req, res);
}

}  // namespace

void mount_http_api(http::Router& router, NamespaceTable namespaces, HttpApiOptions options) {
  auto shared = std::make_shared<const std::pair<NamespaceTable, HttpApiOptions>>(std::move(namespaces),
                                                                                  std::move(options));
  http::RouteOptions route;
  route.max_body_size = shared->second.max_body_size;
  // The errors the HTTP layer finds before a handler runs (413, a malformed chunked
  // body, a body that stalls) answer in JSON like the handlers' own.
  route.error_response = [limit = route.max_body_size](const http::Request& req, http::Response& res, int status,
                                                        std::string_view message) {
    res.header("X-Request-Id", req.request_id());
    if (status == 413) {
      send_error(res, status, "the body is larger than the limit of " + std::to_string(limit) + " bytes");
    } else {
      send_error(res, status, message);
    }
  };

  router.post(
      "/api/publish",
      [shared](http::Request& req, http::Response& res) {
        res.header("X-Request-Id", req.request_id());
        auto body = authorized_body(req, res, shared->second.api_key);
        if (!body) return;
        auto room = required_string(*body, "room", res);
        if (!room) return;
        auto emission = read_emission(*body, shared->first, res);
        if (!emission) return;
        log::debug({.component = "api", .req = req.request_id(), .nsp = emission->nsp->name()},
                   "publish {} to room {}", emission->event, *room);
        emission->target(chat::api_room(*room)).emit(emission->event, std::move(emission->args));
        res.send(200, R"({"success":true})", "application/json");
      },
      route);

  router.post(
      "/api/broadcast",
      [shared](http::Request& req, http::Response& res) {
        res.header("X-Request-Id", req.request_id());
        auto body = authorized_body(req, res, shared->second.api_key);
        if (!body) return;
        auto emission = read_emission(*body, shared->first, res);
        if (!emission) return;
        log::debug({.component = "api", .req = req.request_id(), .nsp = emission->nsp->name()}, "broadcast {}",
                   emission->event);
        emission->target(std::nullopt).emit(emission->event, std::move(emission->args));
        res.send(200, R"({"success":true})", "application/json");
      },
      route);
}

}  // namespace switchboard::app
