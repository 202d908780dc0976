// The opt-out file the CCA's call centre and web form export: `account,received_on[,channel]`
// (RFC 4180, read through CsvReader). Reading is kept apart from applying, so a file is
// checked whole before anything changes and the reader can be tested and fuzzed alone.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compiler/date.h"
#include "runtime/csv.h"

namespace ccaflow {

struct OptoutRow {
  std::size_t line = 0;
  std::string account, channel;
  Date received{};
};

// A further check of one well-formed row (that the account is in the run): an error
// message, or nullopt when the row is good.
using OptoutCheck = std::function<std::optional<std::string>(const OptoutRow&)>;

// Reads every row; errors (with line and column) go to `csv`. Nothing may be received
// after `latest_received`; an account may appear once. Rows with errors are left out.
std::vector<OptoutRow> read_optouts(CsvReader& csv, Date latest_received, const OptoutCheck& check = {});

}  // namespace ccaflow
