#include "runtime/hash.h"

#include <gtest/gtest.h>

#include <string>

namespace ccaflow {
namespace {

std::string sample(std::size_t size) {
  std::string text;
  for (std::size_t i = 0; text.size() < size; ++i) text += "line " + std::to_string(i * 7919 % 100003) + "\r\n";
  text.resize(size);
  return text;
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 pieces;
  pieces.update("a");
  pieces.update("bc");
  EXPECT_EQ(pieces.hex_so_far(), sha256_hex("abc"));
  EXPECT_EQ(pieces.hex(), sha256_hex("abc"));
}

// A digest taken up in another process from the state after the whole blocks, given the
// bytes after them again, is the digest of the whole text.
TEST(Sha256, GoesOnFromTheStateAfterItsWholeBlocks) {
  std::string text = sample(100000);
  for (std::size_t cut : {0u, 1u, 63u, 64u, 65u, 4095u, 4096u, 70001u}) {
    Sha256 first;
    first.update(text.substr(0, cut));
    std::size_t blocks = cut - cut % 64;
    std::optional<Sha256> resumed = Sha256::resumed(first.state(), static_cast<std::int64_t>(blocks));
    ASSERT_TRUE(resumed) << cut;
    resumed->update(text.substr(blocks, cut - blocks));
    EXPECT_EQ(resumed->hex_so_far(), first.hex_so_far()) << cut;
    resumed->update(text.substr(cut));
    EXPECT_EQ(resumed->hex(), sha256_hex(text)) << cut;
  }
  Sha256 first;
  first.update(text.substr(0, 128));
  std::string state = first.state();
  ASSERT_EQ(state.size(), 64u);
  EXPECT_EQ(Sha256().state(), "6a09e667bb67ae853c6ef372a54ff53a510e527f9b05688c1f83d9ab5be0cd19");  // SHA-256's initial value
  EXPECT_FALSE(Sha256::resumed(state, 100));                       // not whole blocks
  EXPECT_FALSE(Sha256::resumed(state, -64));
  EXPECT_FALSE(Sha256::resumed(state.substr(1), 128));             // too short
  EXPECT_FALSE(Sha256::resumed("g" + state.substr(1), 128));       // not hex
  EXPECT_FALSE(Sha256::resumed(state + "00", 128));                // too long
  // A state from the wrong place gives another digest, which is how a reader tells it.
  std::optional<Sha256> wrong = Sha256::resumed(state, 64);
  ASSERT_TRUE(wrong);
  wrong->update(text.substr(64));
  EXPECT_NE(wrong->hex(), sha256_hex(text));
}

// Past half a gigabyte the bit count needs its high word (OpenSSL's Nh): a state resumed
// there must carry it.
TEST(Sha256, GoesOnPastHalfAGigabyte) {
  std::string piece = sample(1 << 20);
  constexpr std::int64_t kPieces = 513;  // 513 MiB: 2^32 + 2^23 bits
  Sha256 whole;
  for (std::int64_t i = 0; i < kPieces; ++i) whole.update(piece);
  std::optional<Sha256> resumed = Sha256::resumed(whole.state(), kPieces << 20);
  ASSERT_TRUE(resumed);
  whole.update("the end");
  resumed->update("the end");
  EXPECT_EQ(resumed->hex(), whole.hex());
}

TEST(Xxh3, HashedInPiecesIsHashedWhole) {
  EXPECT_EQ(xxh3_hex(""), "2d06800538d394c2");  // XXH3-64 of nothing, seed 0
  std::string text = sample(300000);
  Xxh3 pieces;
  for (std::size_t at = 0; at < text.size(); at += 7777) {
    pieces.update(text.substr(at, 7777));
    EXPECT_EQ(pieces.hex_so_far(), xxh3_hex(text.substr(0, std::min(text.size(), at + 7777))));
  }
  std::string changed = text;
  changed[1234] ^= 1;
  EXPECT_NE(xxh3_hex(changed), xxh3_hex(text));
  Xxh3 moved = std::move(pieces);
  EXPECT_EQ(moved.hex_so_far(), xxh3_hex(text));
}

}  // namespace
}  // namespace ccaflow
