#include <switchboard/engineio.hpp>


#include <atomic>
#include <cstdlib>
#include <vector>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/encoding.hpp"
#include "core/pool.hpp"
#include "eio/session.hpp"
#include "http/compression.hpp"
#include "http/session.hpp"
#include "http/url.hpp"
#include "net/loop_group.hpp"
#include "ws/codec/frame.hpp"
#include "ws/handshake.hpp"
#include "ws/upgrade.hpp"

namespace switchboard::eio {
namespace detail {
namespace {

// Engine.IO error codes and messages, as Node's engine.io sends them
// (Server.errors / Server.errorMessages).
enum ErrorCode {
  unknown_transport = 0,
  unknown_sid = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5,
};

std::string_view error_message(int code) {
  switch (code) {
    case unknown_transport: return "Transport unknown";
    case unknown_sid: return "Session ID unknown";
    case bad_handshake_method: return "Bad handshake method";
    case bad_request: return "Bad request";
    case forbidden: return "Forbidden";
    case unsupported_protocol_version: return "Unsupported protocol version";
  }
  return "Bad request";
}

void send_error(http::Response& response, const std::vector<std::pair<std::string, std::string>>& headers, int code,
                std::string_view message = {}) {
  for (const auto& [name, value] : headers) response.header(name, value);
  if (message.empty()) message = error_message(code);
  response.send(code == forbidden ? 403 : 400,
                "{\"code\":" + std::to_string(code) + ",\"message\":" + core::json_quote(message) + "}",
                "application/json");
}

constexpr char base64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int base64url_value(char c) {
  for (int i = 0; i < 64; ++i) {
    if (base64url[i] == c) return i;
  }
  return -1;
}

// A session id: two characters naming the owning loop, then 128 random bits from
// the kernel's CSPRNG (22 base64url characters). The loop is in the id so that a request
// reaching any loop finds the session's loop without a shared table.
std::string make_sid(unsigned loop) {
  std::string sid;
  sid.reserve(24);
  sid += base64url[(loop >> 6) & 63];
  sid += base64url[loop & 63];
  sid += core::random_base64url(16);
  return sid;
}

// The loop a session id names, or -1.
int loop_of(std::string_view sid) {
  if (sid.size() != 24) return -1;
  int high = base64url_value(sid[0]);
  int low = base64url_value(sid[1]);
  if (high < 0 || low < 0) return -1;
  return high * 64 + low;
}

Handshake make_handshake(const http::Request& request, bool trust_proxy) {
  std::string_view address = request.remote_address();
  if (trust_proxy) {
    std::string_view forwarded = core::trim_whitespace(request.header("X-Forwarded-For"));
    if (!forwarded.empty()) address = core::trim_whitespace(forwarded.substr(0, forwarded.find(',')));
  }
  Handshake handshake;
  handshake.request = http::RequestHead(request, address);
  return handshake;
}

// What a WebSocket of the Engine.IO route carries (its user data, for its lifetime):
// the session it belongs to, and until it opens, what a WebSocket-only session is made
// of — kept apart so that it is freed at the open.
// (From the pools, as std::any allocates it with new: it lives as long as the WebSocket.)
struct WebSocketLink : core::PoolAllocated<WebSocketLink> {
  struct Opening {
    std::shared_ptr<ServerState> server;
    Protocol protocol = Protocol::v4;
    Handshake handshake;
    std::string sid;
  };
  std::shared_ptr<Session> session;
  std::shared_ptr<Opening> opening;  // shared, not unique: std::any copies
};

Reply make_reply(http::Response& response, const http::Request& request,
                 std::vector<std::pair<std::string, std::string>> headers) {
  // Node's engine.io offers gzip, then deflate (no x-gzip alias: its negotiator has none).
  std::string_view coding = http::preferred_coding(request.header("Accept-Encoding"), {"gzip", "deflate"});
  return Reply(response, *net::Loop::current(), std::move(headers), coding == "gzip", coding == "deflate");
}

std::atomic<std::uint64_t> next_reply_id{1};

void join(std::string& out, const std::vector<std::string>& items) {
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
}

}  // namespace

void ServerState::count_refusal(int code) {
  net::Loop* loop = net::Loop::current();
  if (!loop || code < 0 || code >= static_cast<int>(Server::Stats::refusal_codes)) return;
  stats[loop->index()].refused[code].add(1);
}

void ServerState::refuse(http::Response& response, const std::vector<std::pair<std::string, std::string>>& headers,
                         int code, std::string_view message) {
  count_refusal(code);
  send_error(response, headers, code, message);
}

std::shared_ptr<Session> session_of(ws::WebSocket& socket) {
  auto* link = std::any_cast<WebSocketLink>(&socket.user_data());
  return link ? link->session : nullptr;
}

bool ServerState::polling_allowed() const {
  return std::find(options.transports.begin(), options.transports.end(), "polling") != options.transports.end();
}

bool ServerState::websocket_allowed() const {
  return std::find(options.transports.begin(), options.transports.end(), "websocket") != options.transports.end();
}

std::shared_ptr<Session> ServerState::find(unsigned thread, const std::string& sid) {
  auto& sessions = threads[thread].by_id;
  auto it = sessions.find(sid);
  return it == sessions.end() ? nullptr : it->second;
}

void ServerState::handle(http::Request& request, http::Response& response) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (options.cors) {
    const Cors& cors = *options.cors;
    std::string_view origin = request.header("Origin");
    bool any = std::find(cors.origins.begin(), cors.origins.end(), "*") != cors.origins.end();
    bool listed = std::find(cors.origins.begin(), cors.origins.end(), origin) != cors.origins.end();
    if (any && !cors.credentials) {
      headers.emplace_back("Access-Control-Allow-Origin", "*");
    } else if (!origin.empty() && (any || listed)) {
      headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
      headers.emplace_back("Vary", "Origin");
    }
    if (cors.credentials) headers.emplace_back("Access-Control-Allow-Credentials", "true");
    if (request.method() == "OPTIONS") {
      // The preflight (Fetch standard §3.2.2), answered before any Engine.IO check.
      std::string methods;
      join(methods, cors.methods);
      headers.emplace_back("Access-Control-Allow-Methods", methods);
      std::string allowed;
      join(allowed, cors.allowed_headers);
      if (allowed.empty()) allowed = std::string(request.header("Access-Control-Request-Headers"));
      if (!allowed.empty()) headers.emplace_back("Access-Control-Allow-Headers", allowed);
      if (cors.max_age.count() > 0) headers.emplace_back("Access-Control-Max-Age", std::to_string(cors.max_age.count()));
      for (const auto& [name, value] : headers) response.header(name, value);
      response.status(204).send();
      return;
    }
  }
  // The `headers` hook's headers go on every response, the WebSocket 101 included (CORS
  // headers do not: browsers do not check them on an upgrade).
  std::vector<std::pair<std::string, std::string>> hooked;
  if (options.headers) options.headers(request, hooked);
  headers.insert(headers.end(), hooked.begin(), hooked.end());

  // Checked in the order of Node's engine.io (Server.verify, then handshake): the
  // transport, the session, the handshake's method, allow_request, the version.
  auto eio = request.query_param("EIO");
  // Node takes anything but "4" for v3.
  Protocol protocol = eio && *eio == "4" ? Protocol::v4 : Protocol::v3;
  auto transport = request.query_param("transport");
  bool upgrade_request = core::has_token(request.header("Upgrade"), "websocket");
  if (!transport || (*transport == "polling" && !polling_allowed()) ||
      (*transport == "websocket" && !websocket_allowed()) || (*transport != "polling" && *transport != "websocket")) {
    refuse(response, headers, unknown_transport);
    return;
  }
  if (upgrade_request != (*transport == "websocket")) {
    refuse(response, headers, bad_request);
    return;
  }
  auto sid = request.query_param("sid");
  if (!sid) {
    handshake(request, response, protocol, upgrade_request, std::move(headers), std::move(hooked));
    return;
  }
  int loop = loop_of(*sid);
  net::Loop* here = net::Loop::current();
  if (loop < 0 || static_cast<unsigned>(loop) >= threads.size()) {
    refuse(response, headers, unknown_sid);
    return;
  }
  if (static_cast<unsigned>(loop) == here->index()) {
    handle_local(*sid, request, response, protocol, upgrade_request, std::move(headers), hooked);
    return;
  }
  net::Loop& owner = http->loops().loop(static_cast<unsigned>(loop));
  if (upgrade_request) {
    // The WebSocket goes to the session's loop once, where the request is handled
    // again from its start.
    http::detail::replay_on(response, owner);
    return;
  }
  // A polling request for a session of another loop: relayed there as a message; the
  // answer comes back to this loop, which owns the HTTP connection.
  response.defer();
  Reply reply = make_reply(response, request, std::move(headers));
  std::uint64_t id = next_reply_id.fetch_add(1, std::memory_order_relaxed);
  reply.set_id(id);
  bool get = request.method() == "GET";
  if (get) {
    response.on_abort([self = shared_from_this(), &owner, loop, sid = *sid, id] {
      owner.post([self, loop, sid, id] {
        if (auto session = self->find(static_cast<unsigned>(loop), sid)) session->on_poll_aborted(id);
      });
    });
  }
  bool post = request.method() == "POST";
  bool binary = request.header("Content-Type") == "application/octet-stream";
  owner.post([self = shared_from_this(), loop, sid = *sid, get, post, binary, protocol,
              body = std::string(request.body()), reply = std::move(reply)]() mutable {
    auto session = self->find(static_cast<unsigned>(loop), sid);
    if (!session) {
      self->count_refusal(unknown_sid);
      reply.send_error(unknown_sid, error_message(unknown_sid));
    } else if (session->protocol_version() != protocol) {
      self->count_refusal(bad_request);
      reply.send_error(bad_request, error_message(bad_request));
    } else if (get) {
      session->on_poll(std::move(reply));
    } else if (post) {
      session->on_post(body, binary, std::move(reply));
    } else {
      self->count_refusal(bad_request);
      reply.send_error(bad_request, error_message(bad_request));
    }
  });
}

void ServerState::handle_local(const std::string& sid, http::Request& request, http::Response& response,
                               Protocol protocol, bool websocket, std::vector<std::pair<std::string, std::string>> headers,
                               const std::vector<std::pair<std::string, std::string>>& hooked) {
  net::Loop& loop = *net::Loop::current();
  auto session = find(loop.index(), sid);
  if (!session) {
    refuse(response, headers, unknown_sid);
    return;
  }
  if (session->protocol_version() != protocol) {
    refuse(response, headers, bad_request);  // Node: PROTOCOL_MISMATCH
    return;
  }
  if (websocket) {
    if (!options.allow_upgrades) {
      refuse(response, headers, bad_request);
      return;
    }
    // The probe socket: accepted, then the session decides (a second WebSocket for a
    // session is closed right away).
    ws::detail::accept(websocket_route, request, response, WebSocketLink{{}, session, nullptr},
                       nullptr, hooked);
    return;
  }
  Reply reply = make_reply(response, request, std::move(headers));
  reply.set_id(next_reply_id.fetch_add(1, std::memory_order_relaxed));
  if (request.method() == "GET") {
    response.defer();
    response.on_abort([weak = std::weak_ptr<Session>(session), id = reply.id()] {
      if (auto s = weak.lock()) s->on_poll_aborted(id);
    });
    session->on_poll(std::move(reply));
  } else if (request.method() == "POST") {
    session->on_post(request.body(), request.header("Content-Type") == "application/octet-stream", std::move(reply));
  } else {
    count_refusal(bad_request);
    reply.send_error(bad_request, error_message(bad_request));
  }
}

void ServerState::handshake(http::Request& request, http::Response& response, Protocol protocol, bool websocket,
                            std::vector<std::pair<std::string, std::string>> headers,
                            std::vector<std::pair<std::string, std::string>> hooked) {
  if (request.method() != "GET") {
    refuse(response, headers, bad_handshake_method);
    return;
  }
  if (options.allow_request) {
    std::string error;
    if (!options.allow_request(request, error)) {
      refuse(response, headers, forbidden, error);
      return;
    }
  }
  if (protocol == Protocol::v3 && !options.allow_eio3) {
    refuse(response, headers, unsupported_protocol_version);
    return;
  }
  net::Loop& loop = *net::Loop::current();
  std::string sid = make_sid(loop.index());
  if (options.initial_headers) {
    std::vector<std::pair<std::string, std::string>> initial;
    options.initial_headers(request, initial);
    headers.insert(headers.end(), initial.begin(), initial.end());
    hooked.insert(hooked.end(), initial.begin(), initial.end());
  }
  if (options.cookie) {
    const Cookie& c = *options.cookie;
    std::string cookie = c.name + "=" + sid + "; Path=" + c.path;
    if (c.http_only) cookie += "; HttpOnly";
    if (!c.same_site.empty()) cookie += "; SameSite=" + c.same_site;
    headers.emplace_back("Set-Cookie", cookie);
  }
  Handshake opened_with = make_handshake(request, options.trust_proxy);
  if (websocket) {
    auto opening = std::make_shared<WebSocketLink::Opening>(
        WebSocketLink::Opening{shared_from_this(), protocol, std::move(opened_with), sid});
    ws::detail::accept(websocket_route, request, response, WebSocketLink{{}, nullptr, std::move(opening)}, nullptr,
                       hooked);
    return;
  }
  auto session = std::allocate_shared<Session>(core::PoolAllocator<Session>(), *this, loop, sid, protocol,
                                               std::move(opened_with));
  threads[loop.index()].by_id.emplace(session->id_view(), session);
  session->start_polling(make_reply(response, request, std::move(headers)));
  if (on_connection) on_connection(*session);
}

}  // namespace detail

// ---------------------------------------------------------------------------------

Server::Server(http::Server& http, ServerOptions options) : state_(std::make_shared<detail::ServerState>()) {
  if (options.path.empty() || options.path.front() != '/') options.path.insert(0, "/");
  if (options.path.back() != '/') options.path += '/';
  state_->http = &http;
  state_->options = std::move(options);
  state_->threads.resize(http.threads());
  state_->stats = std::make_unique<detail::LoopStats[]>(http.threads());

  ws::Behavior& behavior = state_->websocket_route.behavior;
  behavior.max_message_size = state_->options.max_http_buffer_size;
  behavior.idle_timeout = std::chrono::seconds(0);  // Engine.IO's own heartbeat decides
  behavior.send_pings = false;
  behavior.compression.enabled = state_->options.per_message_deflate;
  if (behavior.compression.enabled) state_->websocket_route.deflate = ws::deflate_options(behavior.compression);
  behavior.open = [](ws::WebSocket& ws) {
    auto* link = std::any_cast<detail::WebSocketLink>(&ws.user_data());
    auto& socket = static_cast<ws::detail::Socket&>(ws);
    if (link->session) {
      link->session->on_probe_socket(socket);
      return;
    }
    // A WebSocket-only session starts here.
    net::Loop& loop = *net::Loop::current();
    auto opening = std::move(link->opening);
    detail::ServerState& server = *opening->server;
    auto session = std::allocate_shared<detail::Session>(core::PoolAllocator<detail::Session>(), server, loop,
                                                         std::move(opening->sid), opening->protocol,
                                                     std::move(opening->handshake));
    link->session = session;
    server.threads[loop.index()].by_id.emplace(session->id_view(), session);
    session->start_websocket(socket);
    if (server.on_connection) server.on_connection(*session);
  };
  behavior.message = [](ws::WebSocket& ws, std::string_view payload, bool binary) {
    if (auto session = detail::session_of(ws)) {
      session->on_websocket_message(static_cast<ws::detail::Socket&>(ws), payload, binary);
    }
  };
  behavior.close = [](ws::WebSocket& ws, std::uint16_t, std::string_view) {
    if (auto session = detail::session_of(ws)) session->on_websocket_closed(static_cast<ws::detail::Socket&>(ws));
  };
  behavior.drain = [](ws::WebSocket& ws) {
    if (auto session = detail::session_of(ws)) session->on_websocket_drain(static_cast<ws::detail::Socket&>(ws));
  };

  http::RouteOptions route;
  route.max_body_size = state_->options.max_http_buffer_size;
  http.router().any(state_->options.path + "*",
                    [state = state_.get()](http::Request& req, http::Response& res) { state->handle(req, res); }, route);
  http.on_shutdown([weak = std::weak_ptr<detail::ServerState>(state_)] {
    auto state = weak.lock();
    net::Loop* loop = net::Loop::current();
    if (!state || !loop) return;
    auto sessions = state->threads[loop->index()].by_id;  // closing edits the map
    for (auto& [id, session] : sessions) session->shut_down();
  });
}

Server::~Server() = default;

void Server::on_connection(std::function<void(Socket&)> handler) { state_->on_connection = std::move(handler); }
void Server::on_message(std::function<void(Socket&, std::string_view, bool)> handler) {
  state_->on_message = std::move(handler);
}
void Server::on_close(std::function<void(Socket&, std::string_view)> handler) { state_->on_close = std::move(handler); }
void Server::on_upgrade(std::function<void(Socket&)> handler) { state_->on_upgrade = std::move(handler); }
void Server::on_drain(std::function<void(Socket&)> handler) { state_->on_drain = std::move(handler); }

const ServerOptions& Server::options() const noexcept { return state_->options; }

std::size_t Server::session_count() const noexcept { return state_->session_count.load(std::memory_order_relaxed); }

Server::Stats Server::stats() const {
  Stats stats;
  std::uint64_t opened = 0, closed = 0;
  for (std::size_t i = 0; i < state_->threads.size(); ++i) {
    const detail::LoopStats& loop = state_->stats[i];
    stats.opened += loop.opened.get();
    opened += loop.websocket_opened.get();
    closed += loop.websocket_closed.get();
    for (std::size_t code = 0; code < Stats::refusal_codes; ++code) stats.refused[code] += loop.refused[code].get();
  }
  stats.websocket = opened > closed ? static_cast<std::size_t>(opened - closed) : 0;
  std::size_t sessions = session_count();
  stats.polling = sessions > stats.websocket ? sessions - stats.websocket : 0;
  return stats;
}

std::string_view Server::refusal_reason(int code) noexcept {
  switch (code) {
    case 0: return "unknown_transport";
    case 1: return "unknown_sid";
    case 2: return "bad_handshake_method";
    case 3: return "bad_request";
    case 4: return "forbidden";
    case 5: return "unsupported_protocol_version";
  }
  return "unknown";
}

SharedPacket Server::make_packet(std::string_view data, bool binary) {
  SharedPacket packet;
  packet.binary = binary;
  if (binary) {
    packet.polling_text = "b" + core::base64_encode(std::as_bytes(std::span(data.data(), data.size())));
  } else {
    packet.polling_text.reserve(data.size() + 1);
    packet.polling_text += '4';
    packet.polling_text.append(data);
  }
  std::string_view payload = binary ? data : std::string_view(packet.polling_text);
  SharedBuffer frame = SharedBuffer::with_capacity(ws::max_frame_header_size + payload.size());
  packet.frame_header_size =
      ws::write_frame_header(frame.spare(), binary ? ws::Opcode::binary : ws::Opcode::text, payload.size());
  frame.commit(packet.frame_header_size);
  frame.append(std::as_bytes(std::span(payload.data(), payload.size())));
  packet.websocket_frame = std::move(frame);
  return packet;
}

}  // namespace switchboard::eio
