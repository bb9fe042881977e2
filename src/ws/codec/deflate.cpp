#include "ws/codec/deflate.hpp"

#include <zlib.h>

#include <algorithm>
#include <cassert>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

namespace switchboard::ws {

namespace {

constexpr std::string_view extension_name = "permessage-deflate";

// ---------------------------------------------------------------------------------
// Sec-WebSocket-Extensions grammar (RFC 6455 §9.1, with RFC 7230 §3.2.6 tokens and
// quoted-strings, and §7 list rules: empty elements and OWS around separators are
// allowed). Negotiation runs once per connection, so it parses into small vectors.

bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar);
}

struct Param {
  std::string_view name;
  bool has_value = false;
  std::string value;  // unescaped when it was a quoted-string
};

struct Extension {
  std::string_view name;
  std::vector<Param> params;
};

class ListParser {
 public:
  explicit ListParser(std::string_view text) noexcept : text_(text) {}

  // Parses the whole list; false when it does not follow the grammar.
  bool parse(std::vector<Extension>& out) {
    for (;;) {
      skip_ows();
      if (at_end()) return true;
      if (peek() == ',') {  // an empty element (RFC 7230 §7)
        ++pos_;
        continue;
      }
      Extension ext;
      if (!token(ext.name)) return false;
      skip_ows();
      while (!at_end() && peek() == ';') {
        ++pos_;
        skip_ows();
        Param param;
        if (!token(param.name)) return false;
        skip_ows();
        if (!at_end() && peek() == '=') {
          ++pos_;
          skip_ows();
          if (!value(param.value)) return false;
          param.has_value = true;
          skip_ows();
        }
        ext.params.push_back(std::move(param));
      }
      out.push_back(std::move(ext));
      if (at_end()) return true;
      if (peek() != ',') return false;
      ++pos_;
    }
  }

 private:
  bool at_end() const noexcept { return pos_ >= text_.size(); }
  char peek() const noexcept { return text_[pos_]; }
  void skip_ows() noexcept {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }
  bool token(std::string_view& out) noexcept {
    const std::size_t start = pos_;
    while (!at_end() && is_tchar(peek())) ++pos_;
    out = text_.substr(start, pos_ - start);
    return !out.empty();
  }
  // token / quoted-string; a quoted value must still be a token once unescaped
  // (RFC 6455 §9.1).
  bool value(std::string& out) {
    if (at_end()) return false;
    if (peek() != '"') {
      std::string_view t;
      if (!token(t)) return false;
      out.assign(t);
      return true;
    }
    ++pos_;
    for (;;) {
      if (at_end()) return false;  // unterminated
      char c = peek();
      ++pos_;
      if (c == '"') break;
      if (c == '\\') {  // quoted-pair
        if (at_end()) return false;
        c = peek();
        ++pos_;
      }
      // Everything a quoted-string may hold that is not a tchar (SP, HTAB, separators,
      // obs-text) fails the token rule below anyway.
      out.push_back(c);
    }
    return is_token(out);
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// The permessage-deflate parameters of one offer or response (§7.1).
struct DeflateRequest {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<int> server_max_window_bits;
  bool client_max_window_bits = false;  // present, with or without a value
  std::optional<int> client_max_window_bits_value;
};

// §7.1.2.1/§7.1.2.2: "a decimal integer value without leading zeroes between 8 to 15,
// inclusive".
std::optional<int> window_bits_value(std::string_view s) noexcept {
  if (s.size() == 1 && (s[0] == '8' || s[0] == '9')) return s[0] - '0';
  if (s.size() == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5') return 10 + (s[1] - '0');
  return std::nullopt;
}

// nullopt for an unknown or repeated parameter or an invalid value: §7 says such an
// offer is declined and such a response fails the connection.
std::optional<DeflateRequest> read_params(const Extension& ext) {
  DeflateRequest r;
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  for (const Param& p : ext.params) {
    if (p.name == "server_no_context_takeover") {  // §7.1.1.1: no value
      if (seen_snct || p.has_value) return std::nullopt;
      seen_snct = r.server_no_context_takeover = true;
    } else if (p.name == "client_no_context_takeover") {  // §7.1.1.2: no value
      if (seen_cnct || p.has_value) return std::nullopt;
      seen_cnct = r.client_no_context_takeover = true;
    } else if (p.name == "server_max_window_bits") {  // §7.1.2.1: a value is required
      if (seen_smwb || !p.has_value) return std::nullopt;
      seen_smwb = true;
      r.server_max_window_bits = window_bits_value(p.value);
      if (!r.server_max_window_bits) return std::nullopt;
    } else if (p.name == "client_max_window_bits") {  // §7.1.2.2: the value is optional
      if (seen_cmwb) return std::nullopt;
      seen_cmwb = r.client_max_window_bits = true;
      if (p.has_value) {
        r.client_max_window_bits_value = window_bits_value(p.value);
        if (!r.client_max_window_bits_value) return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  return r;
}

int clamp_bits(int bits) noexcept { return std::clamp(bits, 8, 15); }

// ---------------------------------------------------------------------------------
// zlib allocation hooks: plain malloc/free that also count the bytes into the owner's
// counter (opaque), so memory_bytes() reports what a state really costs. Each block
// carries its size in a header that keeps malloc's alignment.

constexpr std::size_t block_header = alignof(std::max_align_t);

voidpf counted_alloc(voidpf opaque, uInt items, uInt size) {
  const std::size_t bytes = static_cast<std::size_t>(items) * size;
  void* block = std::malloc(bytes + block_header);
  if (block == nullptr) return Z_NULL;
  std::memcpy(block, &bytes, sizeof bytes);
  *static_cast<std::size_t*>(opaque) += bytes;
  return static_cast<unsigned char*>(block) + block_header;
}

void counted_free(voidpf opaque, voidpf address) {
  if (address == Z_NULL) return;
  unsigned char* block = static_cast<unsigned char*>(address) - block_header;
  std::size_t bytes;
  std::memcpy(&bytes, block, sizeof bytes);
  *static_cast<std::size_t*>(opaque) -= bytes;
  std::free(block);
}

// zlib counts in uInt (32 bits); larger buffers go through in pieces of this size.
constexpr std::size_t max_zlib_chunk = std::size_t{1} << 30;

// The tail a sender strips and a receiver appends back (§7.2.1, §7.2.2).
constexpr unsigned char deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

// -------------------------------------------------------------------------------------
// Negotiation

std::optional<std::pair<DeflateParams, std::string>> negotiate_deflate(
    std::string_view sec_websocket_extensions, const DeflateOptions& options) {
  std::vector<Extension> list;
  if (!ListParser(sec_websocket_extensions).parse(list)) return std::nullopt;
  const int our_server_bits = clamp_bits(options.server_max_window_bits);
  const int our_client_bits = clamp_bits(options.client_max_window_bits);

  for (const Extension& ext : list) {
    if (ext.name != extension_name) continue;  // other extensions are not ours to judge
    const std::optional<DeflateRequest> offer = read_params(ext);
    if (!offer) continue;  // §7: decline this offer, try the next one
    // §7.1.2.2: without client_max_window_bits in the offer the response must not
    // carry it, so the client may use a 32 KiB window; if our policy accepts less,
    // this offer is one we will not take.
    if (!offer->client_max_window_bits && our_client_bits < 15) continue;

    DeflateParams params;
    // §7.1.1.1: a server may always add server_no_context_takeover, and must when
    // offered. §7.1.1.2: a server may always add client_no_context_takeover; when the
    // client offered it (a hint that it drops its window anyway), answering with it
    // makes it binding, so we can release our inflate state between messages.
    params.server_no_context_takeover =
        offer->server_no_context_takeover || options.server_no_context_takeover;
    params.client_no_context_takeover =
        offer->client_no_context_takeover || options.client_no_context_takeover;
    // §7.1.2.1: answer an offered server_max_window_bits with the same or a smaller
    // value; without one in the offer we may still announce a smaller window.
    params.server_max_window_bits =
        std::min(offer->server_max_window_bits.value_or(15), our_server_bits);
    const bool answer_server_bits = offer->server_max_window_bits || our_server_bits < 15;
    // §7.1.2.2: only if offered; a value no larger than the offered one. We always
    // answer it when offered so that the window we inflate with is explicit.
    if (offer->client_max_window_bits) {
      params.client_max_window_bits =
          std::min(offer->client_max_window_bits_value.value_or(15), our_client_bits);
    }

    std::string response(extension_name);
    if (params.server_no_context_takeover) response += "; server_no_context_takeover";
    if (params.client_no_context_takeover) response += "; client_no_context_takeover";
    if (answer_server_bits) {
      response += "; server_max_window_bits=";
      response += std::to_string(params.server_max_window_bits);
    }
    if (offer->client_max_window_bits) {
      response += "; client_max_window_bits=";
      response += std::to_string(params.client_max_window_bits);
    }
    return std::pair{params, std::move(response)};
  }
  return std::nullopt;
}

std::string make_deflate_offer(const DeflateOptions& options) {
  const int server_bits = clamp_bits(options.server_max_window_bits);
  const int client_bits = clamp_bits(options.client_max_window_bits);
  std::string offer(extension_name);
  if (options.server_no_context_takeover) offer += "; server_no_context_takeover";
  if (options.client_no_context_takeover) offer += "; client_no_context_takeover";
  if (server_bits < 15) {
    offer += "; server_max_window_bits=";
    offer += std::to_string(server_bits);
  }
  // Always offered (§7.1.2.2): without it the server could not limit our window, and
  // some servers decline offers that do not let them.
  offer += "; client_max_window_bits";
  if (client_bits < 15) {
    offer += '=';
    offer += std::to_string(client_bits);
  }
  return offer;
}

std::optional<DeflateParams> accept_deflate_response(std::string_view response_header,
                                                     const DeflateOptions& offered) {
  std::vector<Extension> list;
  if (!ListParser(response_header).parse(list)) return std::nullopt;
  // We offered one extension once; a response may accept it, nothing else (RFC 6455
  // §4.1: an extension that was not requested fails the connection).
  if (list.size() != 1 || list[0].name != extension_name) return std::nullopt;
  const std::optional<DeflateRequest> answer = read_params(list[0]);
  if (!answer) return std::nullopt;

  const int server_bits = clamp_bits(offered.server_max_window_bits);
  const int client_bits = clamp_bits(offered.client_max_window_bits);
  // §7.1.1.1: accepting an offer with server_no_context_takeover means answering it.
  if (offered.server_no_context_takeover && !answer->server_no_context_takeover) {
    return std::nullopt;
  }
  // §7.1.2.1: an offered server_max_window_bits must come back, same or smaller; one we
  // did not offer (we offer it only below 15) may come back with any valid value.
  if (server_bits < 15 && (!answer->server_max_window_bits ||
                           *answer->server_max_window_bits > server_bits)) {
    return std::nullopt;
  }
  // §7.1.2.2: in a response client_max_window_bits carries a value, no larger than
  // the one we offered (we always offer the parameter).
  if (answer->client_max_window_bits &&
      (!answer->client_max_window_bits_value ||
       *answer->client_max_window_bits_value > client_bits)) {
    return std::nullopt;
  }

  DeflateParams params;
  params.server_no_context_takeover = answer->server_no_context_takeover;
  // Offered, it is our promise (§7.1.1.2) whether or not the server repeats it.
  params.client_no_context_takeover =
      answer->client_no_context_takeover || offered.client_no_context_takeover;
  params.server_max_window_bits = answer->server_max_window_bits.value_or(15);
  // Without an answer, the limit is the value we offered (our own policy).
  params.client_max_window_bits = answer->client_max_window_bits_value.value_or(client_bits);
  return params;
}

// -------------------------------------------------------------------------------------
// Deflater

void Deflater::StreamDeleter::operator()(z_stream_s* stream) const noexcept {
  deflateEnd(stream);
  delete stream;
}

Deflater::Deflater(int window_bits, int level, int mem_level, bool context_takeover)
    : window_bits_(window_bits),
      level_(level),
      mem_level_(mem_level),
      context_takeover_(context_takeover) {
  if (window_bits < 8 || window_bits > 15) throw std::invalid_argument("deflate window_bits");
  if (level < -1 || level > 9) throw std::invalid_argument("deflate level");
  if (mem_level < 1 || mem_level > 9) throw std::invalid_argument("deflate mem_level");
}

Deflater::~Deflater() { release(); }

void Deflater::release() noexcept {
  stream_.reset();
  memory_ = 0;
}

void Deflater::allocate() {
  auto stream = std::unique_ptr<z_stream_s, StreamDeleter>(new z_stream{});
  stream->zalloc = counted_alloc;
  stream->zfree = counted_free;
  stream->opaque = &memory_;
  // zlib ≥ 1.2.9 refuses a raw deflate window of 8 bits. A 9-bit window only emits
  // distances up to 512 - MIN_LOOKAHEAD (262) = 250 bytes back, which a peer's 256-byte
  // window holds, so server_max_window_bits=8 (§7.1.2.1) is honoured with 9.
  const int bits = std::max(window_bits_, 9);
  const int rc = deflateInit2(stream.get(), level_, Z_DEFLATED, -bits, mem_level_,
                              Z_DEFAULT_STRATEGY);
  if (rc == Z_MEM_ERROR) throw std::bad_alloc();
  if (rc != Z_OK) throw std::logic_error("deflateInit2: parameters were checked");
  memory_ += sizeof(z_stream);
  stream_ = std::move(stream);
}

void Deflater::compress(std::string_view message, std::string& out) {
  // A sync flush of no data is an empty stored block: its 3 header bits padded to one
  // 0x00 byte, then 00 00 ff ff, stripped below — so an empty message is the single
  // byte 0x00. Every message ends byte-aligned after its sync flush, so the byte is
  // right whatever came before, and zlib (which refuses to flush twice in a row without
  // input, Z_BUF_ERROR) need not run at all, nor be allocated.
  if (message.empty()) {
    out.push_back('\0');
    return;
  }
  if (!stream_) allocate();
  z_stream& z = *stream_;

  const std::size_t start = out.size();
  std::size_t used = start;
  // Only growing `out` can throw (std::bad_alloc). zlib then holds part of a message;
  // reset it, window included, so the next message starts clean: a sender may always
  // refer back to less than its peer keeps.
  try {
    // deflateBound is the one-shot size bound; a sync flush adds at most its empty
    // stored block (5 bytes) and a partial byte. The loop grows `out` if this ever
    // falls short.
    out.resize(start + deflateBound(&z, message.size()) + 8);
    auto next = reinterpret_cast<const Bytef*>(message.data());
    std::size_t remaining = message.size();
    z.avail_in = 0;
    for (;;) {
      if (z.avail_in == 0 && remaining > 0) {
        const std::size_t n = std::min(remaining, max_zlib_chunk);
        z.next_in = const_cast<Bytef*>(next);  // zlib's API is not const; it only reads
        z.avail_in = static_cast<uInt>(n);
        next += n;
        remaining -= n;
      }
      if (used == out.size()) out.resize(out.size() + std::max<std::size_t>(used - start, 256));
      const std::size_t room = std::min(out.size() - used, max_zlib_chunk);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
      z.avail_out = static_cast<uInt>(room);
      // §7.2.1: compress, then end the message on a sync flush (an empty stored block).
      const int flush = remaining == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
      const int rc = deflate(&z, flush);
      used += room - z.avail_out;
      if (rc == Z_STREAM_ERROR) throw std::logic_error("deflate: stream state clobbered");
      // With output room left over after a sync flush, the flush is complete (zlib.h);
      // Z_BUF_ERROR means nothing was left to do.
      if (flush == Z_SYNC_FLUSH && z.avail_in == 0 && (z.avail_out != 0 || rc == Z_BUF_ERROR)) {
        break;
      }
    }
  } catch (...) {
    out.resize(start);
    deflateReset(&z);
    throw;
  }
  // The flush ended with 00 00 ff ff, which §7.2.1 removes.
  assert(used - start >= sizeof deflate_tail &&
         std::memcmp(out.data() + used - sizeof deflate_tail, deflate_tail, sizeof deflate_tail) == 0);
  out.resize(used - sizeof deflate_tail);
  if (!context_takeover_) deflateReset(&z);  // keeps the allocation (§7.1.1.1)
}

// -------------------------------------------------------------------------------------
// Inflater

void Inflater::StreamDeleter::operator()(z_stream_s* stream) const noexcept {
  inflateEnd(stream);
  delete stream;
}

Inflater::Inflater(int window_bits, bool context_takeover)
    : window_bits_(window_bits), context_takeover_(context_takeover) {
  if (window_bits < 8 || window_bits > 15) throw std::invalid_argument("inflate window_bits");
}

Inflater::~Inflater() { release(); }

void Inflater::release() noexcept {
  stream_.reset();
  memory_ = 0;
  saved_window_ = std::vector<unsigned char>();
  failed_ = false;
  message_started_ = false;
  stream_ended_ = false;
}

void Inflater::allocate() {
  auto stream = std::unique_ptr<z_stream_s, StreamDeleter>(new z_stream{});
  stream->zalloc = counted_alloc;
  stream->zfree = counted_free;
  stream->opaque = &memory_;
  // Raw inflate takes any window of 8..15 bits; the window itself is allocated by
  // inflate() when it first produces output.
  const int rc = inflateInit2(stream.get(), -window_bits_);
  if (rc == Z_MEM_ERROR) throw std::bad_alloc();
  if (rc != Z_OK) throw std::logic_error("inflateInit2: parameters were checked");
  memory_ += sizeof(z_stream);
  stream_ = std::move(stream);
}

PayloadInflater::Result Inflater::inflate(std::string_view compressed, std::string& out,
                                          std::size_t max_size) {
  if (failed_) return Result::corrupt;
  if (compressed.empty()) return Result::ok;
  // After a block with BFINAL set the DEFLATE stream is over; what follows in the
  // message is padding to ignore (§7.2.3.4 ends its example with such a byte).
  if (stream_ended_) return Result::ok;
  if (!stream_) allocate();
  message_started_ = true;
  return run(reinterpret_cast<const unsigned char*>(compressed.data()), compressed.size(),
             out, max_size);
}

PayloadInflater::Result Inflater::finish(std::string& out, std::size_t max_size) {
  if (failed_) return Result::corrupt;
  // A compressed message with no payload at all: there is nothing to inflate. The RFC's
  // empty message is 0x00, but a zero-length payload is read as empty too, as zlib
  // streams (Node's ws) do, rather than failed.
  if (!message_started_) return Result::ok;
  message_started_ = false;
  z_stream& z = *stream_;
  if (!stream_ended_) {
    // §7.2.2: append the 00 00 ff ff the sender removed.
    const Result r = run(deflate_tail, sizeof deflate_tail, out, max_size);
    if (r != Result::ok) return r;
    // A whole message ends on the empty stored block the tail completes, so inflate
    // must now stand at a block boundary (bit 128 of data_type, zlib.h); otherwise
    // the message was cut short, and the tail was read as part of some other block.
    if (!stream_ended_ && (z.data_type & 128) == 0) {
      failed_ = true;
      return Result::corrupt;
    }
  }
  if (stream_ended_) {
    // The peer ended its DEFLATE stream with BFINAL (§7.2.3.4): the next message is a
    // new stream. With context takeover it may still refer to this message's data, so
    // the window is carried over as the new stream's dictionary.
    stream_ended_ = false;
    if (context_takeover_) {
      uInt length = 0;
      inflateGetDictionary(&z, Z_NULL, &length);
      saved_window_.resize(length);
      inflateGetDictionary(&z, saved_window_.data(), &length);
      inflateReset(&z);
      if (length > 0) {
        inflateSetDictionary(&z, saved_window_.data(), length);
      }
    } else {
      inflateReset(&z);
    }
  } else if (!context_takeover_) {
    inflateReset(&z);  // the peer starts every message afresh (§7.1.1); keeps the memory
  }
  return Result::ok;
}

// Inflates `size` bytes into `out`, never letting it grow past max_size + 1 bytes: each
// zlib call gets at most the room that remains below that, so inflating stops within
// one call of the limit however much the input would expand.
PayloadInflater::Result Inflater::run(const unsigned char* data, std::size_t size,
                                      std::string& out, std::size_t max_size) {
  z_stream& z = *stream_;
  if (out.size() > max_size) {
    failed_ = true;
    return Result::too_big;
  }
  // Failed until it returns ok: should growing `out` throw std::bad_alloc mid-message,
  // the state stays failed rather than half-way through a message.
  failed_ = true;
  // Start small (small messages are the common case, and resize zero-fills the room),
  // then double up to step_size while the output keeps coming.
  std::size_t step = std::clamp<std::size_t>(size * 4, 256, step_size);
  z.avail_in = 0;
  for (;;) {
    if (z.avail_in == 0 && size > 0) {
      const std::size_t n = std::min(size, max_zlib_chunk);
      z.next_in = const_cast<Bytef*>(data);  // zlib's API is not const; it only reads
      z.avail_in = static_cast<uInt>(n);
      data += n;
      size -= n;
    }
    const std::size_t used = out.size();
    const std::size_t below_limit = max_size - used;  // out.size() <= max_size here
    const std::size_t room = below_limit < step ? below_limit + 1 : step;
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int rc = ::inflate(&z, Z_SYNC_FLUSH);
    out.resize(used + (room - z.avail_out));
    switch (rc) {
      case Z_OK:
        break;
      case Z_STREAM_END:
        // BFINAL: anything after it in this message is ignored (see inflate()).
        stream_ended_ = true;
        if (out.size() > max_size) return Result::too_big;
        failed_ = false;
        return Result::ok;
      case Z_BUF_ERROR:  // no progress possible: all input taken, no output pending
        if (z.avail_in != 0 || size != 0) return Result::corrupt;
        failed_ = false;
        return Result::ok;
      case Z_MEM_ERROR:  // the window, allocated on the first output
        throw std::bad_alloc();
      default:  // Z_DATA_ERROR (includes a distance beyond what zlib holds), Z_NEED_DICT
        return Result::corrupt;
    }
    if (out.size() > max_size) return Result::too_big;
    // Output room left over with all input taken: nothing is pending inside zlib.
    if (z.avail_in == 0 && size == 0 && z.avail_out != 0) {
      failed_ = false;
      return Result::ok;
    }
    if (z.avail_out == 0) step = std::min(step * 2, step_size);
  }
}

}  // namespace switchboard::ws
