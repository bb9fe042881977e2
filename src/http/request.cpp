#include <switchboard/http.hpp>

#include <algorithm>
#include <stdexcept>

#include "core/encoding.hpp"
#include "core/pool.hpp"
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

std::string_view Request::query() const noexcept { return query_of(target()); }

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

// [time][target size][address size][header count][per header: name size, value size][the
// target, the address, then each header's name and value back to back]. Offsets are not
// stored: a lookup walks the headers in order anyway.
struct RequestHead::Layout {
  std::int64_t time;  // system_clock ticks since its epoch
  std::uint32_t target_size;
  std::uint32_t address_size;
  std::uint32_t header_count;
  struct Field {
    std::uint32_t name_size, value_size;
  };
  const Field* fields() const noexcept { return reinterpret_cast<const Field*>(this + 1); }
  const char* text() const noexcept { return reinterpret_cast<const char*>(fields() + header_count); }
  // Calls f(name, value) for each header in order, until it returns false.
  template <typename F>
  void for_each(F&& f) const {
    const char* at = text() + target_size + address_size;
    for (std::uint32_t i = 0; i < header_count; ++i) {
      std::string_view name(at, fields()[i].name_size);
      std::string_view value(at + name.size(), fields()[i].value_size);
      at += name.size() + value.size();
      if (!f(name, value)) return;
    }
  }
};

RequestHead::RequestHead(const Request& request) : RequestHead(request, request.remote_address()) {}

RequestHead::RequestHead(const Request& request, std::string_view address) {
  static_assert(sizeof(Layout) % alignof(Layout) == 0 && sizeof(Layout::Field) % sizeof(std::uint32_t) == 0);
  std::size_t text_size = request.target().size() + address.size();
  for (const auto& [name, value] : request.headers_) text_size += name.size + value.size;
  const std::size_t bytes = sizeof(Layout) + request.headers_.size() * sizeof(Layout::Field) + text_size;
  // From the pools: it lives as long as the connection (see core/pool.hpp).
  auto block =
      std::allocate_shared_for_overwrite<std::uint64_t[]>(core::PoolAllocator<std::uint64_t>(), (bytes + 7) / 8);
  auto* layout = reinterpret_cast<Layout*>(block.get());
  layout->time = std::chrono::system_clock::now().time_since_epoch().count();
  layout->target_size = static_cast<std::uint32_t>(request.target().size());
  layout->address_size = static_cast<std::uint32_t>(address.size());
  layout->header_count = static_cast<std::uint32_t>(request.headers_.size());
  auto* fields = const_cast<Layout::Field*>(layout->fields());
  char* out = const_cast<char*>(layout->text());
  auto put = [&](std::string_view part) { out = std::copy(part.begin(), part.end(), out); };
  put(request.target());
  put(address);
  for (std::size_t i = 0; i < request.headers_.size(); ++i) {
    auto [name, value] = request.headers_[i];
    fields[i] = {name.size, value.size};
    put(request.view(name));
    put(request.view(value));
  }
  block_ = std::move(block);
}

const RequestHead::Layout* RequestHead::layout() const noexcept {
  return reinterpret_cast<const Layout*>(block_.get());
}

std::string_view RequestHead::target() const noexcept {
  return block_ ? std::string_view(layout()->text(), layout()->target_size) : std::string_view{};
}

std::string_view RequestHead::address() const noexcept {
  return block_ ? std::string_view(layout()->text() + layout()->target_size, layout()->address_size)
                : std::string_view{};
}

std::chrono::system_clock::time_point RequestHead::time() const noexcept {
  return block_ ? std::chrono::system_clock::time_point(std::chrono::system_clock::duration(layout()->time))
                : std::chrono::system_clock::time_point{};
}

std::string_view RequestHead::query() const noexcept { return query_of(target()); }

std::optional<std::string> RequestHead::query_param(std::string_view name) const {
  return http::query_param(query(), name);
}

std::string_view RequestHead::header(std::string_view name) const noexcept {
  std::string_view found;
  if (block_) {
    layout()->for_each([&](std::string_view n, std::string_view v) {
      if (!core::iequals(n, name)) return true;
      found = v;
      return false;
    });
  }
  return found;
}

std::vector<std::pair<std::string_view, std::string_view>> RequestHead::headers() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  if (!block_) return out;
  out.reserve(layout()->header_count);
  layout()->for_each([&](std::string_view n, std::string_view v) {
    out.emplace_back(n, v);
    return true;
  });
  return out;
}

}  // namespace switchboard::http
