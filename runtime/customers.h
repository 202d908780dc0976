// The customer file: a CSV export of service accounts (RFC 4180; Excel's UTF-8 BOM, CRLF
// line ends and quoted fields with commas all work), read streaming because it can hold
// millions of rows. A damaged file yields errors that name the line.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
};

struct DataError {
  std::size_t line = 0;    // 0: the file as a whole
  std::size_t column = 0;  // 0: unknown
  std::string message;
  std::string text;        // the offending line, shortened
};

// "FILE:LINE:COL: error: MESSAGE", then the line and a caret when known.
std::string render_data_error(const std::string& path, const DataError& error);

class CustomerReader {
 public:
  // Reads read cycles 1..cycle_count. Stops after `max_errors` errors.
  CustomerReader(std::string path, int cycle_count, std::size_t max_errors = 20);
  ~CustomerReader();
  CustomerReader(const CustomerReader&) = delete;
  CustomerReader& operator=(const CustomerReader&) = delete;

  // The next valid account; false at the end of the file or once reading cannot go on.
  // Rows with errors are reported and skipped.
  bool next(Account& account);

  const std::vector<DataError>& errors() const { return errors_; }
  bool ok() const { return errors_.empty(); }
  const std::string& path() const { return path_; }
  std::size_t accounts() const { return accounts_; }

 private:
  struct Impl;
  bool fill();
  void header(std::vector<std::string>& fields);
  bool convert(std::vector<std::string>& fields, std::size_t line, Account& account);
  void error(std::size_t line, std::size_t column, std::string message);
  void finish();

  std::string path_;
  int cycle_count_;
  std::size_t max_errors_;
  std::unique_ptr<Impl> impl_;
  std::vector<DataError> errors_;
  std::size_t accounts_ = 0;
};

}  // namespace ccaflow
