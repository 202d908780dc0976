// The customer file: a CSV export of service accounts (RFC 4180; Excel's UTF-8 BOM, CRLF
// line ends and quoted fields with commas all work), read streaming because it can hold
// millions of rows. A damaged file yields errors that name the line.
#pragma once

#include <cstdint>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "compiler/date.h"
#include "runtime/csv.h"

namespace ccaflow {

enum class CustomerClass : std::uint8_t { kResidential, kCommercial, kIndustrial, kAgricultural, kMunicipal, kLighting };
const char* customer_class_name(CustomerClass c);

struct Account {
  std::string id;
  CustomerClass customer_class = CustomerClass::kResidential;
  std::string rate_schedule, city, county;
  int read_cycle = 0;
  bool direct_access = false, care = false, fera = false, medical_baseline = false, nem = false;
  std::size_t line = 0;  // where the record starts
  Date service_start{};  // move-in files only
};

// The account's flags as the run database stores them: one bit each for Direct Access, CARE,
// FERA, Medical Baseline and NEM.
int account_flags(const Account& account);

// The account numbers read so far, each with the line it was first seen on: the duplicate
// check of a file of millions of accounts. Kept compact (the numbers back to back in one
// buffer, an open-addressing table of indexes), about 30 bytes an account where a map of
// strings took about 75.
class AccountNumbers {
 public:
  // Records `id` first seen on `line`; if it was seen before, returns that line instead.
  std::optional<std::uint32_t> insert(std::string_view id, std::uint32_t line);
  std::size_t size() const { return lines_.size(); }

 private:
  std::string_view at(std::uint32_t index) const;
  void grow();

  std::string text_;                  // every account number, back to back
  std::vector<std::uint64_t> ends_;   // where each one ends in text_
  std::vector<std::uint32_t> lines_;  // the line each was first seen on
  std::vector<std::uint32_t> slots_;  // index + 1 by hash; 0 is empty; at most half full
};

class CustomerReader {
 public:
  // Reads read cycles 1..cycle_count. Stops after `max_errors` errors. A move-in file also
  // has a `service_start` column (YYYY-MM-DD).
  CustomerReader(std::string path, int cycle_count, std::size_t max_errors = 20, bool move_ins = false);
  ~CustomerReader();
  CustomerReader(const CustomerReader&) = delete;
  CustomerReader& operator=(const CustomerReader&) = delete;

  // The next valid account; false at the end of the file or once reading cannot go on.
  // Rows with errors are reported and skipped.
  bool next(Account& account);

  const std::vector<DataError>& errors() const { return csv_.errors(); }
  bool ok() const { return csv_.ok(); }
  const std::string& path() const { return csv_.path(); }
  std::size_t accounts() const { return accounts_; }

 private:
  void header(std::vector<std::string>& fields);
  bool convert(std::vector<std::string>& fields, std::size_t line, Account& account);

  CsvReader csv_;
  int cycle_count_;
  bool move_ins_;
  bool have_header_ = false;
  bool finished_ = false;
  std::vector<int> columns_;  // file column -> customer column
  AccountNumbers seen_;
  std::size_t accounts_ = 0;
};

}  // namespace ccaflow
