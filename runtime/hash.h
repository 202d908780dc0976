// SHA-256 (OpenSSL), as lowercase hex: fingerprints of workflows, customer and ingest files,
// and of the outbox's files. XXH3-64 (xxHash): a fast check that bytes read again are the
// bytes written (not a fingerprint: it is not cryptographic).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ccaflow {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  // Goes on from a state that `state()` gave (hex), after the first `bytes` bytes, which
  // must be a whole number of 64-byte blocks; nullopt when the text is not such a state.
  static std::optional<Sha256> resumed(std::string_view state, std::int64_t bytes);
  void update(std::string_view data);
  std::string hex();  // finishes the digest
  // The digest of what was hashed so far, while hashing goes on (of a copy of the state).
  std::string hex_so_far() const;
  // The state after the whole 64-byte blocks hashed so far (the bytes after the last of
  // them are not in it), as hex: hashing can go on from it in another process, given the
  // bytes after those blocks again, without reading the blocks.
  std::string state() const;
  static constexpr std::int64_t kBlock = 64;

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

class Xxh3 {
 public:
  Xxh3();
  ~Xxh3();
  Xxh3(Xxh3&&) noexcept;
  Xxh3& operator=(Xxh3&&) noexcept;
  void update(std::string_view data);
  std::string hex_so_far() const;  // of everything so far, while hashing goes on

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(std::string_view data);
std::string xxh3_hex(std::string_view data);
// The digest of a file's bytes, or nullopt when it cannot be read.
std::optional<std::string> sha256_file(const std::string& path);

}  // namespace ccaflow
