// sb-codec-bench: microbenchmarks of the pure WebSocket frame codec, the code every
// message crosses twice (read and write). Payload sizes: 32 B (chat, acks), 1 KiB
// (typical JSON event), 64 KiB (large payload: the 64-bit length form and the masking
// loop dominate).
//
//   build/release/bench/sb-codec-bench --benchmark_min_time=0.2

#include <array>
#include <cstddef>
#include <cstring>
#include <vector>

#include <benchmark/benchmark.h>

#include "ws/codec/frame.hpp"
#include "ws/codec/reader.hpp"

namespace {

using namespace switchboard::ws;

constexpr std::array<std::byte, 4> mask_key{std::byte{0x37}, std::byte{0xfa}, std::byte{0x21},
                                            std::byte{0x3d}};

void payload_sizes(benchmark::internal::Benchmark* b) { b->Arg(32)->Arg(1024)->Arg(64 * 1024); }

// A client frame header (masked), as the server reads it.
void BM_ParseFrameHeader(benchmark::State& state) {
  auto length = static_cast<std::uint64_t>(state.range(0));
  std::array<std::byte, max_frame_header_size> bytes{};
  std::size_t size = write_frame_header(bytes.data(), Opcode::binary, length, true, false, &mask_key);
  std::span<const std::byte> input(bytes.data(), size);
  FrameHeader header;
  for (auto _ : state) {
    benchmark::DoNotOptimize(input);
    auto status = parse_frame_header(input, header);
    benchmark::DoNotOptimize(status);
    benchmark::DoNotOptimize(header);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseFrameHeader)->Apply(payload_sizes);

// A server frame header (unmasked), as the server writes it.
void BM_WriteFrameHeader(benchmark::State& state) {
  auto length = static_cast<std::uint64_t>(state.range(0));
  std::array<std::byte, max_frame_header_size> out{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(length);
    std::size_t size = write_frame_header(out.data(), Opcode::text, length);
    benchmark::DoNotOptimize(size);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WriteFrameHeader)->Apply(payload_sizes);

// A client frame header with its mask key, as the client library and sb-loadgen write it.
void BM_WriteMaskedFrameHeader(benchmark::State& state) {
  auto length = static_cast<std::uint64_t>(state.range(0));
  std::array<std::byte, max_frame_header_size> out{};
  for (auto _ : state) {
    benchmark::DoNotOptimize(length);
    std::size_t size = write_frame_header(out.data(), Opcode::binary, length, true, false, &mask_key);
    benchmark::DoNotOptimize(size);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WriteMaskedFrameHeader)->Apply(payload_sizes);

void BM_MaskBytes(benchmark::State& state) {
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)), std::byte{'x'});
  for (auto _ : state) {
    mask_bytes(payload, mask_key);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MaskBytes)->Apply(payload_sizes);

// Unmasking in pieces, as reads split a payload: an odd offset into the key.
void BM_MaskBytesUnaligned(benchmark::State& state) {
  std::vector<std::byte> payload(static_cast<std::size_t>(state.range(0)) + 3, std::byte{'x'});
  std::span<std::byte> piece(payload.data() + 3, payload.size() - 3);
  for (auto _ : state) {
    mask_bytes(piece, mask_key, 3);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_MaskBytesUnaligned)->Apply(payload_sizes);

// MessageReader::feed on a read buffer's worth (64 KiB) of back-to-back masked client
// frames, as a busy server connection delivers them: header, unmask in place, UTF-8
// check for text, one on_message per frame. feed() unmasks in place, so each
// iteration first copies the pristine frames in; the copy (memcpy speed) is included.
class CountingHandler final : public MessageReader::Handler {
 public:
  void on_message(std::string_view payload, bool binary) override {
    ++messages;
    bytes += payload.size();
  }
  void on_ping(std::string_view) override {}
  void on_pong(std::string_view) override {}
  void on_close(std::uint16_t, std::string_view) override {}
  std::uint64_t messages = 0;
  std::uint64_t bytes = 0;
};

std::vector<std::byte> masked_frames(std::size_t payload_size, Opcode opcode, std::size_t total) {
  std::vector<std::byte> out;
  std::vector<std::byte> payload(payload_size);
  for (std::size_t i = 0; i < payload_size; ++i) payload[i] = std::byte('a' + i % 26);
  std::array<std::byte, max_frame_header_size> header{};
  std::uint32_t key_bits = 0x9e3779b9;
  while (out.size() + payload_size + max_frame_header_size <= total) {
    key_bits = key_bits * 1664525 + 1013904223;  // a different key per frame, as clients do
    std::array<std::byte, 4> key{std::byte(key_bits), std::byte(key_bits >> 8),
                                 std::byte(key_bits >> 16), std::byte(key_bits >> 24)};
    std::size_t size = write_frame_header(header.data(), opcode, payload_size, true, false, &key);
    out.insert(out.end(), header.begin(), header.begin() + static_cast<std::ptrdiff_t>(size));
    std::size_t at = out.size();
    out.insert(out.end(), payload.begin(), payload.end());
    mask_bytes(std::span(out).subspan(at), key);
  }
  return out;
}

void BM_MessageReaderFeed(benchmark::State& state, Opcode opcode) {
  auto pristine = masked_frames(static_cast<std::size_t>(state.range(0)), opcode, 64 * 1024);
  std::vector<std::byte> input(pristine.size());
  MessageReader reader(ReaderOptions{});
  CountingHandler handler;
  for (auto _ : state) {
    std::memcpy(input.data(), pristine.data(), pristine.size());
    auto code = reader.feed(input, handler);
    if (code != 0) {
      state.SkipWithError("the reader failed");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(handler.messages));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(pristine.size()));
}
BENCHMARK_CAPTURE(BM_MessageReaderFeed, binary, Opcode::binary)->Arg(32)->Arg(1024);
BENCHMARK_CAPTURE(BM_MessageReaderFeed, text, Opcode::text)->Arg(32)->Arg(1024);

}  // namespace

BENCHMARK_MAIN();
