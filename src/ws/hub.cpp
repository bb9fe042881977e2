#include "ws/hub.hpp"

#include <array>

#include <spdlog/spdlog.h>

#include "http/session.hpp"
#include "net/loop.hpp"
#include "net/loop_group.hpp"
#include "ws/handshake.hpp"
#include "ws/upgrade.hpp"

namespace switchboard::ws {
namespace detail {
namespace {

SharedBuffer build_frame(std::string_view payload, bool binary, bool rsv1, std::size_t& header_size) {
  SharedBuffer frame = SharedBuffer::with_capacity(max_frame_header_size + payload.size());
  header_size = write_frame_header(frame.spare(), binary ? Opcode::binary : Opcode::text, payload.size(), true, rsv1);
  frame.commit(header_size);
  frame.append(std::as_bytes(std::span(payload.data(), payload.size())));
  return frame;
}

}  // namespace

ThreadTopics& HubState::local() {
  net::Loop* loop = net::Loop::current();
  return threads[loop ? loop->index() : 0];
}


void HubState::count_refusal(int status) {
  net::Loop* loop = net::Loop::current();
  if (!loop || loop->index() >= threads.size()) return;
  RefusalCounters& counters = refused[loop->index()];
  switch (status) {
    case 0: counters.rejected.add(1); break;
    case 403: counters.forbidden_origin.add(1); break;
    case 426: counters.upgrade_required.add(1); break;
    default: counters.bad_request.add(1);
  }
}

void HubState::deliver(ThreadTopics& topics, std::string_view name, const SharedBuffer& frame,
                       std::size_t header_size, bool binary, const Socket* exclude) {
  auto it = topics.topics.find(std::string(name));
  if (it == topics.topics.end()) return;
  // A copy: a send may close a subscriber (slow consumer), which unsubscribes it.
  std::vector<Socket*> subscribers = it->second->subscribers;
  std::string_view payload = frame.view().substr(header_size);
  // Compressed once per window size, for the sockets that share their thread's
  // compressor; compressed frames are as shareable as plain ones.
  std::array<SharedBuffer, 16> compressed;
  for (Socket* socket : subscribers) {
    if (socket == exclude) continue;
    const DeflateState* deflate = socket->deflate();
    if (!deflate || payload.size() < deflate->threshold) {
      socket->send_shared(frame);
    } else if (deflate->own_deflater) {
      socket->send_message(payload, binary, true);
    } else {
      int bits = deflate->params.server_max_window_bits;
      SharedBuffer& cached = compressed[bits];
      if (!cached) {
        std::string body;
        shared_deflater(bits, deflate->level, deflate->mem_level).compress(payload, body);
        std::size_t ignored;
        cached = build_frame(body, binary, true, ignored);
      }
      socket->send_shared(cached);
    }
  }
}

void HubState::publish(std::string_view topic, std::string_view message, bool binary, const Socket* exclude) {
  std::size_t header_size;
  SharedBuffer frame = build_frame(message, binary, false, header_size);
  net::LoopGroup& loops = server->loops();
  net::Loop* current = net::Loop::current();
  for (unsigned i = 0; i < loops.size(); ++i) {
    net::Loop& loop = loops.loop(i);
    if (&loop == current) {
      deliver(threads[i], topic, frame, header_size, binary, exclude);
    } else {
      loop.post([self = shared_from_this(), i, name = std::string(topic), frame, header_size, binary] {
        self->deliver(self->threads[i], name, frame, header_size, binary, nullptr);
      });
    }
  }
}

}  // namespace detail

Hub::Hub(http::Server& server) : state_(std::make_shared<detail::HubState>()) {
  state_->server = &server;
  state_->threads.resize(server.loops().size());
  state_->refused = std::make_unique<detail::RefusalCounters[]>(server.loops().size());
}

Hub::~Hub() = default;

void Hub::route(std::string path, Behavior behavior) {
  auto route = std::make_unique<detail::Route>();
  if (behavior.compression.enabled) route->deflate = deflate_options(behavior.compression);
  route->behavior = std::move(behavior);
  route->hub = state_.get();
  detail::Route* r = route.get();
  state_->routes.push_back(std::move(route));
  state_->server->router().get(std::move(path), [r](http::Request& req, http::Response& res) {
    accept(*r, req, res, {});
  });
}

Hub::Stats Hub::stats() const {
  Stats stats;
  for (std::size_t i = 0; i < state_->threads.size(); ++i) {
    const detail::RefusalCounters& loop = state_->refused[i];
    stats.bad_request += loop.bad_request.get();
    stats.upgrade_required += loop.upgrade_required.get();
    stats.forbidden_origin += loop.forbidden_origin.get();
    stats.rejected += loop.rejected.get();
  }
  return stats;
}

void Hub::publish(std::string_view topic, std::string_view message, bool binary) {
  state_->publish(topic, message, binary, nullptr);
}

}  // namespace switchboard::ws
