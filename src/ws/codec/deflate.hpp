#pragma once
// permessage-deflate (RFC 7692) as a pure codec: the extension negotiation of §5 and
// §7.1, and the per-message compressor and decompressor of §7.2, over zlib's raw
// DEFLATE. No I/O; the server, the C++ client and the load generator share it.
//
// Memory per state, measured by the allocation hooks (memory_bytes()) on Debian's zlib
// 1.2.13, x86-64; deflate_test.cpp (DeflateMemory.PerStateCost) checks these bounds:
//   Inflater: 112 (z_stream) + 7,160 (inflate_state) + the 2^window_bits window, which
//             inflate() allocates on its first output: 7,528 bytes at 8 bits, 11,368 at
//             12, 40,040 at 15.
//   Deflater: 112 + 5,952 (deflate_state) + (1 << (window_bits + 2)) + (1 << (mem_level
//             + 9)) — window, chain, hash and pending buffer: 268,208 bytes at 15 bits
//             and mem_level 8; 139,184 at 8 bits (zlib uses 9); 138,160 at 15 bits and
//             mem_level 1.
// zlib enforces a window below 15 bits only against the output of earlier inflate()
// calls: within one call it accepts a distance back to anything that call wrote. So a
// peer that reaches beyond the *_max_window_bits it agreed to is failed (1007) or not
// depending on how its bytes arrive; the memory bound holds either way. DEFLATE's
// distances end at 32 KiB, so at 15 bits (the default) the check is exact.
//
// Hence the defaults: the server compresses without context takeover, so one Deflater
// per thread (per negotiated window size) serves every connection, and a connection's
// Inflater is allocated on its first compressed message and can be released between
// messages when the client drops its window (client_no_context_takeover).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ws/codec/reader.hpp"

struct z_stream_s;  // zlib's stream; zlib.h stays out of this header

namespace switchboard::ws {

// One side's permessage-deflate policy. Each field is named after the RFC 7692 §7.1
// parameter it governs. On a server it is what we accept and answer; on a client
// (make_deflate_offer) it is what we offer.
struct DeflateOptions {
  // §7.1.1.1. Server: the server compressor keeps no window between messages, so one
  // compressor per thread can serve every connection (256 KiB each at 15 bits).
  // Client: ask the server for it, so the client may drop its inflate window.
  bool server_no_context_takeover = true;
  // §7.1.1.2. Server: ask the client to drop its window between messages, which lets
  // us release our inflate state between messages. Client: promise to do so.
  bool client_no_context_takeover = false;
  // §7.1.2.1, 8..15. Server: the largest window we will use for sending. Client: the
  // largest window we let the server use (our inflate window).
  int server_max_window_bits = 15;
  // §7.1.2.2, 8..15. Server: the largest window we accept for receiving; below 15, an
  // offer that does not let us limit the client's window is declined. Client: the
  // largest window we will use for sending.
  int client_max_window_bits = 15;
  int level = 6;      // zlib compression level, 0..9
  int mem_level = 8;  // zlib memLevel, 1..9: hash table and pending buffer size
  // Messages shorter than this are sent uncompressed (Node ws' default): the caller's
  // decision, per message; the Deflater compresses whatever it is given.
  std::size_t threshold = 1024;
};

// What one connection agreed (RFC 7692 §7.1). Window bits are 8..15; 15 when the
// parameter was not part of the agreement.
struct DeflateParams {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  int server_max_window_bits = 15;
  int client_max_window_bits = 15;
  friend bool operator==(const DeflateParams&, const DeflateParams&) = default;
};

// Server side (§5, §7.1). Reads a Sec-WebSocket-Extensions value (several header lines
// joined by ", "), walks its permessage-deflate offers in order and accepts the first
// one we can honour: returns the agreed parameters and the exact extension string for
// the response (e.g. "permessage-deflate; server_no_context_takeover;
// client_max_window_bits=15"). Offers with an unknown, repeated or invalid parameter are
// declined (§7: "MUST decline"); other extensions are ignored. nullopt when there is no
// acceptable offer, or when the value does not follow the RFC 6455 §9.1 grammar (we do
// not guess at what a malformed list meant; the connection proceeds uncompressed).
// Window values in `options` outside 8..15 are clamped.
std::optional<std::pair<DeflateParams, std::string>> negotiate_deflate(
    std::string_view sec_websocket_extensions, const DeflateOptions& options);

// Client side: the Sec-WebSocket-Extensions value offering permessage-deflate with
// `options` (a single offer).
std::string make_deflate_offer(const DeflateOptions& options);

// Client side: checks the server's Sec-WebSocket-Extensions value against the offer made
// with make_deflate_offer(offered). nullopt when it is not a valid answer — an unknown,
// repeated or invalid parameter, another extension, or a parameter the offer does not
// allow (§7.1) — and the client must fail the connection (RFC 6455 §4.1, RFC 7692 §7).
// When the response carries no Sec-WebSocket-Extensions header, compression is simply
// off: do not call this.
std::optional<DeflateParams> accept_deflate_response(std::string_view response_header,
                                                     const DeflateOptions& offered);

// The window the Inflater for each direction needs, and the Deflater for the other:
//   server: Deflater(params.server_max_window_bits, ..., !params.server_no_context_takeover)
//           Inflater(params.client_max_window_bits, !params.client_no_context_takeover)
//   client: the same with server and client swapped.

// Compresses whole messages (§7.2.1). The zlib state is allocated on the first
// non-empty message, kept across messages, and freed by release() or the destructor.
// Thread safety: none; one Deflater belongs to one thread. Without context takeover it
// keeps nothing between messages and may serve every connection of its thread that
// agreed on its window size.
class Deflater {
 public:
  // window_bits 8..15 (8 is compressed with 9, see the .cpp), level -1..9, mem_level
  // 1..9; throws std::invalid_argument otherwise (setup).
  Deflater(int window_bits, int level, int mem_level, bool context_takeover);
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Appends the compressed payload of `message` to `out`: DEFLATE blocks ending with a
  // sync flush, without its final 0x00 0x00 0xff 0xff (§7.2.1). An empty message is the
  // single byte 0x00. Allocation failure throws std::bad_alloc, as growing `out` does.
  void compress(std::string_view message, std::string& out);

  // Frees the zlib state (the next message allocates it again). With context takeover
  // this drops the window, so call it only when the connection ends.
  void release() noexcept;

  bool allocated() const noexcept { return stream_ != nullptr; }
  // Bytes zlib holds for this Deflater right now (0 when not allocated).
  std::size_t memory_bytes() const noexcept { return memory_; }

 private:
  struct StreamDeleter {
    void operator()(z_stream_s* stream) const noexcept;
  };
  void allocate();

  std::size_t memory_ = 0;  // updated by the zlib allocation hooks; outlives stream_
  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
  int window_bits_;
  int level_;
  int mem_level_;
  bool context_takeover_;
};

// Decompresses messages (§7.2.2) for MessageReader, bounded by the reader's max size.
// The zlib state is allocated on the first compressed byte and kept until release().
// Thread safety: none; one Inflater belongs to one connection. Lifetime: the reader
// holds a pointer to it (ReaderOptions::inflater), so it must outlive that reader.
// Leniencies, each harmless: a compressed message with no payload bytes reads as empty
// (the RFC's empty message is 0x00); bytes after a block with BFINAL set are ignored
// (§7.2.3.4); and zlib checks match distances against what it still holds (its window
// and the current call's output), not against the agreed window size, so a peer that
// overreaches within one message may still be read correctly — into a previous message
// it cannot (corrupt). Memory stays bounded by the agreed window either way.
class Inflater final : public PayloadInflater {
 public:
  // window_bits 8..15: the agreed *_max_window_bits of the peer's direction; throws
  // std::invalid_argument otherwise (setup).
  Inflater(int window_bits, bool context_takeover);
  ~Inflater() override;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // May be called several times per message, as pieces arrive; see PayloadInflater.
  // Output is produced in steps of at most `step_size` bytes and never past
  // max_size + 1 bytes in `out`: a zip bomb costs the time to inflate max_size bytes.
  // After too_big or corrupt the connection must fail (§7.2.2 and RFC 6455 §7.4.1
  // 1009/1007); every later call returns corrupt until release(). Allocation failure
  // throws std::bad_alloc, as growing `out` does.
  Result inflate(std::string_view compressed, std::string& out, std::size_t max_size) override;
  // Ends the message: inflates the 0x00 0x00 0xff 0xff tail (§7.2.2) and checks that
  // the message ended on a DEFLATE block boundary (else it was truncated: corrupt).
  // Without context takeover the window is then reset (the allocation is kept).
  Result finish(std::string& out, std::size_t max_size) override;

  // Frees the zlib state. Call it between messages only, and only without context
  // takeover (or when the connection ends): with takeover it drops the window.
  void release() noexcept;

  bool allocated() const noexcept { return stream_ != nullptr; }
  // Bytes zlib (and a saved window, see the .cpp) hold right now.
  std::size_t memory_bytes() const noexcept { return memory_ + saved_window_.capacity(); }

  static constexpr std::size_t step_size = 16 * 1024;

 private:
  struct StreamDeleter {
    void operator()(z_stream_s* stream) const noexcept;
  };
  void allocate();
  Result run(const unsigned char* data, std::size_t size, std::string& out,
             std::size_t max_size);

  std::size_t memory_ = 0;  // updated by the zlib allocation hooks; outlives stream_
  std::unique_ptr<z_stream_s, StreamDeleter> stream_;
  std::vector<unsigned char> saved_window_;  // only for peers ending messages with BFINAL
  int window_bits_;
  bool context_takeover_;
  bool failed_ = false;
  bool message_started_ = false;  // compressed bytes arrived for the current message
  bool stream_ended_ = false;     // the current message held a BFINAL block
};

}  // namespace switchboard::ws
