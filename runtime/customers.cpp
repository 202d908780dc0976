#include "runtime/customers.h"

#include <algorithm>
#include <charconv>
#include <fmt/format.h>

#include "compiler/suggest.h"

namespace ccaflow {

const char* customer_class_name(CustomerClass c) {
  static const char* const kNames[] = {"residential", "commercial", "industrial", "agricultural", "municipal", "lighting"};
  return kNames[static_cast<int>(c)];
}

int account_flags(const Account& a) {
  return (a.direct_access ? 1 : 0) | (a.care ? 2 : 0) | (a.fera ? 4 : 0) | (a.medical_baseline ? 8 : 0) | (a.nem ? 16 : 0);
}

namespace {

enum Column { kAccount, kClass, kRate, kCity, kCounty, kCycle, kDirectAccess, kCare, kFera, kMedical, kNem, kServiceStart, kColumns };
const std::vector<std::string>& column_names() {
  static const std::vector<std::string> names = {"account", "customer_class", "rate_schedule", "city", "county", "read_cycle",
                                                 "direct_access", "care", "fera", "medical_baseline", "nem", "service_start"};
  return names;
}
constexpr int kRequired = 6;  // the first six columns must be present

std::string lower_trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

CustomerReader::CustomerReader(std::string path, int cycle_count, std::size_t max_errors, bool move_ins)
    : csv_(std::move(path), move_ins ? "move-in file" : "customer file", max_errors), cycle_count_(cycle_count), move_ins_(move_ins) {}

CustomerReader::~CustomerReader() = default;

void CustomerReader::header(std::vector<std::string>& fields) {
  have_header_ = true;
  columns_.assign(fields.size(), -1);
  std::vector<std::size_t> where(kColumns, 0);
  std::vector<std::string> names(column_names().begin(), column_names().end() - (move_ins_ ? 0 : 1));
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string name = lower_trim(fields[i]);
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      csv_.error(1, 0, fmt::format("unknown column `{}`{}; the columns are {}", fields[i],
                              did_you_mean(name, names), fmt::join(names, ", ")));
      continue;
    }
    auto c = static_cast<std::size_t>(it - names.begin());
    if (where[c] != 0) {
      csv_.error(1, 0, fmt::format("column `{}` appears twice (columns {} and {})", name, where[c], i + 1));
      continue;
    }
    where[c] = i + 1;
    columns_[i] = static_cast<int>(c);
  }
  for (int c = 0; c < kRequired; ++c) {
    if (where[static_cast<std::size_t>(c)] == 0) {
      csv_.error(1, 0, fmt::format("missing column `{}`: the header must name account, customer_class, rate_schedule, "
                              "city, county and read_cycle", column_names()[static_cast<std::size_t>(c)]));
    }
  }
  if (move_ins_ && where[kServiceStart] == 0) {
    csv_.error(1, 0, "missing column `service_start`: a move-in file gives each account's service start date");
  }
  if (!csv_.ok()) csv_.stop();
}

bool CustomerReader::convert(std::vector<std::string>& fields, std::size_t line, Account& a) {
  if (fields.size() != columns_.size()) {
    csv_.error(line, 0, fmt::format("expected {} fields, as in the header, but found {}", columns_.size(), fields.size()));
    return false;
  }
  a = Account{};
  a.line = line;
  bool ok = true;
  auto bad = [&](std::size_t i, std::string message) {
    csv_.error(line, csv_.field_column(line, i), std::move(message));
    ok = false;
  };
  auto flag = [&](std::size_t i, bool& out) {
    std::string v = lower_trim(fields[i]);
    if (v.empty() || v == "false") out = false;
    else if (v == "true") out = true;
    else bad(i, fmt::format("`{}` must be true or false, not `{}`", column_names()[static_cast<std::size_t>(columns_[i])], fields[i]));
  };
  for (std::size_t i = 0; i < fields.size(); ++i) {
    std::string& v = fields[i];
    switch (columns_[i]) {
      case kAccount: {
        std::string trimmed = v;
        if (lower_trim(trimmed).empty()) bad(i, "the account id is empty");
        a.id = std::move(v);
        break;
      }
      case kClass: {
        std::string c = lower_trim(v);
        bool found = false;
        std::vector<std::string> names;
        for (int k = 0; k <= static_cast<int>(CustomerClass::kLighting); ++k) {
          names.emplace_back(customer_class_name(static_cast<CustomerClass>(k)));
          if (c == names.back()) {
            a.customer_class = static_cast<CustomerClass>(k);
            found = true;
          }
        }
        if (!found) {
          bad(i, fmt::format("unknown customer_class `{}`{}: use {}", v, did_you_mean(c, names), fmt::join(names, ", ")));
        }
        break;
      }
      case kRate:
        if (lower_trim(v).empty()) bad(i, "the rate_schedule is empty");
        a.rate_schedule = std::move(v);
        break;
      case kCity: a.city = std::move(v); break;
      case kCounty: a.county = std::move(v); break;
      case kCycle: {
        int cycle = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), cycle);
        if (ec != std::errc{} || end != v.data() + v.size() || cycle < 1 || cycle > cycle_count_) {
          bad(i, fmt::format("read_cycle must be a whole number from 1 to {}, not `{}`", cycle_count_, v));
        }
        a.read_cycle = cycle;
        break;
      }
      case kDirectAccess: flag(i, a.direct_access); break;
      case kCare: flag(i, a.care); break;
      case kFera: flag(i, a.fera); break;
      case kMedical: flag(i, a.medical_baseline); break;
      case kNem: flag(i, a.nem); break;
      case kServiceStart: {
        auto date = parse_date(lower_trim(v));
        if (!date) bad(i, fmt::format("service_start must be a date as YYYY-MM-DD, not `{}`", v));
        else a.service_start = *date;
        break;
      }
      default: break;
    }
  }
  if (!ok) return false;
  if (auto first = seen_.insert(a.id, static_cast<std::uint32_t>(line))) {
    bad(0, fmt::format("duplicate account `{}` (first on line {})", a.id, *first));
    return false;
  }
  return true;
}

std::string_view AccountNumbers::at(std::uint32_t index) const {
  std::uint64_t begin = index == 0 ? 0 : ends_[index - 1];
  return std::string_view(text_).substr(begin, ends_[index] - begin);
}

std::optional<std::uint32_t> AccountNumbers::insert(std::string_view id, std::uint32_t line) {
  if ((lines_.size() + 1) * 2 > slots_.size()) grow();
  std::size_t mask = slots_.size() - 1;
  for (std::size_t slot = std::hash<std::string_view>{}(id) & mask;; slot = (slot + 1) & mask) {
    std::uint32_t held = slots_[slot];
    if (held == 0) {
      text_ += id;
      ends_.push_back(text_.size());
      lines_.push_back(line);
      slots_[slot] = static_cast<std::uint32_t>(lines_.size());
      return std::nullopt;
    }
    if (at(held - 1) == id) return lines_[held - 1];
  }
}

void AccountNumbers::grow() {
  std::vector<std::uint32_t> slots(std::max<std::size_t>(1024, slots_.size() * 2), 0);
  std::size_t mask = slots.size() - 1;
  for (std::uint32_t index = 0; index < lines_.size(); ++index) {
    std::size_t slot = std::hash<std::string_view>{}(at(index)) & mask;
    while (slots[slot] != 0) slot = (slot + 1) & mask;
    slots[slot] = index + 1;
  }
  slots_ = std::move(slots);
}

bool CustomerReader::next(Account& account) {
  std::vector<std::string> fields;
  std::size_t line = 0;
  while (csv_.next(fields, line)) {
    if (!have_header_) {
      header(fields);
      continue;
    }
    if (convert(fields, line, account)) {
      ++accounts_;
      return true;
    }
  }
  if (!finished_ && csv_.ok() && accounts_ == 0 && csv_.at_end()) {
    csv_.error(0, 0, have_header_ ? "the file has a header but no accounts" : "the file is empty: no header and no accounts");
  }
  finished_ = true;
  return false;
}

}  // namespace ccaflow
