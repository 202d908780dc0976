// SHA-256 (OpenSSL), as lowercase hex: fingerprints of workflows, customer and ingest files.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ccaflow {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256(Sha256&& other) noexcept : context_(std::exchange(other.context_, nullptr)) {}
  Sha256& operator=(Sha256&&) = delete;
  void update(std::string_view data);
  std::string hex();  // finishes the digest
  // The digest of what was hashed so far, while hashing goes on (of a copy of the state).
  std::string hex_so_far() const;

 private:
  void* context_;
};

std::string sha256_hex(std::string_view data);
// The digest of a file's bytes, or nullopt when it cannot be read.
std::optional<std::string> sha256_file(const std::string& path);

}  // namespace ccaflow
