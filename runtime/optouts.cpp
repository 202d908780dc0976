#include "runtime/optouts.h"

#include <fmt/format.h>

#include <cctype>
#include <map>

namespace ccaflow {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  while (!s.empty() && s.back() == ' ') s.pop_back();
  while (!s.empty() && s.front() == ' ') s.erase(s.begin());
  return s;
}

}  // namespace

std::vector<OptoutRow> read_optouts(CsvReader& csv, Date latest_received, const OptoutCheck& check) {
  std::vector<std::string> fields;
  std::size_t line = 0;
  std::vector<OptoutRow> rows;
  std::map<std::string, std::size_t> first_line;
  int account_column = -1, received_column = -1, channel_column = -1;
  std::size_t column_count = 0;  // the header's
  bool header = true;
  while (csv.next(fields, line)) {
    if (header) {
      header = false;
      for (std::size_t i = 0; i < fields.size(); ++i) {
        std::string name = lower(fields[i]);
        int* slot = name == "account" ? &account_column : name == "received_on" ? &received_column
                    : name == "channel" ? &channel_column : nullptr;
        if (slot == nullptr || *slot >= 0) {
          csv.error(1, 0, fmt::format("{} column `{}`: the header is account,received_on[,channel]",
                                      slot == nullptr ? "unknown" : "repeated", fields[i]));
          continue;
        }
        *slot = static_cast<int>(i);
      }
      if (account_column < 0 || received_column < 0) {
        csv.error(1, 0, "the header must name account and received_on (and may name channel)");
      }
      // Rows cannot be read against a header that is wrong.
      if (!csv.ok()) csv.stop();
      column_count = fields.size();
      continue;
    }
    if (fields.size() != column_count) {
      csv.error(line, 0, fmt::format("expected {} fields, as in the header, but found {}", column_count, fields.size()));
      continue;
    }
    OptoutRow row;
    row.line = line;
    row.account = fields[static_cast<std::size_t>(account_column)];
    row.channel = channel_column >= 0 ? fields[static_cast<std::size_t>(channel_column)] : "";
    auto received = parse_date(fields[static_cast<std::size_t>(received_column)]);
    if (!received) {
      csv.error(line, csv.field_column(line, static_cast<std::size_t>(received_column)),
                fmt::format("received_on must be a date as YYYY-MM-DD, not `{}`", fields[static_cast<std::size_t>(received_column)]));
      continue;
    }
    row.received = *received;
    if (row.received > latest_received) {
      csv.error(line, csv.field_column(line, static_cast<std::size_t>(received_column)),
                fmt::format("received_on {} is after today ({}): an opt-out is ingested once it has been received",
                            format_date(row.received), format_date(latest_received)));
      continue;
    }
    auto [it, inserted] = first_line.try_emplace(row.account, line);
    if (!inserted) {
      csv.error(line, 1, fmt::format("account `{}` opts out twice in this file (first on line {})", row.account, it->second));
      continue;
    }
    if (check) {
      if (auto problem = check(row)) {
        csv.error(line, 1, *problem);
        continue;
      }
    }
    rows.push_back(std::move(row));
  }
  if (csv.ok() && rows.empty() && header) csv.error(0, 0, "the file is empty: it needs the header account,received_on");
  return rows;
}

}  // namespace ccaflow
