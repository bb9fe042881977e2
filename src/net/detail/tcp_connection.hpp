#pragma once
// net-internal: the Asio side of a Connection. Only net's own files include this.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/connection.hpp"
#include "net/loop.hpp"

namespace switchboard::net::detail {

// Bound to io_context's own executor rather than any_io_executor: the socket and every
// pending wait operation are smaller by the type-erased executor (tens of bytes per
// idle connection).
using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
using Acceptor = boost::asio::basic_socket_acceptor<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

class TcpConnection : public Connection {
 public:
  TcpConnection(Loop& loop, Socket socket);
  // Registers with the loop and starts waiting for bytes.
  void start();

 private:
  void start_read_wait() override;
  void start_write_wait() override;
  void shutdown_send() noexcept override;
  void close_socket() noexcept override;
  int native_handle() const noexcept override;

  Socket socket_;
};

inline boost::asio::io_context& io_of(Loop& loop) {
  return *static_cast<boost::asio::io_context*>(loop.native_context());
}

}  // namespace switchboard::net::detail
