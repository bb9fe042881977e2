#include <switchboard/http.hpp>

#include <stdexcept>

#include "core/encoding.hpp"
#include "http/url.hpp"

namespace switchboard::http {

Request::Span Request::store(std::string_view text) {
  Span span{static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(text.size())};
  arena_.append(text);
  return span;
}

void Request::clear() {
  // Keep the capacities: the next request on a keep-alive connection reuses them.
  arena_.clear();
  method_ = target_ = request_id_ = {};
  headers_.clear();
  path_.clear();
  body_.clear();
  params_.clear();
  version_ = 11;
  keep_alive_ = true;
  if (body_.capacity() > 64 * 1024) std::string().swap(body_);
}

std::string_view Request::query() const noexcept {
  std::string_view t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  return http::query_param(query(), name);
}

std::string_view Request::header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers_) {
    if (core::iequals(view(n), name)) return view(v);
  }
  return {};
}

bool Request::has_header(std::string_view name) const noexcept {
  for (const auto& [n, v] : headers_) {
    if (core::iequals(view(n), name)) return true;
  }
  return false;
}

std::vector<std::pair<std::string_view, std::string_view>> Request::headers() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  out.reserve(headers_.size());
  for (const auto& [n, v] : headers_) out.emplace_back(view(n), view(v));
  return out;
}

std::string_view Request::param(std::string_view name) const noexcept {
  for (const auto& [n, v] : params_) {
    if (n == name) return v;
  }
  return {};
}

}  // namespace switchboard::http
