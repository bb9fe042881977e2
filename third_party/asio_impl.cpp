// Asio's separate-compilation unit: every other file includes Asio headers without
// instantiating its implementation (BOOST_ASIO_SEPARATE_COMPILATION).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
