#include "core/log.hpp"

namespace switchboard::log {
namespace {
thread_local const Fields* current = nullptr;
}

std::string peer_name(std::string_view address, std::uint16_t port) {
  std::string peer;
  bool v6 = address.find(':') != std::string_view::npos;
  if (v6) peer += '[';
  peer += address;
  if (v6) peer += ']';
  peer += ':';
  peer += std::to_string(port);
  return peer;
}

const Fields* current_fields() noexcept { return current; }

namespace detail {
FieldsScope::FieldsScope(const Fields& fields) noexcept : previous_(current) { current = &fields; }
FieldsScope::~FieldsScope() { current = previous_; }
}  // namespace detail

}  // namespace switchboard::log
