// A set of accounts by id: a bit each, for the selection's "has this task reached it" and
// "has it opted out" asked of every account of a phase.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "runtime/sqlite.h"

namespace ccaflow {

class AccountSet {
 public:
  explicit AccountSet(std::int64_t max_id) : words_(static_cast<std::size_t>(std::max<std::int64_t>(max_id, 0)) / 64 + 1), size_(max_id + 1) {}
  // Adds the accounts in the first column of a query's rows.
  AccountSet& add_all(sql::Statement& accounts) {
    while (accounts.step()) add(accounts.integer(0));
    return *this;
  }
  void add(std::int64_t id) {
    if (id >= 0 && id < size_) words_[static_cast<std::size_t>(id) / 64] |= std::uint64_t{1} << (id % 64);
  }
  bool contains(std::int64_t id) const {
    return id >= 0 && id < size_ && (words_[static_cast<std::size_t>(id) / 64] >> (id % 64) & 1) != 0;
  }
  // Adds the accounts of one block of the reached table (see Store::reached): bit k of byte
  // j is account `first` + 8 j + k, for `first` a multiple of 64.
  void add_bits(std::int64_t first, std::string_view bits) {
    for (std::size_t j = 0; j < bits.size(); j += 8) {
      std::uint64_t word = 0;
      for (std::size_t k = 0; k < 8 && j + k < bits.size(); ++k) word |= std::uint64_t{static_cast<unsigned char>(bits[j + k])} << (8 * k);
      std::int64_t at = first / 64 + static_cast<std::int64_t>(j / 8);
      if (word != 0 && at >= 0 && static_cast<std::size_t>(at) < words_.size()) words_[static_cast<std::size_t>(at)] |= word;
    }
  }

 private:
  std::vector<std::uint64_t> words_;
  std::int64_t size_;
};

}  // namespace ccaflow
