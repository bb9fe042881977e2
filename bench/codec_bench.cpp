// sb-codec-bench: microbenchmarks of the pure WebSocket frame codec, the code every
// message crosses twice (read and write). Payload sizes: 32 B (chat, acks), 1 KiB
// (typical JSON event), 64 KiB (large payload: the 64-bit length form and the masking
// loop dominate).
//
//   build/release/bench/sb-codec-bench --benchmark_min_time=0.2

#include <array>
#include <cstddef>
#include <vector>

#include <benchmark/benchmark.h>

#include "ws/codec/frame.hpp"

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

}  // namespace

BENCHMARK_MAIN();
