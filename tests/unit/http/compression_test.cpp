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

// ---------------------------------------------------------------------------------
// Accept-Encoding

// Engine.IO's question: gzip or deflate, as Node's engine.io (negotiator) answers it.
std::string_view eio_choice(std::string_view field) { return preferred_coding(field, {"gzip", "deflate"}); }
// The client bundle's question: may it send its gzip file (x-gzip counts as gzip).
bool bundle_gzip(std::string_view field) { return accepts_coding(field, "gzip", "x-gzip"); }

TEST(AcceptEncoding, NoFieldAcceptsNoCoding) {
  EXPECT_EQ(eio_choice(""), "");
  EXPECT_EQ(eio_choice(" , ,"), "");
  EXPECT_EQ(eio_choice("identity, br"), "");
  EXPECT_FALSE(bundle_gzip(""));
  EXPECT_FALSE(bundle_gzip("br"));
  EXPECT_FALSE(rate_coding("", "gzip"));
}

TEST(AcceptEncoding, NamesMatchCaseInsensitivelyWithOrWithoutSpaces) {
  EXPECT_EQ(eio_choice("GZip"), "gzip");
  EXPECT_EQ(eio_choice("br,deflate"), "deflate");
  EXPECT_EQ(eio_choice("  br ,  DEFLATE  ; q=0.5 "), "deflate");
  EXPECT_TRUE(bundle_gzip("deflate, gzip"));
  EXPECT_TRUE(bundle_gzip("GZIP;Q=0.1"));
  EXPECT_FALSE(bundle_gzip("gzipped, agzip"));
}

TEST(AcceptEncoding, HighestQValueWins) {
  EXPECT_EQ(eio_choice("gzip;q=0.5, deflate"), "deflate");
  EXPECT_EQ(eio_choice("deflate;q=0.2, gzip;q=0.8"), "gzip");
  EXPECT_EQ(eio_choice("gzip;q=0.001, deflate;q=0.002"), "deflate");
  // q among other parameters, anywhere.
  EXPECT_EQ(eio_choice("gzip;level=1;q=0.3, deflate;q=0.4"), "deflate");
  auto rating = rate_coding("br, deflate;q=0.25, gzip", "deflate");
  ASSERT_TRUE(rating);
  EXPECT_DOUBLE_EQ(rating->q, 0.25);
  EXPECT_EQ(rating->position, 1u);
}

TEST(AcceptEncoding, TiesGoToTheCodingNamedFirst) {
  EXPECT_EQ(eio_choice("gzip, deflate"), "gzip");
  EXPECT_EQ(eio_choice("deflate, gzip"), "deflate");
  EXPECT_EQ(eio_choice("deflate;q=0.5, gzip;q=0.5"), "deflate");
  // Both covered by one "*": the order they are offered in.
  EXPECT_EQ(eio_choice("*"), "gzip");
  EXPECT_EQ(preferred_coding("*", {"deflate", "gzip"}), "deflate");
  // Empty entries do not count as places.
  EXPECT_EQ(eio_choice(",, deflate, gzip"), "deflate");
  EXPECT_EQ(rate_coding(",, deflate, gzip", "gzip")->position, 1u);
}

TEST(AcceptEncoding, StarCoversWhatIsNotNamed) {
  EXPECT_EQ(eio_choice("br, *;q=0.5"), "gzip");
  EXPECT_EQ(eio_choice("gzip;q=0.4, *;q=0.5"), "deflate") << "deflate is covered by * at 0.5";
  EXPECT_EQ(eio_choice("*;q=0.5, gzip;q=0.4"), "deflate");
  EXPECT_TRUE(bundle_gzip("*"));
  EXPECT_TRUE(bundle_gzip("br;q=1, *;q=0.1"));
  // A named entry speaks for its coding, whatever "*" says.
  EXPECT_TRUE(bundle_gzip("*;q=0, gzip"));
  EXPECT_FALSE(bundle_gzip("gzip;q=0, *"));
}

TEST(AcceptEncoding, QZeroRefuses) {
  EXPECT_EQ(eio_choice("gzip;q=0"), "");
  EXPECT_EQ(eio_choice("gzip;q=0, deflate;q=0.1"), "deflate");
  EXPECT_EQ(eio_choice("*;q=0"), "");
  EXPECT_EQ(eio_choice("*;q=0, deflate"), "deflate");
  EXPECT_EQ(eio_choice("gzip;q=0.000"), "");
  EXPECT_FALSE(bundle_gzip("gzip;q=0"));
  EXPECT_FALSE(bundle_gzip("*;q=0"));
  EXPECT_FALSE(accepts_coding("gzip;q=0", "gzip"));
}

TEST(AcceptEncoding, ALaterEntryForTheSameCodingOverridesAnEarlierOne) {
  EXPECT_FALSE(bundle_gzip("gzip, gzip;q=0"));
  EXPECT_TRUE(bundle_gzip("gzip;q=0, gzip"));
  EXPECT_EQ(eio_choice("gzip;q=0, deflate;q=0.5, gzip"), "gzip");
}

TEST(AcceptEncoding, XGzipIsAnAliasOnlyWhereTheCallerSaysSo) {
  EXPECT_TRUE(bundle_gzip("x-gzip"));
  EXPECT_TRUE(bundle_gzip("X-GZIP;q=0.5"));
  EXPECT_FALSE(bundle_gzip("x-gzip;q=0"));
  EXPECT_FALSE(bundle_gzip("gzip, x-gzip;q=0")) << "the last entry for either name decides";
  // Node's engine.io knows no alias: x-gzip alone gets no compression there.
  EXPECT_EQ(eio_choice("x-gzip"), "");
  EXPECT_FALSE(accepts_coding("x-gzip", "gzip"));
}

}  // namespace
}  // namespace switchboard::http
