#include "http/request_parser.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "core/encoding.hpp"

namespace switchboard::http {
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

class RequestParser::Impl final : public bhttp::basic_parser<true> {
 public:
  Impl(Request& request, const ParserLimits& limits) : request_(request), limits_(limits) {
    header_limit(static_cast<std::uint32_t>(limits.max_header_size));
    // No limit until the route is known: set_body_limit() applies the route's.
    body_limit(boost::none);
  }

  Request& request_;
  ParserLimits limits_;
  RequestError error = RequestError::none;
  bool expect_continue = false;
  bool has_content_length = false;
  bool has_transfer_encoding = false;
  bool has_host = false;

 private:
  void on_request_impl(bhttp::verb, beast::string_view method, beast::string_view target, int version,
                       beast::error_code& ec) override {
    if (target.size() > limits_.max_target_size) {
      error = RequestError::uri_too_long;
      ec = bhttp::error::bad_target;
      return;
    }
    // Beast accepts only HTTP/1.0 and HTTP/1.1 (see version_error below).
    request_.method_ = request_.store({method.data(), method.size()});
    request_.target_ = request_.store({target.data(), target.size()});
    request_.version_ = static_cast<unsigned>(version);
  }

  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = bhttp::error::bad_method;
  }

  void on_field_impl(bhttp::field name, beast::string_view name_text, beast::string_view value,
                     beast::error_code& ec) override {
    // Beast reports trailer fields here too; RFC 9110 §6.5.1: they are not headers.
    if (is_header_done()) return;
    if (name == bhttp::field::expect && core::iequals({value.data(), value.size()}, "100-continue")) {
      expect_continue = true;
    }
    if (name == bhttp::field::content_length) has_content_length = true;
    if (name == bhttp::field::transfer_encoding) has_transfer_encoding = true;
    if (name == bhttp::field::host) {
      // RFC 9112 §3.2: more than one Host line is a bad request.
      if (has_host) {
        error = RequestError::bad_request;
        ec = bhttp::error::bad_value;
        return;
      }
      has_host = true;
    }
    auto n = request_.store({name_text.data(), name_text.size()});
    auto v = request_.store({value.data(), value.size()});
    request_.headers_.emplace_back(n, v);
  }

  void on_header_impl(beast::error_code& ec) override {
    // RFC 9112 §6.3: a message with both is a smuggling attempt; §3.2: HTTP/1.1
    // requests carry Host.
    // §6.3: a request whose transfer coding does not end in chunked has no knowable
    // length; reading on would let a body smuggle in a request.
    if ((has_content_length && has_transfer_encoding) || (has_transfer_encoding && !chunked()) ||
        (request_.version_ == 11 && !has_host)) {
      error = RequestError::bad_request;
      ec = bhttp::error::bad_value;
      return;
    }
    request_.keep_alive_ = keep_alive();
  }

  void on_body_init_impl(boost::optional<std::uint64_t> const& length, beast::error_code&) override {
    if (length) request_.body_.reserve(static_cast<std::size_t>(*length));
  }

  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    request_.body_.append(body.data(), body.size());
    return body.size();
  }

  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}

  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    request_.body_.append(body.data(), body.size());
    return body.size();
  }

  void on_finish_impl(beast::error_code&) override {}
};

RequestParser::RequestParser(Request& request, const ParserLimits& limits)
    : impl_(std::make_unique<Impl>(request, limits)) {
  request.clear();
}

RequestParser::~RequestParser() = default;

namespace {

// Beast reports every HTTP version but 1.0 and 1.1 as bad_version. A well-formed
// "HTTP/d.d" at the end of the request line is a version we do not speak (505,
// RFC 9110 §15.6.6), anything else a malformed request (400). HTTP/1.2 and up get 505
// as well: Beast cannot parse them as 1.1, and no client sends them.
RequestError version_error(std::string_view bytes) {
  auto end = bytes.find("\r\n");
  std::string_view line = bytes.substr(0, end);
  if (line.size() >= 8) {
    std::string_view version = line.substr(line.size() - 8);
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (version.starts_with("HTTP/") && digit(version[5]) && version[6] == '.' && digit(version[7])) {
      return RequestError::version_not_supported;
    }
  }
  return RequestError::bad_request;
}

}  // namespace

RequestParser::Result RequestParser::feed(std::string_view bytes) {
  if (error_ != RequestError::none) return {Status::error, 0};
  std::size_t consumed = 0;
  // Beast stops after the head (header_done) and, for a body, whenever the buffer
  // runs out; loop so that a complete body in `bytes` completes the request.
  while (true) {
    beast::error_code ec;
    bool in_head = !impl_->is_header_done();
    std::size_t n = impl_->put(boost::asio::const_buffer(bytes.data() + consumed, bytes.size() - consumed), ec);
    consumed += n;
    if (in_head) {
      // Beast gives the fields a fresh header_limit once the request line is parsed on
      // its own, so the limit would depend on how the bytes arrive: count the head here.
      head_bytes_ += n;
      std::size_t waiting = ec == bhttp::error::need_more ? bytes.size() - consumed : 0;
      if (head_bytes_ + waiting > impl_->limits_.max_header_size) {
        // Too long before the request line even ended: the target is at fault (414).
        bool line_ended = head_bytes_ > 0 || bytes.find('\n') != std::string_view::npos;
        error_ = line_ended ? RequestError::header_fields_too_large : RequestError::uri_too_long;
        return {Status::error, consumed};
      }
    }
    if (ec == bhttp::error::need_more) {
      return {Status::need_more, consumed};
    }
    if (ec) {
      if (impl_->error != RequestError::none) {
        error_ = impl_->error;
      } else if (ec == bhttp::error::header_limit) {
        // An over-long request line shows as an over-long head: call it by its name.
        std::string_view head = bytes.substr(0, std::min(bytes.size(), impl_->limits_.max_header_size));
        error_ = head.find('\n') == std::string_view::npos ? RequestError::uri_too_long
                                                           : RequestError::header_fields_too_large;
      } else if (ec == bhttp::error::bad_version) {
        error_ = version_error(bytes);
      } else if (ec == bhttp::error::body_limit) {
        error_ = RequestError::payload_too_large;
      } else {
        error_ = RequestError::bad_request;
      }
      return {Status::error, consumed};
    }
    // The head is reported on its own even when the whole request came at once: the
    // caller routes it and sets the body limit, then asks done().
    if (impl_->is_header_done() && !header_reported_) {
      header_reported_ = true;
      return {Status::header_done, consumed};
    }
    if (impl_->is_done()) return {Status::complete, consumed};
    if (consumed == bytes.size()) return {Status::need_more, consumed};
  }
}

bool RequestParser::set_body_limit(std::size_t limit) {
  // Beast checks Content-Length against its limit while finishing the head, before the
  // route is known; check it here instead, and let Beast guard chunked bodies.
  if (auto length = impl_->content_length(); length && *length > limit) {
    error_ = RequestError::payload_too_large;
    return false;
  }
  impl_->body_limit(std::uint64_t(limit));
  return true;
}

bool RequestParser::done() const noexcept { return impl_->is_done(); }

bool RequestParser::expects_continue() const noexcept { return impl_->expect_continue; }

bool RequestParser::upgrade() const noexcept { return impl_->upgrade(); }

}  // namespace switchboard::http
