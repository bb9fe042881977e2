#include "http/compression.hpp"

#include <zlib.h>

#include <cstdlib>

#include "core/encoding.hpp"

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

namespace {

// The q-value among an entry's parameters ("gzip;q=0.5"); 1 without one.
double q_value(std::string_view parameters) {
  double q = 1.0;
  while (!parameters.empty()) {
    auto semicolon = parameters.find(';');
    std::string_view parameter = core::trim_whitespace(parameters.substr(0, semicolon));
    parameters = semicolon == std::string_view::npos ? std::string_view{} : parameters.substr(semicolon + 1);
    if (parameter.size() > 2 && (parameter[0] == 'q' || parameter[0] == 'Q') && parameter[1] == '=') {
      // strtod needs a terminator; a q-value is at most "0.001" long (RFC 9110 §12.4.2).
      std::string digits(parameter.substr(2, 16));
      q = std::strtod(digits.c_str(), nullptr);
    }
  }
  return q;
}

}  // namespace

std::optional<CodingRating> rate_coding(std::string_view accept_encoding, std::string_view coding,
                                        std::string_view alias) {
  std::optional<CodingRating> named, any;
  std::size_t position = 0;
  while (!accept_encoding.empty()) {
    auto comma = accept_encoding.find(',');
    std::string_view entry = core::trim_whitespace(accept_encoding.substr(0, comma));
    accept_encoding = comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    if (entry.empty()) continue;
    auto semicolon = entry.find(';');
    std::string_view name = core::trim_whitespace(entry.substr(0, semicolon));
    std::string_view parameters =
        semicolon == std::string_view::npos ? std::string_view{} : entry.substr(semicolon + 1);
    if (core::iequals(name, coding) || (!alias.empty() && core::iequals(name, alias))) {
      named = CodingRating{q_value(parameters), position};
    } else if (name == "*") {
      any = CodingRating{q_value(parameters), position};
    }
    ++position;
  }
  return named ? named : any;
}

bool accepts_coding(std::string_view accept_encoding, std::string_view coding, std::string_view alias) {
  auto rating = rate_coding(accept_encoding, coding, alias);
  return rating && rating->q > 0;
}

std::string_view preferred_coding(std::string_view accept_encoding, std::initializer_list<std::string_view> offered) {
  std::string_view best;
  std::optional<CodingRating> best_rating;
  for (std::string_view coding : offered) {
    auto rating = rate_coding(accept_encoding, coding);
    if (!rating || rating->q <= 0) continue;
    if (!best_rating || rating->q > best_rating->q ||
        (rating->q == best_rating->q && rating->position < best_rating->position)) {
      best = coding;
      best_rating = rating;
    }
  }
  return best;
}

}  // namespace switchboard::http
