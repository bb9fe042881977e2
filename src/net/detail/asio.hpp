#pragma once
// net-internal: the Asio types net uses. Only net's own files include this.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/loop.hpp"

namespace switchboard::net::detail {

// Bound to io_context's own executor rather than any_io_executor (smaller objects).
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using Acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

inline boost::asio::io_context& io_of(Loop& loop) {
  return *static_cast<boost::asio::io_context*>(loop.native_context());
}

}  // namespace switchboard::net::detail
