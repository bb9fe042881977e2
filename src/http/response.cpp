#include <switchboard/http.hpp>

#include "core/encoding.hpp"
#include "http/session.hpp"

namespace switchboard::http {

detail::Session* Response::live() const noexcept {
  return session_ && session_->is_current(serial_) ? session_.get() : nullptr;
}

Response& Response::status(int code) {
  if (auto* s = live(); s && !s->head_sent()) s->set_status(code);
  return *this;
}

Response& Response::header(std::string_view name, std::string_view value) {
  if (auto* s = live(); s && !s->head_sent()) s->add_header(name, value);
  return *this;
}

void Response::send(std::string_view body) {
  if (auto* s = live()) s->send(body);
}

void Response::send(int code, std::string_view body, std::string_view content_type) {
  if (auto* s = live(); s && !s->head_sent()) {
    s->set_status(code);
    s->add_header("Content-Type", content_type);
    s->send(body);
  }
}

void Response::send_json_error(int code, std::string_view message) {
  send(code, "{\"error\":" + core::json_quote(message) + "}", "application/json");
}

void Response::defer() {
  if (auto* s = live()) s->defer();
}

void Response::begin_stream() {
  if (auto* s = live()) s->begin_stream();
}

bool Response::write(std::string_view chunk) {
  auto* s = live();
  return s && s->write_chunk(chunk);
}

void Response::end() {
  if (auto* s = live()) s->end_stream();
}

void Response::on_abort(std::function<void()> callback) {
  if (auto* s = live()) s->set_abort_callback(std::move(callback));
}

bool Response::open() const noexcept { return live() != nullptr; }

bool Response::started() const noexcept {
  auto* s = live();
  return s && s->head_sent();
}

std::size_t Response::buffered_amount() const noexcept {
  auto* s = live();
  return s ? s->buffered_amount() : 0;
}

}  // namespace switchboard::http
