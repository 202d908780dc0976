#include "runtime/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace ccaflow {

namespace {

// The digest's implementation, fetched once per process. A fingerprint needs nothing from
// the system's OpenSSL configuration, and reading it (and fetching SHA-256 again for every
// hash) cost each ccaflow process about 0.7 ms.
const EVP_MD* sha256_algorithm() {
  static const EVP_MD* const algorithm = [] {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
    return EVP_MD_fetch(nullptr, "SHA256", nullptr);
  }();
  return algorithm;
}

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  const EVP_MD* algorithm = sha256_algorithm();
  if (context_ == nullptr || algorithm == nullptr ||
      EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_), algorithm, nullptr) != 1) {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_));  // (a constructor that throws has no destructor run)
    throw std::runtime_error("SHA-256 is not available");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context_)); }

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(context_), data.data(), data.size());
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(context_), digest, &length);
  static const char* const kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string Sha256::hex_so_far() const {
  Sha256 copy;
  if (EVP_MD_CTX_copy_ex(static_cast<EVP_MD_CTX*>(copy.context_), static_cast<const EVP_MD_CTX*>(context_)) != 1) {
    throw std::runtime_error("cannot copy a SHA-256 state");
  }
  return copy.hex();
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

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
