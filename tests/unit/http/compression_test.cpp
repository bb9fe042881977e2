#include "http/compression.hpp"

#include <zlib.h>

#include <string>

#include <gtest/gtest.h>

namespace switchboard::http {
namespace {

// zlib's own inflate, told to expect the wrapper (gzip: 31, zlib: 15).
std::string inflate_whole(const std::string& data, int window_bits) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, window_bits), Z_OK);
  std::string out(1 << 20, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  inflateEnd(&stream);
  return out;
}

TEST(Compression, GzipAndDeflateRoundTripAtAnyLevel) {
  std::string body;
  for (int i = 0; i < 2000; ++i) body += "message " + std::to_string(i % 17) + "\n";
  for (int level : {-1, 1, 9}) {
    std::string gz, zl;
    ASSERT_TRUE(compress(body, ContentCoding::gzip, gz, level));
    ASSERT_TRUE(compress(body, ContentCoding::deflate, zl, level));
    EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f) << "gzip magic";
    EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
    EXPECT_EQ((static_cast<unsigned char>(zl[0]) << 8 | static_cast<unsigned char>(zl[1])) % 31, 0) << "zlib header";
    EXPECT_LT(gz.size(), body.size());
    EXPECT_EQ(inflate_whole(gz, 31), body);
    EXPECT_EQ(inflate_whole(zl, 15), body);
  }
  std::string empty;
  ASSERT_TRUE(compress("", ContentCoding::gzip, empty));
  EXPECT_EQ(inflate_whole(empty, 31), "");
}

}  // namespace
}  // namespace switchboard::http
