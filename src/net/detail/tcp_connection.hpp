#pragma once
// net-internal: the Asio side of a Connection. Only net's own files include this.

#include <boost/asio/ip/tcp.hpp>

#include "net/connection.hpp"
#include "net/loop.hpp"

namespace switchboard::net::detail {

class TcpConnection : public Connection {
 public:
  TcpConnection(Loop& loop, boost::asio::ip::tcp::socket socket);
  // Registers with the loop and starts waiting for bytes.
  void start();

 private:
  void start_read_wait() override;
  void start_write_wait() override;
  void shutdown_send() noexcept override;
  void close_socket() noexcept override;
  int native_handle() const noexcept override;

  boost::asio::ip::tcp::socket socket_;
};

inline boost::asio::io_context& io_of(Loop& loop) {
  return *static_cast<boost::asio::io_context*>(loop.native_context());
}

}  // namespace switchboard::net::detail
