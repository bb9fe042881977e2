#include "http/compression.hpp"

#include <zlib.h>

namespace switchboard::http {

bool compress(std::string_view body, ContentCoding coding, std::string& out, int level) {
  z_stream stream{};
  // windowBits 31: a gzip wrapper; 15: a zlib one.
  const int window_bits = coding == ContentCoding::gzip ? 31 : 15;
  if (deflateInit2(&stream, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  out.resize(deflateBound(&stream, static_cast<uLong>(body.size())));
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  stream.avail_in = static_cast<uInt>(body.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  int result = deflate(&stream, Z_FINISH);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return result == Z_STREAM_END;
}

}  // namespace switchboard::http
