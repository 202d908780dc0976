#include "runtime/hash.h"

// The SHA-256 state is taken and restored through OpenSSL's SHA256_CTX, whose functions
// OpenSSL 3 deprecates in favour of EVP; EVP has no way to hand over a state, and the
// functions are the same code (SHA extensions where the processor has them).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fmt/format.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace ccaflow {

namespace {

const char* const kHex = "0123456789abcdef";

std::string hex_of(const unsigned char* bytes, std::size_t size) {
  std::string out;
  out.reserve(2 * size);
  for (std::size_t i = 0; i < size; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 15];
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

struct Sha256::Context {
  SHA256_CTX c;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) { SHA256_Init(&context_->c); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

std::optional<Sha256> Sha256::resumed(std::string_view state, std::int64_t bytes) {
  constexpr std::size_t kWords = sizeof(SHA256_CTX::h) / sizeof(SHA256_CTX::h[0]);
  if (state.size() != 8 * kWords || bytes < 0 || bytes % kBlock != 0) return std::nullopt;
  Sha256 hash;
  for (std::size_t w = 0; w < kWords; ++w) {
    SHA_LONG word = 0;
    for (std::size_t i = 0; i < 8; ++i) {
      int digit = hex_digit(state[8 * w + i]);
      if (digit < 0) return std::nullopt;
      word = (word << 4) | static_cast<SHA_LONG>(digit);
    }
    hash.context_->c.h[w] = word;
  }
  auto bits = static_cast<std::uint64_t>(bytes) * 8;
  hash.context_->c.Nl = static_cast<SHA_LONG>(bits & 0xffffffffu);
  hash.context_->c.Nh = static_cast<SHA_LONG>(bits >> 32);
  return hash;
}

void Sha256::update(std::string_view data) { SHA256_Update(&context_->c, data.data(), data.size()); }

std::string Sha256::hex() {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &context_->c);
  return hex_of(digest, sizeof digest);
}

std::string Sha256::hex_so_far() const {
  SHA256_CTX copy = context_->c;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256_Final(digest, &copy);
  return hex_of(digest, sizeof digest);
}

std::string Sha256::state() const {
  std::string out;
  for (SHA_LONG word : context_->c.h) out += fmt::format("{:08x}", static_cast<std::uint32_t>(word));
  return out;
}

struct Xxh3::State {
  XXH3_state_t s;
};

Xxh3::Xxh3() : state_(std::make_unique<State>()) {
  XXH3_INITSTATE(&state_->s);
  XXH3_64bits_reset(&state_->s);
}
Xxh3::~Xxh3() = default;
Xxh3::Xxh3(Xxh3&&) noexcept = default;
Xxh3& Xxh3::operator=(Xxh3&&) noexcept = default;

void Xxh3::update(std::string_view data) { XXH3_64bits_update(&state_->s, data.data(), data.size()); }

std::string Xxh3::hex_so_far() const { return fmt::format("{:016x}", XXH3_64bits_digest(&state_->s)); }

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

std::string xxh3_hex(std::string_view data) { return fmt::format("{:016x}", XXH3_64bits(data.data(), data.size())); }

std::optional<std::string> sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  Sha256 h;
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    h.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
  }
  return h.hex();
}

}  // namespace ccaflow
