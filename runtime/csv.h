// Streaming RFC 4180 CSV (libcsv): records with the line they start on, Excel's UTF-8 BOM
// and CRLF, quoted fields over several lines, bounded line length, UTF-8 checked, and
// errors that name the line and column and quote the line. Customer files and every
// ingest file are read through it.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace ccaflow {

struct DataError {
  std::size_t line = 0;    // 0: the file as a whole
  std::size_t column = 0;  // 0: unknown
  std::string message;
  std::string text;        // the offending line, shortened
};

// "FILE:LINE:COL: error: MESSAGE", then the line and a caret when known.
std::string render_data_error(const std::string& path, const DataError& error);

class CsvReader {
 public:
  // `what` names the file in messages ("customer file", "opt-out file").
  CsvReader(std::string path, std::string what, std::size_t max_errors = 20);
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The next record and the line it starts on; false at the end or once reading cannot go on.
  bool next(std::vector<std::string>& fields, std::size_t& line);
  // Reports an error; the line is quoted when it is the one being read. Reading stops
  // after max_errors.
  void error(std::size_t line, std::size_t column, std::string message);
  // The 1-based column where field `index` starts on `line`, when that line is the one
  // being read and holds the whole record; else 0.
  std::size_t field_column(std::size_t line, std::size_t index) const;
  void stop();

  const std::vector<DataError>& errors() const { return errors_; }
  bool ok() const { return errors_.empty(); }
  bool at_end() const;
  const std::string& path() const { return path_; }

 private:
  struct Impl;
  bool fill();

  std::string path_, what_;
  std::size_t max_errors_;
  std::unique_ptr<Impl> impl_;
  std::vector<DataError> errors_;
};

}  // namespace ccaflow
