#include "ws/codec/frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace switchboard::ws {
namespace {

std::vector<std::byte> wire(std::initializer_list<int> list) {
  std::vector<std::byte> out;
  for (int b : list) out.push_back(std::byte(b));
  return out;
}

std::vector<std::byte> header_bytes(Opcode opcode, std::uint64_t length, bool fin = true,
                                    bool rsv1 = false,
                                    const std::array<std::byte, 4>* mask = nullptr) {
  std::vector<std::byte> out(max_frame_header_size);
  out.resize(write_frame_header(out.data(), opcode, length, fin, rsv1, mask));
  return out;
}

constexpr std::array<std::byte, 4> rfc_mask{std::byte(0x37), std::byte(0xfa), std::byte(0x21),
                                            std::byte(0x3d)};

// RFC 6455 §5.7 examples, byte for byte.

TEST(FrameHeader, WritesTheRfcExamples) {
  EXPECT_EQ(header_bytes(Opcode::text, 5), wire({0x81, 0x05}));
  EXPECT_EQ(header_bytes(Opcode::text, 5, true, false, &rfc_mask),
            wire({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ(header_bytes(Opcode::text, 3, false), wire({0x01, 0x03}));
  EXPECT_EQ(header_bytes(Opcode::continuation, 2), wire({0x80, 0x02}));
  EXPECT_EQ(header_bytes(Opcode::ping, 5), wire({0x89, 0x05}));
  EXPECT_EQ(header_bytes(Opcode::pong, 5, true, false, &rfc_mask),
            wire({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d}));
  EXPECT_EQ(header_bytes(Opcode::binary, 256), wire({0x82, 0x7e, 0x01, 0x00}));
  EXPECT_EQ(header_bytes(Opcode::binary, 65536),
            wire({0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}));
  EXPECT_EQ(header_bytes(Opcode::text, 1, true, true), wire({0xc1, 0x01}));  // RSV1
}

TEST(FrameHeader, MasksTheRfcExample) {
  auto payload = wire({'H', 'e', 'l', 'l', 'o'});
  mask_bytes(payload, rfc_mask);
  EXPECT_EQ(payload, wire({0x7f, 0x9f, 0x4d, 0x51, 0x58}));
}

TEST(FrameHeader, ParsesTheRfcExamples) {
  FrameHeader h;
  auto masked = wire({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  ASSERT_EQ(parse_frame_header(masked, h), HeaderStatus::complete);
  EXPECT_TRUE(h.fin);
  EXPECT_FALSE(h.rsv1 || h.rsv2 || h.rsv3);
  EXPECT_EQ(h.opcode, Opcode::text);
  EXPECT_TRUE(h.masked);
  EXPECT_EQ(h.mask, rfc_mask);
  EXPECT_EQ(h.payload_length, 5u);
  EXPECT_EQ(h.header_size, 6);

  auto first = wire({0x01, 0x03, 'H', 'e', 'l'});
  ASSERT_EQ(parse_frame_header(first, h), HeaderStatus::complete);
  EXPECT_FALSE(h.fin);
  EXPECT_FALSE(h.masked);
  EXPECT_EQ(h.payload_length, 3u);
  EXPECT_EQ(h.header_size, 2);
}

TEST(FrameHeader, RoundTripsEveryLengthFormAndFlag) {
  const std::uint64_t lengths[] = {0,     1,     125,        126,         127,
                                   65535, 65536, 1ull << 32, (1ull << 63) - 1};
  const Opcode opcodes[] = {Opcode::continuation, Opcode::text, Opcode::binary,
                            Opcode::close,        Opcode::ping, Opcode::pong};
  for (std::uint64_t length : lengths) {
    for (Opcode op : opcodes) {
      for (int flags = 0; flags < 8; ++flags) {
        const bool fin = flags & 1, rsv1 = flags & 2, masked = flags & 4;
        const auto bytes = header_bytes(op, length, fin, rsv1, masked ? &rfc_mask : nullptr);
        const std::size_t expected_size =
            (length < 126 ? 2 : length <= 0xffff ? 4 : 10) + (masked ? 4 : 0);
        ASSERT_EQ(bytes.size(), expected_size);
        FrameHeader h;
        ASSERT_EQ(parse_frame_header(bytes, h), HeaderStatus::complete) << length;
        EXPECT_EQ(h.fin, fin);
        EXPECT_EQ(h.rsv1, rsv1);
        EXPECT_FALSE(h.rsv2);
        EXPECT_FALSE(h.rsv3);
        EXPECT_EQ(h.opcode, op);
        EXPECT_EQ(h.masked, masked);
        if (masked) {
          EXPECT_EQ(h.mask, rfc_mask);
        }
        EXPECT_EQ(h.payload_length, length);
        EXPECT_EQ(h.header_size, expected_size);
      }
    }
  }
}

TEST(FrameHeader, ParsesOnlyTheHeaderOfALongerInput) {
  auto bytes = header_bytes(Opcode::binary, 300, true, false, &rfc_mask);
  bytes.resize(bytes.size() + 300, std::byte(0xff));
  FrameHeader h;
  ASSERT_EQ(parse_frame_header(bytes, h), HeaderStatus::complete);
  EXPECT_EQ(h.header_size, 8);
  EXPECT_EQ(h.payload_length, 300u);
}

TEST(FrameHeader, NeedsMoreForEveryTruncatedHeader) {
  for (std::uint64_t length : {5ull, 300ull, 70000ull}) {
    for (bool masked : {false, true}) {
      const auto bytes = header_bytes(Opcode::text, length, true, false, masked ? &rfc_mask : nullptr);
      for (std::size_t n = 0; n < bytes.size(); ++n) {
        FrameHeader h;
        EXPECT_EQ(parse_frame_header(std::span(bytes).first(n), h), HeaderStatus::need_more)
            << length << " " << masked << " " << n;
      }
    }
  }
}

TEST(FrameHeader, ReadsReservedBitsAndOpcodesAsTheyAre) {
  // Which of these are errors depends on the connection: MessageReader decides.
  FrameHeader h;
  ASSERT_EQ(parse_frame_header(wire({0x7b, 0x00}), h), HeaderStatus::complete);
  EXPECT_FALSE(h.fin);
  EXPECT_TRUE(h.rsv1);
  EXPECT_TRUE(h.rsv2);
  EXPECT_TRUE(h.rsv3);
  EXPECT_EQ(static_cast<int>(h.opcode), 0xb);
  for (int op = 0; op < 16; ++op) {
    ASSERT_EQ(parse_frame_header(wire({0x80 | op, 0x00}), h), HeaderStatus::complete);
    EXPECT_EQ(static_cast<int>(h.opcode), op);
    EXPECT_EQ(is_control(h.opcode), op >= 8);
  }
}

TEST(FrameHeader, RefusesA64BitLengthWithTheTopBitSet) {
  FrameHeader h;
  auto bytes = wire({0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(parse_frame_header(bytes, h), HeaderStatus::invalid);
  bytes = wire({0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4});
  EXPECT_EQ(parse_frame_header(bytes, h), HeaderStatus::invalid);
  // Known as soon as the length is: the mask key need not have arrived.
  bytes.resize(10);
  EXPECT_EQ(parse_frame_header(bytes, h), HeaderStatus::invalid);
  bytes = wire({0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  ASSERT_EQ(parse_frame_header(bytes, h), HeaderStatus::complete);
  EXPECT_EQ(h.payload_length, (1ull << 63) - 1);
}

TEST(FrameHeader, AcceptsNonMinimalLengths) {
  // §5.2 asks senders for the minimal length form; like most receivers, the parser
  // reads the longer forms too (the length is still exact).
  FrameHeader h;
  ASSERT_EQ(parse_frame_header(wire({0x81, 0x7e, 0x00, 0x05}), h), HeaderStatus::complete);
  EXPECT_EQ(h.payload_length, 5u);
  EXPECT_EQ(h.header_size, 4);
  ASSERT_EQ(parse_frame_header(wire({0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x05}), h),
            HeaderStatus::complete);
  EXPECT_EQ(h.payload_length, 5u);
  EXPECT_EQ(h.header_size, 10);
}

// mask_bytes against a byte-at-a-time reference, for every length around the 8-byte
// word, every starting offset, and in pieces.
TEST(MaskBytes, MatchesTheDefinitionAtEveryLengthAndOffset) {
  const std::array<std::byte, 4> key{std::byte(0x01), std::byte(0x80), std::byte(0xfe),
                                     std::byte(0x5a)};
  for (std::size_t len = 0; len <= 41; ++len) {
    for (std::uint64_t offset = 0; offset < 9; ++offset) {
      std::vector<std::byte> data(len);
      for (std::size_t i = 0; i < len; ++i) data[i] = std::byte(i * 7 + 3);
      auto expected = data;
      for (std::size_t i = 0; i < len; ++i) expected[i] ^= key[(offset + i) % 4];
      auto actual = data;
      mask_bytes(actual, key, offset);
      ASSERT_EQ(actual, expected) << len << " " << offset;
      mask_bytes(actual, key, offset);  // XOR twice is the identity
      ASSERT_EQ(actual, data);
    }
  }
}

TEST(MaskBytes, InPiecesEqualsAtOnce) {
  std::vector<std::byte> data(100);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i);
  auto whole = data;
  mask_bytes(whole, rfc_mask);
  for (std::size_t cut1 = 0; cut1 <= data.size(); cut1 += 3) {
    for (std::size_t cut2 = cut1; cut2 <= data.size(); cut2 += 5) {
      auto pieces = data;
      std::span<std::byte> s(pieces);
      mask_bytes(s.subspan(0, cut1), rfc_mask, 0);
      mask_bytes(s.subspan(cut1, cut2 - cut1), rfc_mask, cut1);
      mask_bytes(s.subspan(cut2), rfc_mask, cut2);
      ASSERT_EQ(pieces, whole) << cut1 << " " << cut2;
    }
  }
}

TEST(MaskBytes, UnalignedBuffer) {
  std::vector<std::byte> buffer(64, std::byte(0));
  std::span<std::byte> odd(buffer.data() + 3, 37);
  mask_bytes(odd, rfc_mask, 2);
  for (std::size_t i = 0; i < odd.size(); ++i) EXPECT_EQ(odd[i], rfc_mask[(2 + i) % 4]);
  EXPECT_EQ(buffer[2], std::byte(0));
  EXPECT_EQ(buffer[40], std::byte(0));
}

TEST(CloseCode, ValidityFollowsTheRegistry) {
  for (unsigned code = 0; code <= 0xffff; ++code) {
    const bool expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
                          (code >= 3000 && code <= 4999);
    ASSERT_EQ(is_valid_close_code(static_cast<std::uint16_t>(code)), expected) << code;
  }
  EXPECT_TRUE(is_valid_close_code(close_code::normal));
  EXPECT_FALSE(is_valid_close_code(close_code::no_status));
  EXPECT_FALSE(is_valid_close_code(close_code::abnormal));
  EXPECT_FALSE(is_valid_close_code(1004));
  EXPECT_FALSE(is_valid_close_code(1015));  // TLS handshake failure, never sent
  EXPECT_FALSE(is_valid_close_code(999));
  EXPECT_FALSE(is_valid_close_code(2999));
  EXPECT_FALSE(is_valid_close_code(5000));
}

TEST(Opcode, ControlFrames) {
  EXPECT_FALSE(is_control(Opcode::continuation));
  EXPECT_FALSE(is_control(Opcode::text));
  EXPECT_FALSE(is_control(Opcode::binary));
  EXPECT_TRUE(is_control(Opcode::close));
  EXPECT_TRUE(is_control(Opcode::ping));
  EXPECT_TRUE(is_control(Opcode::pong));
}

}  // namespace
}  // namespace switchboard::ws
