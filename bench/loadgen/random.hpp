#pragma once
// A fast per-thread generator (SplitMix64) for WebSocket mask keys and handshake keys.
// Not cryptographic: RFC 6455 §10.3 wants unpredictable masks to stop cache poisoning
// by hostile scripts behind proxies, which cannot happen between a benchmark client and
// a server on the same machine, and a CSPRNG call per frame would cost more than the
// frame. Seeded from std::random_device so runs differ.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <random>

namespace switchboard::loadgen {

class Random {
 public:
  Random() {
    std::random_device device;
    state_ = (std::uint64_t{device()} << 32) ^ device();
  }
  explicit Random(std::uint64_t seed) noexcept : state_(seed) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::array<std::byte, 4> mask_key() noexcept {
    std::array<std::byte, 4> key;
    auto bits = static_cast<std::uint32_t>(next());
    std::memcpy(key.data(), &bits, 4);
    return key;
  }

  void fill(std::byte* out, std::size_t n) noexcept {
    while (n) {
      std::uint64_t bits = next();
      std::size_t chunk = n < 8 ? n : 8;
      std::memcpy(out, &bits, chunk);
      out += chunk;
      n -= chunk;
    }
  }

 private:
  std::uint64_t state_;
};

}  // namespace switchboard::loadgen
